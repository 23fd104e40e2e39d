"""Core commands: train, evaluate, predict, simulate, demo."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import List, Optional

import typer

from .._io import exclusive_lock
from . import _options as opt
from ._app import Interrupted, UsageProblem, app, check_output_file, say, say_report, training_settings
from ._outputs import claim_folder, record_owner
from ._options import DEVICE_HELP, NORMALIZE_HELP
from ._training_options import TRAINING, training_options, training_values

REFERENCE_MODEL_HELP = "The reference-expression table of a model trained with one; default the table it was trained with, when it is still there."
ALLOW_BINS_HELP = "Predict a file whose bin count differs from the model's (a warning instead of an error)."
AUTO_HELP = NORMALIZE_HELP + " With several cells, auto chooses by held-out-cell validation."


@app.command(epilog=opt.DEFAULTS_EPILOG)
@training_options(normalize=AUTO_HELP)
def train(
    ctx: typer.Context,
    data_dir: list[Path] = typer.Argument(  # one or more; named as before so usage errors read as they did
        ..., help="Cell directory with train.csv, valid.csv, test.csv (or classification/*.csv); several cells are pooled into one model."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory to write (created)."),
    training: dict = TRAINING,  # the training options: see _training_options
    cell: Optional[str] = opt.CELL,
    distributed: bool = typer.Option(
        False, "--distributed", help="Train as one rank of a DDP group started by `torchrun --nproc-per-node N -m attentivechrome train ...` (gloo on CPU, NCCL on GPU); --batch-size stays the global batch."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run already in --out (refused otherwise)."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the run a killed or interrupted `train` with the same --out and settings left (it ends as an uninterrupted run would)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or per-epoch lines."),
) -> None:
    """Train a model, select the epoch with the best validation AUROC, and score the test split.

    Given several cell directories, trains one model on their train splits together, selects it
    on their pooled valid splits and reports the test metrics pooled and per cell.
    """
    data_dirs = data_dir  # one or more cell directories
    from ..data.layout import cell_name, load_splits
    from ._reference import read_table, say_prior
    from ..training import distributed as ddp
    from ..run_directory import RunDirectory
    from ..training.trainer import TrainingInterrupted, epoch_summary
    from ..training.trainer import train as run_training

    settings = training_values(training)
    auto = settings["normalize"] == "auto"
    config = training_settings(**{**settings, "normalize": "none" if auto else settings["normalize"]})
    reference_expression, device, task = training["reference_expression"], training["device"], training["task"]
    if cell and len(data_dirs) > 1:
        raise UsageProblem("--cell names the cell of one directory; pooled cells are named by their directories")
    table = read_table(reference_expression)  # a bad table stops here, before any training
    claim_folder(out, "train", overwrite=overwrite)  # another command's folder is refused unless --overwrite
    if not distributed or os.environ.get("RANK", "0") == "0":  # rank 0 writes a distributed run; the lock is held until the command ends
        ctx.with_resource(exclusive_lock(out, "train", beside=True))  # a second train on this --out refuses
    existing = RunDirectory(out).existing_run_files()  # one of them in --out means a run is there
    if existing and not overwrite:
        raise UsageProblem(f"{out}: holds a run already ({', '.join(existing)}); pass --overwrite to replace it, or choose another --out")
    if auto and len(data_dirs) < 2:
        raise UsageProblem("--normalize auto chooses by held-out-cell validation and needs at least two cell directories")
    if auto and distributed:
        raise UsageProblem("--normalize auto runs its own trainings; choose the normalisation first, then train with --distributed")
    if auto:
        from ..experiments.normalization import SELECTION_DIR, select_normalization
        from ..experiments.runner import FAILED

        if not quiet:
            say(f"choosing the normalisation by held-out-cell validation ({len(data_dirs)} cells x 3 candidates; runs in {out / SELECTION_DIR})")
        def said(row: dict) -> None:
            say(f"  {row['cell']}: {row['status']}" + (f": {row['error']}" if row["status"] == FAILED else ""))

        choice = select_normalization(data_dirs, out, config, on_result=None if quiet else said)
        config = dataclasses.replace(config, normalize=choice.best)
        if not quiet:
            means = ", ".join(f"{c} {choice.mean(c):.4f}" for c in choice.scores)
            say(f"held-out validation {choice.metric}: {means}; training with --normalize {choice.best}")
    ranks = ddp.start(device) if distributed else None
    speaks = ranks is None or ranks.writes  # one rank speaks
    quiet = quiet or not speaks
    names = [cell or cell_name(d) for d in data_dirs]
    if len(set(names)) != len(names):
        raise UsageProblem(f"two cell directories have the same name ({', '.join(names)}); cells are named by their directory")
    cells = {}
    for name, cell_dir in zip(names, data_dirs):
        started = time.perf_counter()
        cells[name] = load_splits(cell_dir, task=task, cache=True)  # a full cell's .csv.gz takes seconds to parse; the copy, milliseconds
        sizes = ", ".join(f"{split} {data.n_genes}" for split, data in cells[name].items())
        if not quiet:
            train_marks = cells[name]["train"].marks
            say(f"loaded {cell_dir} ({sizes} genes, {cells[name]['train'].n_bins} bins, marks {', '.join(train_marks)}) in {time.perf_counter() - started:.2f}s")
    for name in names:
        say_prior(table, name, config.reference_exclude, quiet=quiet)
    on_epoch = None if quiet else (lambda record: say(epoch_summary(record, config.epochs, config.task)))
    splits = cells  # by cell name: the name says which column of a reference is the cell's own
    source = ", ".join(os.path.abspath(d) for d in data_dirs)  # absolute (links kept): a report finds the data from any folder
    if resume and not quiet and speaks:
        stage = RunDirectory(out).resumable_stage()
        say(f"resuming from {stage.path}" if stage is not None else f"nothing to resume for {out}; training from epoch 1")
    try:
        result = run_training(
            splits, config, out_dir=out, data_source=source, on_epoch=on_epoch, progress=not quiet and None, ranks=ranks, resume=resume, reference=table
        )
    except TrainingInterrupted as err:
        kept = f"; the state after epoch {err.finished} is kept: rerun with --resume to continue" if err.kept is not None else ""
        raise Interrupted(f"interrupted in epoch {err.epoch}, nothing written to {out}{kept}") from None
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted, nothing written to {out}") from None
    finally:
        if ranks is not None:
            ddp.stop()
    if not speaks:
        return
    trained, record = result
    record_owner(out, "train")
    for cell, scores in record.cell_scores.items():
        shown = ", ".join(f"{k.removeprefix('test_')} {v:.4f}" for k, v in scores.items())
        say(f"  {cell}: test {shown}")
    if record.stop_reason == "patience":
        say(f"stopped after epoch {len(record.history)}: no better validation score in {config.patience} epochs (--patience)")
    if record.members:  # an ensemble
        each = ", ".join(f"seed {m['seed']} epoch {m['best_epoch']}" for m in record.members)
        say(f"ensemble of {len(record.members)} ({each}): {trained.task_spec.summary(record.scores)} ({record.seconds:.1f}s); run written to {out}")
    else:
        say(f"best epoch {record.best_epoch}: {trained.task_spec.summary(record.scores)} ({record.seconds:.1f}s); run written to {out}")
    say_report(out)


@app.command()
def evaluate(
    model: str = typer.Option(..., "--model", "-m", help="Run directory, checkpoint file (ours or an original .pt), or a downloaded published cell name such as E003."),
    input: Path = typer.Option(..., "--input", "-i", help="Labelled AttentiveChrome CSV."),
    batch_size: int = typer.Option(256, help="Genes per forward pass."),
    device: str = typer.Option("auto", help=DEVICE_HELP),
    cell_input: Optional[List[Path]] = typer.Option(
        None, "--cell-input", help="Where a normalised model takes the cell's statistics from: CSV files or a cell directory (all its splits); default the input file."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
    expression: Optional[Path] = typer.Option(
        None, help="Regression models: expression table (gene_id,value); default expression.csv beside the input."
    ),
    allow_bin_mismatch: bool = typer.Option(False, "--allow-bin-mismatch", help=ALLOW_BINS_HELP),
    reference_expression: Optional[Path] = typer.Option(None, "--reference-expression", help=REFERENCE_MODEL_HELP),
    cell: Optional[str] = opt.CELL,
) -> None:
    """Print AUROC, AUPR, accuracy and the gene count of a model on a labelled file.

    For a model trained with --task regression: Pearson, Spearman and MSE against log1p(expression);
    with --task deviation: the same of the deviation from the prior, and the Pearson of the rebuilt expression.
    """
    from ..exceptions import UndefinedMetricError
    from ..metrics.classification import classification_report

    predictions, loaded = _run_model(
        model, input, batch_size, device, with_attention=False, cell_input=cell_input, allow_bin_mismatch=allow_bin_mismatch,
        reference_expression=reference_expression, cell=cell,
    )  # fmt: skip
    if loaded.task_spec.regresses:
        _evaluate_regression(predictions, input, expression, as_json)
        return
    if predictions.labels is None:
        raise UsageProblem(f"{input}: has no label column; evaluate needs labels (use predict for unlabelled genes)")
    try:
        report = classification_report(predictions.labels, predictions.probabilities)
    except UndefinedMetricError as err:
        raise UsageProblem(f"{input}: {err}") from err
    _print_report(report, {"AUROC": "auroc", "AUPR": "aupr", "accuracy": "accuracy"}, as_json)


@app.command()
def predict(
    model: str = typer.Option(..., "--model", "-m", help="Run directory, checkpoint file (ours or an original .pt), or a downloaded published cell name such as E003."),
    input: Path = typer.Option(..., "--input", "-i", help="AttentiveChrome CSV, with or without labels."),
    out: Path = typer.Option(..., "--out", "-o", help="TSV to write: gene_id, probability[, label]."),
    attention: Optional[Path] = typer.Option(None, help="Also write alpha/beta attention to this NPZ."),
    batch_size: int = typer.Option(256, help="Genes per forward pass."),
    device: str = typer.Option("auto", help=DEVICE_HELP),
    cell_input: Optional[List[Path]] = typer.Option(
        None, "--cell-input", help="Where a normalised model takes the cell's statistics from: CSV files or a cell directory (all its splits); default the input file."
    ),
    allow_bin_mismatch: bool = typer.Option(False, "--allow-bin-mismatch", help=ALLOW_BINS_HELP),
    reference_expression: Optional[Path] = typer.Option(None, "--reference-expression", help=REFERENCE_MODEL_HELP),
    cell: Optional[str] = opt.CELL,
) -> None:
    """Predict the probability of high expression for every gene (or the model's values), optionally with attention maps."""
    from .._io import atomic_path
    from ..inference import write_attention, write_predictions
    from ._inputs import cell_input_files, model_files

    read = (input, *cell_input_files(cell_input), *model_files(model), *((reference_expression,) if reference_expression else ()))  # no output may replace a file the command reads
    check_output_file(out, inputs=read)
    if attention is not None:
        check_output_file(attention, inputs=(*read, out))
    predictions, loaded = _run_model(
        model, input, batch_size, device, with_attention=attention is not None, cell_input=cell_input, allow_bin_mismatch=allow_bin_mismatch,
        reference_expression=reference_expression, cell=cell,
    )  # fmt: skip
    # Both files are written in full before either is put in place: a failure leaves neither.
    with contextlib.ExitStack() as stack:
        write_predictions(predictions, stack.enter_context(atomic_path(out)))
        if attention is not None:
            write_attention(predictions, loaded.marks, stack.enter_context(atomic_path(attention)))
    extra = f" and attention to {attention}" if attention is not None else ""
    say(f"wrote {len(predictions.gene_ids)} predictions to {out}{extra}")


@app.command()
def simulate(
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write train/valid/test.csv and truth.npz."),
    genes: int = typer.Option(3000, help="Genes in total (split into thirds)."),
    bins: int = typer.Option(100, help="Bins per gene."),
    seed: int = typer.Option(0, help="Random seed."),
    rules: str = typer.Option(
        "additive",
        help="additive: each mark acts on its own; cooperative: marks act in pairs (bivalent promoter; gene-body H3K36me3 "
        "needs promoter H3K4me3) and H3K4me3 / H3K36me3 count only inside a window (+/-1 kb; downstream).",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Write into an --out that is not empty, replacing its files of the same names (refused otherwise)."),
) -> None:
    """Write a simulated data set with planted rules and its ground truth."""
    from ..data.synthetic import RULES, write_simulation

    if rules not in RULES:
        raise UsageProblem(f"--rules must be one of {', '.join(RULES)}, got {rules!r}")
    claim_folder(out, "simulate", overwrite=overwrite, empty=True)
    written = write_simulation(out, genes, bins, seed=seed, rules=rules)
    record_owner(out, "simulate")
    say(f"simulated {genes} genes x {bins} bins ({rules} rules) into {out}: " + ", ".join(p.name for p in written.values()))


@app.command()
def demo(
    out: Path = typer.Option(Path("attentivechrome-demo"), "--out", "-o", help="Directory for the demo's data and run."),
    genes: int = typer.Option(1500, help="Simulated genes in total."),
    epochs: int = typer.Option(20, help="Training epochs."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Write into an --out that holds another command's outputs (refused otherwise)."),
) -> None:
    """Simulate a data set, train AttentiveChrome on it, evaluate it and write predictions with attention."""
    from ..data import load_splits, read_csv
    from ..data.synthetic import write_simulation
    from ..inference import write_attention, write_predictions
    from ..metrics.classification import classification_report
    from ..run_directory import RunDirectory
    from ..trained import load_model
    from ..training.trainer import epoch_summary
    from ..training.trainer import train as run_training

    started = time.perf_counter()
    data_dir, run_dir = out / "data", out / "run"
    config = training_settings(epochs=epochs, batch_size=32, lr=1e-3, transform="log1p", device="cpu")  # checked before anything is written
    if genes < 6:
        raise UsageProblem(f"--genes must be at least 6 (two per split), got {genes}")
    claim_folder(out, "demo", overwrite=overwrite)
    write_simulation(data_dir, genes, 100, seed=0)
    say(f"1/3 simulated {genes} genes into {data_dir}")
    result = run_training(
        load_splits(data_dir), config, out_dir=run_dir, data_source=str(data_dir), on_epoch=lambda r: say(epoch_summary(r, epochs))
    )
    say(f"2/3 trained AttentiveChrome into {run_dir} (best epoch {result.record.best_epoch})")
    loaded = load_model(run_dir)
    test = read_csv(data_dir / "test.csv")
    predictions = loaded.predict(test)
    write_predictions(predictions, out / RunDirectory.PREDICTIONS)
    write_attention(predictions, loaded.marks, out / "test_attention.npz")
    report = classification_report(test.labels, predictions.probabilities)
    record_owner(out, "demo")
    say(f"3/3 evaluated on {report['n_genes']} test genes: AUROC {report['auroc']:.4f}, AUPR {report['aupr']:.4f}")
    typer.echo(
        "\n".join(
            [
                f"demo finished in {time.perf_counter() - started:.0f}s",
                f"  data:        {data_dir}  (train/valid/test.csv, truth.npz)",
                f"  model run:   {run_dir}  (model.pt, metrics.json, test_predictions.tsv)",
                f"  predictions: {out / 'test_predictions.tsv'}",
                f"  attention:   {out / 'test_attention.npz'}  (alpha genes x marks x bins, beta genes x marks)",
                f"next: attentivechrome evaluate --model {run_dir} --input {data_dir / 'test.csv'}",
                f"see the run as one page: attentivechrome report {run_dir} --out {run_dir / 'report.html'}",
            ]
        )
    )


@app.command("models")
def list_models() -> None:
    """List the model names that `train --model` and `benchmark --models` accept, with each model's default settings."""
    from ..config import PRESET_FIELDS, defaults_table
    from ..model_catalog import MODEL_CATALOG

    for name in sorted(MODEL_CATALOG):
        typer.echo(f"{name:<16} {MODEL_CATALOG[name].description}")
    typer.echo("\ndefaults (preset tuned; --preset original gives the AttentiveChrome paper's to every model; any option overrides):")
    columns = ("model", *PRESET_FIELDS)
    loop_settings = set(PRESET_FIELDS) - {"transform", "normalize"}  # fitted-once models have no epochs

    def shown(row: dict, column: str) -> str:
        if row[column] is None or (MODEL_CATALOG[row["model"]].fitted_once and column in loop_settings):
            return "-"
        return str(row[column])

    rows = [[shown(row, c) for c in columns] for row in defaults_table()]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    for row in [list(columns), *rows]:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _evaluate_regression(predictions, input_path: Path, expression: Optional[Path], as_json: bool) -> None:
    import numpy as np

    from ..data.expression import EXPRESSION_FILE, read_expression
    from ..metrics.regression import regression_report

    if expression is None:
        candidates = [input_path.parent / EXPRESSION_FILE, input_path.parent.parent / EXPRESSION_FILE]
        expression = next((c for c in candidates if c.is_file()), None)
        if expression is None:
            raise UsageProblem(f"{input_path}: no {EXPRESSION_FILE} beside it; pass --expression for a regression model")
    values = read_expression(expression).reindex(predictions.gene_ids)
    known = values.notna().to_numpy()
    if not known.any():
        raise UsageProblem(f"{expression}: holds none of the genes of {input_path}")
    targets = np.log1p(values.to_numpy()[known])
    if predictions.baseline is None:
        report = regression_report(targets, predictions.logits[known])
        _print_report(report, {"Pearson": "pearson", "Spearman": "spearman", "MSE": "mse"}, as_json)
    else:  # deviation: the cell-specific part, and the expression rebuilt from it
        from ..metrics.regression import pearson

        baseline = predictions.baseline[known]
        report = regression_report(targets - baseline, predictions.logits[known])
        report["expression_pearson"] = pearson(targets, predictions.logits[known] + baseline)
        _print_report(report, {"Pearson": "pearson", "Spearman": "spearman", "MSE": "mse", "expr. r": "expression_pearson"}, as_json)
    if not known.all():
        say(f"warning: {int((~known).sum())} genes of {input_path} are not in {expression} and were left out")


def _print_report(report: dict, metrics: dict[str, str], as_json: bool) -> None:
    """Print ``report`` as JSON, or one aligned line per metric (label -> key) and the gene count."""
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    for label, key in metrics.items():
        typer.echo(f"{label:<10}{report[key]:.4f}")
    typer.echo(f"{'genes':<10}{report['n_genes']}")


def _run_model(
    model_ref: str, input_path: Path, batch_size: int, device: str, *, with_attention: bool, cell_input: list[Path] | None = None, allow_bin_mismatch: bool = False,
    reference_expression: Path | None = None, cell: str | None = None,
):
    """Load a model and a CSV, check they fit, and predict (outputs decoded for the model's task)."""
    from .. import _settings
    from ..data import read_csv
    from ..trained import load_model
    from ._reference import bind

    if batch_size < 1:
        raise UsageProblem(f"--batch-size must be at least 1, got {batch_size}")
    loaded = bind(load_model(model_ref), reference_expression, input_path, cell)
    if cell_input and (loaded.normalization is None or loaded.normalization.kind == "none"):
        raise UsageProblem(f"--cell-input: {model_ref} does not normalise its input (trained with --normalize none), so it reads no cell statistics; drop --cell-input")
    data = read_csv(input_path)
    stats_from = _cell_input(cell_input)
    with warnings_said():
        predictions = loaded.predict(
            data, batch_size=batch_size, device=_settings.resolve_device(device), with_attention=with_attention, stats_from=stats_from,
            allow_bin_mismatch=allow_bin_mismatch,
        )
    return predictions, loaded


def _cell_input(paths: list[Path] | None):
    """The data a normalised model takes a cell's statistics from: files, or every split of a cell directory."""
    from ..data import read_csv
    from ..data.layout import split_paths

    if not paths:
        return None
    files = [f for path in paths for f in (split_paths(path).values() if path.is_dir() else [path])]
    return [read_csv(f) for f in files]


@contextlib.contextmanager
def warnings_said():
    """Say each distinct warning of the block (e.g. another bin count than the model's) once, as one line on stderr."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    for message in dict.fromkeys(str(w.message) for w in caught):
        say(f"warning: {message}")
