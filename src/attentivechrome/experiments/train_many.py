"""Train one model per cell type, several cells at once, resumable.

The output directory holds::

    train-many.json      the settings and cells of the call (a later call must use the same settings)
    CELL/                the trainer's run directory (config.json, model.pt, metrics.json, test_predictions.tsv)
    CELL/result.json     written once that cell's run finished: its scores and time
    summary.tsv          one row per cell: status, best epoch, validation and test scores, minutes

With ``task='regression'`` the scores are validation and test Pearson, Spearman and MSE.

The cells are the units of :mod:`attentivechrome.experiments.runner`, which trains them: a cell
with ``result.json`` is never trained again, so an interrupted call continues where it stopped
(a cell cut off mid-run starts over), a failing cell fails only itself, and other settings on the
same output directory are refused. On a CPU the cells run in separate processes, one per free
core, each with one thread (a single LSTM step is too small to split across cores efficiently,
whole cells are not); a single cell gets every free core. On a GPU the cells take turns on it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from .._io import atomic_open
from ..config import TRAINING_FIELDS, TrainConfig
from ..tasks import get_task
from .experiment import Experiment, ExperimentResult, run_experiment
from .runner import RESULT_FILE, TrainingUnit, plan_cells

SETTINGS_FILE = "train-many.json"
SUMMARY_FILE = "summary.tsv"
#: Settings that change what a run learns; a resumed call must repeat them.
_SETTING_KEYS = ("model", "task", "seed", *TRAINING_FIELDS)


def summary_columns(task: str) -> tuple[str, ...]:
    """The columns of ``summary.tsv``, in order: the task's scores (:attr:`~attentivechrome.tasks.Task.score_columns`) amid the run's facts."""
    return ("cell", "status", "best_epoch", *get_task(task).score_columns, "minutes", "run_dir", "error")

__all__ = ["RESULT_FILE", "SETTINGS_FILE", "SUMMARY_FILE", "TrainMany", "summary_columns", "summary_text", "train_many"]


def train_many(
    cell_dirs: Sequence[str | Path],
    out_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    restart: bool = False,
    progress: bool | None = None,
    on_cell: Callable[[dict], None] | None = None,
    reference_table: str | Path | None = None,
) -> ExperimentResult:
    """Train ``config``'s model on every cell directory; skip cells finished by an earlier call.

    Parameters
    ----------
    cell_dirs
        Data directories with ``train/valid/test.csv`` (or ``classification/*.csv``), and
        ``expression.csv`` for ``task='regression'``; the cell's name is the directory's name.
    out_dir
        Output directory (see the module docstring); an existing one is continued.
    config
        Training settings shared by every cell (``task`` included). Default :class:`TrainConfig()`.
    jobs
        Cells trained at once, on a local Dask cluster of that many single-threaded workers (1:
        one after another in this process). Default: the free cores (1 on a GPU).
    scheduler
        Address of a running Dask scheduler to train the cells on instead (see
        :mod:`attentivechrome.cluster`); its workers must read the cells and ``out_dir`` under the same paths.
    restart
        Train every cell again, even finished ones, and accept other settings than before.
    progress
        Show one progress bar over all epochs of all cells; default: the package setting.
    on_cell
        Called with each cell's row as soon as the cell is finished, skipped or failed
        (``status``: one of :data:`~attentivechrome.experiments.runner.STATUSES`).

    Returns
    -------
    ExperimentResult
        With the table ``summary`` (one row per cell, in the order given); its ``seconds``
        count from the call's start.

    Raises
    ------
    RunSettingsError
        When ``out_dir`` holds runs trained with other settings (and ``restart`` is False).
    """
    config = config or TrainConfig()
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    started = time.perf_counter()
    experiment = TrainMany(plan_cells(cell_dirs), config, reference_table=reference_table)
    return run_experiment(
        experiment, out_dir, jobs=jobs, scheduler=scheduler, restart=restart, progress=progress, epochs=config.epochs, device=config.device, on_result=on_cell, started=started
    )


class TrainMany(Experiment):
    """``train-many`` as an :class:`~attentivechrome.experiments.experiment.Experiment`: one unit per cell; the summary table."""

    kind = "train-many"
    settings_file = SETTINGS_FILE
    what = "runs trained"
    hint = "use the same settings to continue, another --out, or --restart to train every cell again"
    progress_label = "{n} cell(s)"
    progress_by_epoch = True

    def __init__(self, cells: dict[str, Path], config: TrainConfig, *, reference_table: str | Path | None = None) -> None:
        self.cells, self.config = cells, config
        self.table = "" if reference_table is None else os.path.abspath(reference_table)  # each cell's prior leaves out its own column

    def settings(self) -> dict:
        return {key: getattr(self.config, key) for key in _SETTING_KEYS}

    def record(self) -> dict:
        return {"cells": {name: str(path) for name, path in self.cells.items()}}

    def plan(self, out: Path) -> list[TrainingUnit]:
        config = self.config.to_dict()
        return [TrainingUnit(cell=name, data_dirs=(str(path),), run_dir=str(out / name), config=config, reference_table=self.table) for name, path in self.cells.items()]

    def tabulate(self, out: Path, units: Sequence[TrainingUnit], rows: Sequence[dict]) -> dict[str, pd.DataFrame]:
        columns = summary_columns(self.config.task)
        summary = pd.DataFrame([{c: row.get(c) for c in columns} | {"cell": unit.cell, "run_dir": row.get("run_dir") or unit.run_dir} for unit, row in zip(units, rows)], columns=list(columns))
        return {"summary": summary}

    def render(self, out: Path, tables: dict[str, pd.DataFrame]) -> None:
        with atomic_open(out / SUMMARY_FILE, "w", encoding="utf-8", newline="") as handle:
            tables["summary"].to_csv(handle, sep="\t", index=False, float_format="%.6g")


def summary_text(summary: pd.DataFrame) -> str:
    """The summary as an aligned plain-text table (one line per cell, then the mean of the scores)."""
    scores = [c for c in summary.columns if c.startswith(("valid_", "test_"))]
    shown = ["cell", "status", "best_epoch", *scores, "minutes"]
    table = summary[shown].copy()
    if len(table) > 1 and table[scores].notna().any().any():
        mean = {c: "" for c in shown} | {"cell": "mean"}
        mean |= {c: pd.to_numeric(table[c], errors="coerce").mean() for c in scores}
        table = pd.concat([table, pd.DataFrame([mean])], ignore_index=True)
    formatted = {
        "best_epoch": lambda v: "" if pd.isna(v) or v == "" else str(int(v)),
        "minutes": lambda v: "" if pd.isna(v) or v == "" else f"{float(v):.1f}",
        **{c: (lambda v: "" if pd.isna(v) or v == "" else f"{float(v):.4f}") for c in scores},
    }
    return table.to_string(index=False, formatters=formatted, na_rep="")
