"""The help of the options that commands share, written once.

The training options (:data:`TRAINING_HELP`) become options of `train`, `train-many` and
`benchmark` through :func:`~._training_options.training_options`.
"""

from __future__ import annotations

import typer

from ..config import DEFAULTS, PRESETS, defaults_table
from ..model_catalog import MODEL_CATALOG

PER_MODEL = "Default: the model's (see `attentivechrome models`)."

TRANSFORM_HELP = "Input transform: none (raw counts, as the original) or log1p."
DEVICE_HELP = "auto (CUDA when available), cpu or cuda."
NORMALIZE_HELP = "Per-cell input normalisation: none, depth (each mark scaled to the training cells' mean) or quantile (onto their distribution)."
MARK_DROPOUT_HELP = "Hide each mark of each training gene with this probability (the model learns to predict from a subset of its marks; needed to pool cells with different marks)."
TASK_HELP = (
    "classification (0/1 label; epoch selected on validation AUROC) or regression "
    "(log1p of expression.csv beside the split files; selected on validation Pearson)."
)

PRESET_HELP = f"Defaults to start from: {' or '.join(PRESETS)} (tuned: each model's validated settings; original: the AttentiveChrome paper's)."

#: Every training setting the training commands take, in their --help order, with its help.
#: Type and default come from TrainConfig; a preset's setting (default ``None``) says so in its help.
TRAINING_HELP = {
    "model": "Model name (see `attentivechrome models`).",
    "preset": PRESET_HELP,
    "lr": "Adam learning rate.",
    "batch_size": "Genes per optimisation step.",
    "epochs": "Most passes over the training genes.",
    "patience": "Stop after this many epochs without a better validation score (0: run every epoch); the best epoch is kept.",
    "weight_decay": "Decoupled weight decay (AdamW; 0: plain Adam).",
    "dropout": "Dropout of the model's hidden vectors (models that have it).",
    "ema": "Keep an exponential moving average of the weights with this decay per step, and score, select and save it (0: off).",
    "schedule": "Learning rate over training: constant, or cosine (from --lr down to 0 over --epochs).",
    "forget_bias": "Start the forget gate of every LSTM in the model at this bias (models with LSTMs).",
    "clip": "Maximum gradient norm.",
    "seed": "Random seed (weights and gene order).",
    "ensemble": "Train N models, seeded in turn from the run's seed (seed, seed + 1, ...), and save them as one model: it predicts their mean logit, and interpret shows their mean map and its spread across them.",
    "transform": TRANSFORM_HELP,
    "device": DEVICE_HELP,
    "task": TASK_HELP,
    "normalize": NORMALIZE_HELP,
    "mark_dropout": MARK_DROPOUT_HELP,
    "attention": "AttentiveChrome's bin attention: states (the original: scored from the BiLSTM states), local (scored from the reads within "
    "--attention-window bins, pooling the states) or conv (no bin-level LSTM: pools local convolution features). See docs/interpretation.md.",
    "attention_window": "Bins the local and conv attention read around each bin (odd).",
    "attention_entropy": "Add this weight times alpha's mean normalised entropy to the loss (above 0: sparser alpha).",
}



def _defaults_epilog() -> str:
    """The tuned defaults of every neural model, one line each, for the training commands' --help."""
    lines = ["Defaults per model (preset tuned; `attentivechrome models` has the full table):"]
    for row in defaults_table():
        if MODEL_CATALOG[row["model"]].fitted_once:
            continue
        inputs = "raw counts" if row["transform"] == "none" else f"{row['transform']} of the counts"
        forget = "" if row["forget_bias"] is None else f", forget-gate bias {row['forget_bias']:g}"
        lines.append(
            f"{row['model']}: lr {row['lr']:g}, batch {row['batch_size']}, up to {row['epochs']} epochs, patience {row['patience']}, "
            f"{inputs}{forget}."
        )
    return "\n\n".join(lines)  # blank lines: help formatters keep them as separate lines


#: The epilog of `train`, `train-many` and `benchmark`: the defaults a model gets when an option is left out.
DEFAULTS_EPILOG = _defaults_epilog()

REFERENCE_EXPRESSION_HELP = (
    "Reference-expression table (57epigenomes.RPKM.pc layout: gene_id, then one RPKM column per epigenome; tab or comma; .gz too): "
    "each gene's expression in other cell types, read beside the marks. The cell's own column is never read."
)
REFERENCE_EXPRESSION = typer.Option(None, "--reference-expression", help=REFERENCE_EXPRESSION_HELP)
REFERENCE_MODE = typer.Option(
    "new-cell", "--reference-mode",
    help="new-cell: four fixed summaries of the other cells' expression (the model applies to new cells); "
    "fitted: every other cell a feature, learned within the cell (cannot predict a new cell).",
)  # fmt: skip
REFERENCE_EXCLUDE = typer.Option(
    "", "--reference-exclude", help="Epigenomes the prior must not read besides the cell's own, comma-separated (es: the ES and ES-derived ones)."
)
CELL = typer.Option(
    None, "--cell", help="The cell's epigenome in the reference table (e.g. E012); default: read from the directory name (roadmap-e012 -> E012)."
)


def _orientation(value: str | None) -> str | None:
    if value is None:
        return None
    from ..data.orientation import check_orientation

    try:
        return check_orientation(value)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None


ORIENTATION = typer.Option(
    None, "--orientation", callback=_orientation,
    help="Which way the input's bins run: transcript (5'->3' along each gene, the Roadmap cells) or genomic (increasing "
    "coordinate, the REMC files and the original's weights). Default: what featurize recorded beside the data"
    " (or, for interpret, what the model recorded), else unknown.",
)  # fmt: skip


# The options every explaining command (interpret, interpret-benchmark, interpret-stability) takes, as one
# Typer option object each; :func:`explain_options` turns their values into an ExplainOptions. The defaults
# are ExplainOptions' (written here as numbers: importing interpret would bring torch into `--help`).
EXPLAIN_BATCH_SIZE = typer.Option(128, help="Genes per batch.")
EXPLAIN_N_STEPS = typer.Option(32, help="Integration steps of integrated gradients.")
EXPLAIN_WINDOW = typer.Option(5, help="Occlusion window, in bins of one mark.")
EXPLAIN_DEVICE = typer.Option(DEFAULTS.device, help=DEVICE_HELP)
EXPLAIN_QUIET = typer.Option(False, "--quiet", "-q", help="No progress bar.")
EXPLAIN_OVERWRITE = typer.Option(False, "--overwrite", help="Write into an --out that holds another command's outputs (refused otherwise).")


def explain_options(*, batch_size: int, n_steps: int, window: int, device: str, stride: int | None = None):
    """The :class:`~attentivechrome.interpret.ExplainOptions` of an explaining command's flags (``--device auto`` resolved)."""
    from .. import _settings
    from ..interpret.explain import ExplainOptions

    return ExplainOptions(batch_size=batch_size, device=_settings.resolve_device(device), n_steps=n_steps, window=window, stride=stride)
