"""The ``train-many`` command: one model per cell type, cells in parallel, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import _options as opt
from ._app import UsageProblem, app, say, say_report, training_settings
from ._interrupt import finished_runs_kept, says_what_was_kept
from ._outputs import claim_folder, record_owner
from ._training_options import TRAINING, training_options, training_values


@app.command("train-many", epilog=opt.DEFAULTS_EPILOG)
@says_what_was_kept(finished_runs_kept)
@training_options(seed="Random seed (weights and gene order), the same for every cell.")
def train_many(
    cell_dirs: list[Path] = typer.Argument(..., help="Cell data directories (train/valid/test.csv or classification/*.csv); the cell name is the directory name."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory: one run directory per cell; an existing one is continued."),
    jobs: Optional[int] = typer.Option(
        None, help="Cells trained at once, on a local Dask cluster of that many one-thread workers (1: in this process). Default: the free CPU cores (1 on a GPU)."
    ),
    scheduler: Optional[str] = typer.Option(
        None, help="Address of a running Dask scheduler (tcp://host:8786) to train on; its workers must see the data and --out under the same paths."
    ),
    training: dict = TRAINING,  # the training options: see _training_options
    restart: bool = typer.Option(False, "--restart", help="Train every cell again, even cells finished by an earlier call."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Write into an --out that holds another command's outputs (refused otherwise)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or per-cell lines; only the summary table."),
) -> None:
    """Train one model per cell type, several cells at once, and print one summary table.

    Finished cells (with result.json) are skipped, so an interrupted call continues where it stopped.
    """
    from ..experiments.runner import DONE_EARLIER, FAILED
    from ..experiments.train_many import SUMMARY_FILE, summary_text
    from ..tasks import get_task
    from ._reference import read_table
    from ..experiments.train_many import train_many as run_train_many

    claim_folder(out, "train-many", overwrite=overwrite)  # another command's folder is refused unless --overwrite
    if jobs is not None and jobs < 1:
        raise UsageProblem(f"--jobs must be at least 1, got {jobs}")
    config = training_settings(**training_values(training))
    reference_expression = training["reference_expression"]
    read_table(reference_expression)  # a bad table stops here, before any cell trains
    primary, label = f"test_{get_task(config.task).primary_metric}", get_task(config.task).primary_label

    def report(row: dict) -> None:
        if row["status"] == FAILED:
            say(f"{row['cell']}: failed: {row['error']}")
        elif row["status"] == DONE_EARLIER:
            say(f"{row['cell']}: finished by an earlier call, skipped (test {label} {row.get(primary, float('nan')):.4f})")
        else:
            say(f"{row['cell']}: test {label} {row[primary]:.4f} (best epoch {row['best_epoch']}, {row['minutes']:.1f} min)")

    if not quiet:
        say(f"train-many: {len(cell_dirs)} cell(s) into {out}")
    result = run_train_many(
        cell_dirs, out, config, jobs=jobs, scheduler=scheduler, restart=restart, progress=not quiet and None, on_cell=None if quiet else report,
        reference_table=reference_expression,
    )
    record_owner(out, "train-many")
    typer.echo(summary_text(result.summary))
    say(
        f"trained {result.trained}, skipped {result.skipped} finished, failed {len(result.failed)} "
        f"in {result.seconds / 60:.1f} min; summary in {out / SUMMARY_FILE}"
    )
    say_report(out)
    if result.failed:
        raise typer.Exit(1)
