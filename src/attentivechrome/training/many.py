"""Train one model per cell type, several cells at once, resumable.

The output directory holds::

    train-many.json      the settings and cells of the call (a later call must use the same settings)
    CELL/                the trainer's run directory (config.json, model.pt, metrics.json, test_predictions.tsv)
    CELL/result.json     written once that cell's run finished: its scores and time
    summary.tsv          one row per cell: status, best epoch, validation and test scores, minutes

A cell with ``result.json`` is never trained again, so an interrupted call continues where it
stopped (a cell cut off mid-run starts over). On a CPU the cells run in separate processes, one
per free core, each with one thread (a single LSTM step is too small to split across cores
efficiently, whole cells are not); a single cell gets every free core. On a GPU the cells take
turns on it.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import _settings
from .._io import atomic_open, write_text_atomic
from .._progress import progress_bar
from ..data.dataset import split_paths
from .config import TrainConfig

logger = logging.getLogger(__name__)

SETTINGS_FILE = "train-many.json"
RESULT_FILE = "result.json"
SUMMARY_FILE = "summary.tsv"
#: Settings that change what a run learns; a resumed call must repeat them.
_SETTING_KEYS = ("model", "lr", "batch_size", "epochs", "clip", "seed", "transform", "task")
#: Summary columns, in order.
SUMMARY_COLUMNS = ("cell", "status", "best_epoch", "valid_auroc", "test_auroc", "test_aupr", "minutes", "run_dir", "error")


class TrainManySettingsError(ValueError):
    """The output directory holds runs trained with other settings."""


@dataclass(frozen=True)
class CellJob:
    """One cell type to train: its name, data directory and run directory."""

    name: str
    data_dir: Path
    run_dir: Path


@dataclass
class TrainManyResult:
    """The per-cell summary of a call (also written to ``summary.tsv``)."""

    summary: pd.DataFrame
    out_dir: Path
    trained: int = 0
    skipped: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0


def plan_cells(cell_dirs: Sequence[str | Path], out_dir: str | Path) -> list[CellJob]:
    """Check every cell directory and name it (its directory name; ``classification/`` is skipped).

    Raises
    ------
    InputFormatError
        When a directory lacks a split file.
    ValueError
        When no directory is given or two cells have the same name.
    """
    from ..evaluation.benchmark import cell_name

    if not cell_dirs:
        raise ValueError("no cell directory given")
    jobs: dict[str, CellJob] = {}
    for cell_dir in cell_dirs:
        split_paths(cell_dir)  # names the missing file
        name = cell_name(cell_dir)
        if name in jobs:
            raise ValueError(f"two cell directories are named {name!r} ({jobs[name].data_dir} and {cell_dir}); cell names must be unique")
        jobs[name] = CellJob(name=name, data_dir=Path(cell_dir), run_dir=Path(out_dir) / name)
    return list(jobs.values())


def default_jobs(n_cells: int, device: str = "auto") -> int:
    """Cells to train at once: the free cores on a CPU (at least 1), one on a GPU."""
    from ..models._fast_lstm import threads_for_load, usable_cores

    if _settings.resolve_device(device).type != "cpu":
        return 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        load = 0.0
    return max(1, min(n_cells, threads_for_load(usable_cores(), load, 0)))


def train_many(
    cell_dirs: Sequence[str | Path],
    out_dir: str | Path,
    config: TrainConfig | None = None,
    *,
    jobs: int | None = None,
    restart: bool = False,
    progress: bool | None = None,
    on_cell: Callable[[dict], None] | None = None,
) -> TrainManyResult:
    """Train ``config``'s model on every cell directory; skip cells finished by an earlier call.

    Parameters
    ----------
    cell_dirs
        Data directories with ``train/valid/test.csv`` (or ``classification/*.csv``); the cell's
        name is the directory's name.
    out_dir
        Output directory (see the module docstring); an existing one is continued.
    config
        Training settings shared by every cell. Default :class:`TrainConfig()`.
    jobs
        Cells trained at once. Default: :func:`default_jobs` (free cores; 1 on a GPU).
    restart
        Train every cell again, even finished ones, and accept other settings than before.
    progress
        Show one progress bar over all epochs of all cells; default: the package setting.
    on_cell
        Called with each cell's summary row as soon as the cell is finished, skipped or failed.

    Returns
    -------
    TrainManyResult
        The summary table (one row per cell, in the order given) and counts.

    Raises
    ------
    TrainManySettingsError
        When ``out_dir`` holds runs trained with other settings (and ``restart`` is False).
    """
    config = config or TrainConfig()
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    started = time.perf_counter()
    out = Path(out_dir)
    cells = plan_cells(cell_dirs, out)
    _check_settings(out, config, cells, restart=restart)

    rows: dict[str, dict] = {}
    pending: list[CellJob] = []
    for cell in cells:
        finished = None if restart else _read_result(cell.run_dir)
        if finished is not None:
            rows[cell.name] = {**finished, "status": "done earlier"}
            if on_cell is not None:
                on_cell(rows[cell.name])
        else:
            pending.append(cell)

    n_jobs = min(jobs or default_jobs(len(pending), config.device), max(1, len(pending)))
    threads = None if n_jobs == 1 else 1  # None: the kernel picks its threads from the free cores
    with progress_bar(max(1, len(pending) * config.epochs), f"{len(pending)} cell(s)", enabled=progress) as advance:

        def finish(row: dict) -> None:
            rows[row["cell"]] = row
            if on_cell is not None:
                on_cell(row)  # the caller reports the cell, failures included
            elif row["status"] == "failed":
                logger.error("%s failed: %s", row["cell"], row["error"])

        if n_jobs == 1:
            for cell in pending:
                finish(_train_cell(cell, config.to_dict(), lambda cell_name, epoch: advance(1)))
        else:
            _run_in_processes(pending, config, n_jobs, threads, advance, finish)

    summary = pd.DataFrame([_summary_row(rows[cell.name], cell) for cell in cells], columns=list(SUMMARY_COLUMNS))
    with atomic_open(out / SUMMARY_FILE, "w", encoding="utf-8", newline="") as handle:
        summary.to_csv(handle, sep="\t", index=False, float_format="%.6g")
    return TrainManyResult(
        summary=summary,
        out_dir=out,
        trained=sum(r["status"] == "trained" for r in rows.values()),
        skipped=sum(r["status"] == "done earlier" for r in rows.values()),
        failed=[name for name, r in rows.items() if r["status"] == "failed"],
        seconds=time.perf_counter() - started,
    )


def summary_text(summary: pd.DataFrame) -> str:
    """The summary as an aligned plain-text table (one line per cell, then the mean of the scores)."""
    shown = ["cell", "status", "best_epoch", "valid_auroc", "test_auroc", "test_aupr", "minutes"]
    table = summary[shown].copy()
    scores = ["valid_auroc", "test_auroc", "test_aupr"]
    if len(table) > 1 and table[scores].notna().any().any():
        mean = {c: "" for c in shown} | {"cell": "mean"}
        mean |= {c: table[c].mean() for c in scores}
        table = pd.concat([table, pd.DataFrame([mean])], ignore_index=True)
    formatted = {
        "best_epoch": lambda v: "" if pd.isna(v) or v == "" else str(int(v)),
        "minutes": lambda v: "" if pd.isna(v) or v == "" else f"{float(v):.1f}",
        **{c: (lambda v: "" if pd.isna(v) or v == "" else f"{float(v):.4f}") for c in scores},
    }
    return table.to_string(index=False, formatters=formatted, na_rep="")


# --------------------------------------------------------------------------- one cell


def _train_cell(cell: CellJob, config: dict, on_epoch: Callable[[str, int], None] | None) -> dict:
    """Load and train one cell; return its summary row (status ``trained`` or ``failed``)."""
    from ..data.dataset import load_splits
    from .trainer import train

    started = time.perf_counter()
    try:
        splits = load_splits(cell.data_dir, cache=True)
        result = train(
            splits,
            TrainConfig(**config),
            out_dir=cell.run_dir,
            data_source=str(cell.data_dir),
            on_epoch=None if on_epoch is None else (lambda record: on_epoch(cell.name, record["epoch"])),
            progress=False,
        )
    except Exception as err:  # noqa: BLE001 - one broken cell must not stop the others; its row says why
        logger.debug("cell %s failed", cell.name, exc_info=True)
        return {"cell": cell.name, "status": "failed", "error": f"{type(err).__name__}: {err}", "minutes": (time.perf_counter() - started) / 60}
    row = {
        "cell": cell.name,
        "status": "trained",
        "best_epoch": result.best_epoch,
        **result.scores,
        "minutes": (time.perf_counter() - started) / 60,
        "run_dir": str(cell.run_dir),
    }
    write_text_atomic(cell.run_dir / RESULT_FILE, json.dumps(row, indent=2) + "\n")
    return row


def _process_worker(cell: CellJob, config: dict, threads: int | None, queue) -> dict:
    """Entry point of a worker process: ``threads`` for the encoder kernel, epochs reported through ``queue``."""
    import torch

    from ..models import _fast_lstm

    torch.set_num_threads(1)
    _fast_lstm.set_num_threads(threads)
    return _train_cell(cell, config, lambda name, epoch: queue.put((name, epoch)))


def _run_in_processes(
    pending: list[CellJob], config: TrainConfig, n_jobs: int, threads: int | None, advance: Callable[[int], None], finish: Callable[[dict], None]
) -> None:
    # "spawn": a forked child of a process that already ran OpenMP threads can hang.
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        queue = manager.Queue()
        with concurrent.futures.ProcessPoolExecutor(max_workers=n_jobs, mp_context=context) as pool:
            futures = {pool.submit(_process_worker, cell, config.to_dict(), threads, queue): cell for cell in pending}
            remaining = set(futures)
            while remaining:
                done, remaining = concurrent.futures.wait(remaining, timeout=0.25)
                _drain(queue, advance)
                for future in done:
                    cell = futures[future]
                    try:
                        row = future.result()
                    except concurrent.futures.process.BrokenProcessPool as err:
                        row = {"cell": cell.name, "status": "failed", "error": f"worker process died: {err}"}
                    except Exception as err:  # noqa: BLE001 - e.g. a result that could not be sent back
                        row = {"cell": cell.name, "status": "failed", "error": f"{type(err).__name__}: {err}"}
                    finish(row)
            _drain(queue, advance)


def _drain(queue, advance: Callable[[int], None]) -> None:
    while True:
        try:
            queue.get_nowait()
        except Exception:  # queue.Empty, raised through the manager's proxy
            return
        advance(1)


# --------------------------------------------------------------------------- bookkeeping


def _summary_row(row: dict, cell: CellJob) -> dict:
    full = {column: row.get(column) for column in SUMMARY_COLUMNS}
    full["cell"] = cell.name
    full["run_dir"] = full["run_dir"] or str(cell.run_dir)
    return full


def _read_result(run_dir: Path) -> dict | None:
    path = run_dir / RESULT_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a damaged marker: train the cell again


def _check_settings(out: Path, config: TrainConfig, cells: list[CellJob], *, restart: bool) -> None:
    """Refuse to mix cells trained with other settings (unless restarting); record this call's settings."""
    settings = {key: getattr(config, key) for key in _SETTING_KEYS if hasattr(config, key)}
    path = out / SETTINGS_FILE
    if path.is_file() and not restart:
        previous = json.loads(path.read_text(encoding="utf-8")).get("settings", {})
        differ = [f"{k} {previous.get(k)!r} -> {v!r}" for k, v in settings.items() if previous.get(k) != v]
        if differ:
            raise TrainManySettingsError(
                f"{out}: holds runs trained with other settings ({'; '.join(differ)}); "
                "use the same settings to continue, another --out, or --restart to train every cell again"
            )
    out.mkdir(parents=True, exist_ok=True)
    record = {"settings": settings, "cells": {cell.name: str(cell.data_dir) for cell in cells}}
    write_text_atomic(path, json.dumps(record, indent=2) + "\n")
