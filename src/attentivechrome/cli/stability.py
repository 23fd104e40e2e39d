"""The interpret-stability command: how far two or more models trained alike agree on their maps."""

from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from . import _options as opt
from ._app import UsageProblem, app, say
from ._interrupt import nothing_written, says_what_was_kept
from ._outputs import claim_folder, record_owner
from ._options import explain_options
from .core import ALLOW_BINS_HELP, warnings_said

STABILITY_METHODS_HELP = (
    "Comma-separated methods (attention, attention_x_beta, saliency, input_x_gradient, integrated_gradients, deeplift, occlusion). "
    "Default: attention, saliency, input_x_gradient, integrated_gradients, occlusion (attention only when every model has it)."
)


@app.command("interpret-stability")
@says_what_was_kept(nothing_written)
def interpret_stability(
    model: List[str] = typer.Option(..., "--model", "-m", help="A run directory or checkpoint; give two or more (e.g. the same settings with other seeds)."),
    input: Path = typer.Option(..., "--input", "-i", help="AttentiveChrome CSV whose genes every model explains."),
    out: Path = typer.Option(..., "--out", "-o", help="Directory to write stability.tsv, stability_genes.tsv, stability.md and stability.png (created)."),
    methods: Optional[str] = typer.Option(None, help=STABILITY_METHODS_HELP),
    genes: Optional[List[str]] = typer.Option(None, "--genes", "-g", help="Compare only these gene ids (repeat the option or separate ids by commas)."),
    max_genes: Optional[int] = typer.Option(None, help="Compare a random subset of this many genes (seeded by --seed), in file order."),
    seed: int = typer.Option(0, help="Seeds the gene subset of --max-genes."),
    signed: bool = typer.Option(False, "--signed", help="Rank each map's signed values instead of its magnitude (|map|, the default: agreement on which cells matter, whatever the direction)."),
    batch_size: int = opt.EXPLAIN_BATCH_SIZE,
    n_steps: int = opt.EXPLAIN_N_STEPS,
    window: int = opt.EXPLAIN_WINDOW,
    device: str = opt.EXPLAIN_DEVICE,
    quiet: bool = opt.EXPLAIN_QUIET,
    allow_bin_mismatch: bool = typer.Option(False, "--allow-bin-mismatch", help=ALLOW_BINS_HELP),
    overwrite: bool = opt.EXPLAIN_OVERWRITE,
) -> None:
    """Per method: how well the maps and mark scores of the same genes agree across models (per-gene rank correlation).

    Each gene's map (its magnitude, |map|; --signed: its signed values) is compared over its
    marks x bins cells between every pair of models (Spearman), and its mark scores (beta for attention, share of |attribution| per mark
    otherwise) over the marks; the table gives the mean over genes with a 95% interval, and the
    correlation of the models' predictions. Models trained with other seeds and the same
    settings tell how far a map survives retraining.
    """
    from ..data import read_csv
    from ..interpret.stability import write_stability
    from ..trained import load_model
    from ..workflows.stability import model_stability

    if len(model) < 2:
        raise UsageProblem(f"--model: give at least two models to compare, got {len(model)}")
    if max_genes is not None and max_genes < 1:
        raise UsageProblem(f"--max-genes must be at least 1, got {max_genes}")
    wanted = [g.strip() for value in (genes or []) for g in value.split(",") if g.strip()] or None
    if wanted and max_genes is not None:
        raise UsageProblem("give --genes or --max-genes, not both")
    method_names = None
    if methods is not None:
        from ..interpret import check_methods

        method_names = check_methods(methods)
    options = explain_options(batch_size=batch_size, n_steps=n_steps, window=window, device=device)
    claim_folder(out, "interpret-stability", overwrite=overwrite)
    started = time.perf_counter()
    loaded = [load_model(m) for m in model]
    data = read_csv(input)
    with warnings_said():
        for one in loaded:
            one.check(data, allow_bin_mismatch=allow_bin_mismatch)  # before any work: marks that do not fit stop here
        result = model_stability(
            loaded, data, method_names, names=list(model), genes=wanted, max_genes=max_genes, seed=seed, allow_bin_mismatch=allow_bin_mismatch, signed=signed,
            options=options, progress=None if not quiet else False,
        )  # fmt: skip
    files = write_stability(result, out)
    record_owner(out, "interpret-stability")
    typer.echo(result.to_markdown(), nl=False)
    say(f"compared {len(result.gene_ids)} genes across {len(loaded)} models in {time.perf_counter() - started:.1f}s; wrote " + ", ".join(str(p) for p in files.values()))
