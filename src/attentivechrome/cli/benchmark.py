"""The ``benchmark`` command: every model on every cell with several seeds, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import _options as opt
from ._app import UsageProblem, app, say, say_report, training_settings
from ._interrupt import finished_runs_kept, says_what_was_kept
from ._outputs import claim_folder, record_owner
from ._reference import read_table
from ._training_options import TRAINING, training_options, training_values


@app.command(epilog=opt.DEFAULTS_EPILOG)
@says_what_was_kept(finished_runs_kept)
@training_options(
    model=None,  # --models names them
    seed=None,  # --seeds 1..N
    task="classification (test AUROC), regression (log1p of expression.csv; test Pearson) or deviation (that minus the reference prior).",
    reference_expression=opt.REFERENCE_EXPRESSION_HELP + " Each model then runs histone-only and with the prior (MODEL+prior), beside the prior alone.",
)
def benchmark(
    cell_dirs: list[Path] = typer.Argument(..., help="Cell data directories (train/valid/test.csv or classification/*.csv); the cell name is the directory name."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory; an existing one is continued (finished runs are skipped)."),
    models: str = typer.Option("all", help="'all' or comma-separated model names."),
    seeds: int = typer.Option(3, help="Seeds per cell and model (1..N)."),
    training: dict = TRAINING,  # the training options but --model and --seed: see _training_options
    jobs: Optional[int] = typer.Option(1, help="Runs trained at once, on a local Dask cluster of that many one-thread workers (default 1: in this process)."),
    scheduler: Optional[str] = typer.Option(
        None, help="Address of a running Dask scheduler (tcp://host:8786) to train on; its workers must see the data and --out under the same paths."
    ),
    bootstrap: int = typer.Option(1000, help="Bootstrap resamples of the test genes per cell."),
    cross_cell: bool = typer.Option(
        False, "--cross-cell", help="Instead: train one model per cell (and pooled, each cell left out) and score every cell's test split: the train x test matrix."
    ),
    pooled: bool = typer.Option(True, "--pooled/--no-pooled", help="--cross-cell: also train on all cells but one, for each cell (three cells or more)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Write into an --out that holds another command's outputs (refused otherwise)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or per-run lines."),
) -> None:
    """Train every model on every cell with each seed and write the per-cell table, summary, intervals and plot.

    With --cross-cell: one model (the one --models names; attentivechrome for 'all') per cell and
    pooled over all cells but one, each scored on every cell's test split; writes the matrix as
    CSV, markdown and a heatmap.
    """
    from ..experiments.benchmark import resolve_models, run_benchmark
    from ..experiments.runner import DONE_EARLIER, FAILED
    from ..tasks import get_task

    claim_folder(out, "benchmark", overwrite=overwrite)  # e.g. an `interpret-benchmark --out` folder: its benchmark.md would be replaced
    if seeds < 1:
        raise UsageProblem(f"--seeds must be at least 1, got {seeds}")
    if jobs is not None and jobs < 1:
        raise UsageProblem(f"--jobs must be at least 1, got {jobs}")
    if bootstrap < 1:
        raise UsageProblem(f"--bootstrap must be at least 1, got {bootstrap}")
    names = resolve_models(models)
    settings = training_values(training)
    reference_expression, task = training["reference_expression"], training["task"]
    read_table(reference_expression)  # a bad table stops here, before any run
    if cross_cell:
        _cross_cell(cell_dirs, out, names if models != "all" else ["attentivechrome"], seeds, pooled, jobs, scheduler, quiet, settings, reference_expression)
        return
    config = training_settings(model=next((n for n in names if n != "prior"), names[0]), **settings)  # each model's runs take its own defaults for the settings not given
    metric = get_task(task).primary_label

    def report(event: dict) -> None:
        if event["index"] == 1:
            say(f"benchmark: {len(cell_dirs)} cell(s) x {len(names)} model(s) x {seeds} seed(s) into {out}")
        if event["status"] == FAILED:
            say(f"[{event['index']}/{event['total']}] {event['cell']} {event['model']} seed {event['seed']}: failed: {event['error']}")
            return
        verb = "done before, skipped" if event["status"] == DONE_EARLIER else f"{event['seconds']:.1f}s"
        say(
            f"[{event['index']}/{event['total']}] {event['cell']} {event['model']} seed {event['seed']}: "
            f"test {metric} {event['metric']:.4f} ({verb})"
        )

    result = run_benchmark(
        cell_dirs, out, models=names, seeds=seeds, config=config, n_bootstrap=bootstrap, jobs=jobs, scheduler=scheduler, progress=not quiet and None, on_run=None if quiet else report,
        reference_table=reference_expression,
    )
    record_owner(out, "benchmark")
    failed = f", {len(result.failed)} failed (left out of the tables)" if result.failed else ""
    say(f"trained {result.trained} run(s), skipped {result.skipped} finished{failed}; tables, plot and runs in {out}")
    typer.echo((out / "benchmark.md").read_text(encoding="utf-8"), nl=False)
    say_report(out)
    if result.failed:
        raise typer.Exit(1)


def _cross_cell(cell_dirs: list[Path], out: Path, names: list[str], seeds: int, pooled: bool, jobs, scheduler, quiet: bool, settings: dict, reference_table=None) -> None:
    from ..experiments.cross_cell import run_cross_cell
    from ..experiments.runner import DONE_EARLIER, FAILED

    if len(names) != 1:
        raise UsageProblem(f"--cross-cell trains one model; --models names {len(names)} ({', '.join(names)})")
    config = training_settings(model=names[0], **settings)

    def report(row: dict) -> None:
        if row["status"] == FAILED:
            say(f"{row['cell']} seed {row['seed']}: failed: {row['error']}")
        else:
            verb = "done before, skipped" if row["status"] == DONE_EARLIER else f"{row.get('seconds', float('nan')):.1f}s"
            say(f"{row['cell']} seed {row['seed']}: trained ({verb})")

    if not quiet:
        say(f"cross-cell benchmark of {names[0]}: {len(cell_dirs)} cell(s) x {seeds} seed(s) into {out}")
    result = run_cross_cell(
        cell_dirs, out, config=config, seeds=seeds, pooled=pooled, jobs=jobs, scheduler=scheduler, progress=not quiet and None, on_run=None if quiet else report,
        reference_table=reference_table,
    )
    record_owner(out, "benchmark")
    say(f"matrix, scores and heatmap in {out}" + (f"; {len(result.failed)} training(s) failed" if result.failed else ""))
    typer.echo((out / "matrix.md").read_text(encoding="utf-8"), nl=False)
    say_report(out)
    if result.failed:
        raise typer.Exit(1)
