"""The one runner behind every command that trains many models: ``train-many`` and ``benchmark``.

A unit of work is a :class:`TrainingUnit`: a plain, picklable description (the cell's name and
data directory, the run directory, the training settings as a dict), so it can be sent to another
process or machine as it is. :func:`run_units` trains the units that are not finished yet and
returns one result row per unit; it owns what both commands need and writes once:

- **resume**: a unit whose run directory holds ``result.json`` is finished and never trained
  again; a unit cut off mid-run starts over (the trainer writes its run directory whole or not at all);
- **failure isolation**: any exception fails only its own unit (its row says why);
- **the settings guard** (:func:`guard_settings`): an output directory is continued only with
  the settings that made it;
- **tolerant result reading** (:func:`read_result`): a damaged ``result.json`` means "train again".

With ``jobs`` 1 (and no scheduler) the units train one after another in this process, each with
every free core. Otherwise they run on Dask (:mod:`attentivechrome.cluster`): ``jobs=N`` starts a
local cluster of N single-threaded workers, ``scheduler=ADDRESS`` uses a running cluster. A
worker lost mid-unit has that unit retried on another worker (from scratch: a run directory is
only ever written whole); the results are the same as the serial run's.
"""

from __future__ import annotations

import functools

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import _settings
from .._io import write_text_atomic
from ..cluster import map_units
from ..config import TrainConfig
from ..data.layout import cell_name, split_paths
from ..exceptions import InputFormatError, RunSettingsError
from ..run_directory import RunDirectory

logger = logging.getLogger(__name__)

#: The settings of records written before presets existed (they trained with the original's).
ORIGINAL = TrainConfig(preset="original")

#: Written into a unit's run directory once it finished: its scores and time.
RESULT_FILE = RunDirectory.RESULT

#: What became of a unit, the one vocabulary of every row, table and callback: trained by this
#: call, finished by an earlier call (not trained again), or failed (its row's ``error`` says why).
TRAINED, DONE_EARLIER, FAILED = "trained", "done earlier", "failed"
STATUSES: tuple[str, ...] = (TRAINED, DONE_EARLIER, FAILED)


@dataclass(frozen=True)
class TrainingUnit:
    """One training run, described by plain values only (picklable, sendable to any worker).

    Attributes
    ----------
    cell
        The unit's name for messages and tables: the cell's name, or a name for a pool of cells.
    data_dirs
        The data directories it trains on (several: one model pooled over those cells), as paths
        every worker can read.
    run_dir
        Where the run directory is written.
    config
        :meth:`TrainConfig.to_dict` of the run's settings (model, seed and task included).
    reference_table
        The reference-expression table a unit with ``config['reference']`` other than ``none``
        reads (a path every worker can read); empty otherwise.
    entry
        How tables name the unit's model when it is not the model's name (``attentivechrome+prior``).
    """

    cell: str
    data_dirs: tuple[str, ...]
    run_dir: str
    config: dict = field(hash=False)
    reference_table: str = ""
    entry: str = ""

    @property
    def finished(self) -> bool:
        """Whether the unit's run directory holds its ``result.json`` (finished by an earlier call)."""
        return (Path(self.run_dir) / RESULT_FILE).is_file()

    @property
    def label(self) -> str:
        """How messages name the unit: the cell, and the model and seed where they vary."""
        return f"{self.cell} {self.config['model']} seed {self.config['seed']}"


def plan_cells(cell_dirs: Sequence[str | Path]) -> dict[str, Path]:
    """Check every cell directory and name it (its directory name; ``classification/`` is skipped).

    Raises
    ------
    InputFormatError
        When a directory lacks a split file.
    ValueError
        When no directory is given or two cells have the same name.
    """
    if not cell_dirs:
        raise ValueError("no cell directory given")
    cells: dict[str, Path] = {}
    for cell_dir in cell_dirs:
        split_paths(cell_dir)  # names the missing file
        name = cell_name(cell_dir)
        if name in cells:
            raise ValueError(f"two cell directories are named {name!r} ({cells[name]} and {cell_dir}); cell names must be unique")
        cells[name] = Path(os.path.abspath(cell_dir))  # units may run on other machines: absolute paths (links kept)
    return cells


def seed_list(seeds: int | Sequence[int]) -> list[int]:
    """Seeds ``1..N`` for a count ``N``, or the seeds given.

    Raises
    ------
    ValueError
        When no seed results.
    """
    seeds = list(range(1, seeds + 1)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seeds:
        raise ValueError("need at least one seed")
    return seeds


def guard_settings(out: Path, settings_file: str, settings: dict, record: dict, *, restart: bool = False, hint: str, what: str = "runs trained") -> None:
    """Refuse to continue ``out`` with other ``settings`` than the ones recorded there; then record these.

    Parameters
    ----------
    settings_file
        The record's file name inside ``out``.
    settings
        The settings that must match for the directory to be continued.
    record
        Other facts of the call to write beside them (cells, models, seeds).
    restart
        Accept other settings (the caller retrains every unit).
    hint
        What the user can do, appended to the error message.
    what
        What the directory holds, for the message (``{out}: holds {what} with other settings``).

    Raises
    ------
    RunSettingsError
        Naming each differing setting, old -> new.
    """
    path = out / settings_file
    settings = json.loads(json.dumps(settings))  # as the record reads back: tuples are lists
    if path.is_file() and not restart:
        remedy = f"delete it to continue {out} with this call's settings" + (", or pass --restart" if "--restart" in hint else "")
        previous = _recorded_settings(path, hint=remedy)
        # A setting an older record lacks had its default then: records without presets trained with the original settings.
        before = {k: previous.get(k, ORIGINAL.to_dict().get(k)) for k in settings}
        # A setting newer than the record, left to each model's preset ("tuned default"), is checked
        # unit by unit against each run's config.json (settings_changed), not here.
        new_preset_default = {k for k, v in settings.items() if k not in previous and isinstance(v, str) and v.endswith(" default")}
        differ = [f"{k} {before[k]!r} -> {v!r}" for k, v in settings.items() if before[k] != v and k not in new_preset_default]
        if differ:
            raise RunSettingsError(f"{out}: holds {what} with other settings ({'; '.join(differ)}); {hint}")
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps({"settings": settings, **record}, indent=2) + "\n")


def _recorded_settings(path: Path, *, hint: str) -> dict:
    """The ``settings`` of a settings record.

    Raises
    ------
    InputFormatError
        When the file is not JSON, or not ``{"settings": {...}, ...}`` (truncated, hand-edited), naming it.
    """
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputFormatError(path, err.lineno, f"damaged: not JSON ({err.msg}); {hint}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputFormatError(path, None, f"cannot be read ({err}); {hint}") from None
    settings = record.get("settings") if isinstance(record, dict) else None
    if not isinstance(settings, dict):
        got = type(record).__name__ if not isinstance(record, dict) else f"settings {type(settings).__name__}"
        raise InputFormatError(path, None, f'damaged: expected {{"settings": {{...}}, ...}}, got {got}; {hint}')
    return settings


#: What a finished unit's ``result.json`` must hold, and of what type.
_RESULT_FIELDS = {"cell": str, "model": str, "seed": int, "best_epoch": int}


def read_result(run_dir: str | Path) -> dict | None:
    """The ``result.json`` of a finished unit, or ``None`` when it is missing or damaged (train it again).

    A damaged file (not JSON, or without its fields and numeric scores) is said once, naming it.
    """
    path = Path(run_dir) / RESULT_FILE
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        logger.warning("%s: damaged (%s); the run is trained again", path, err)
        return None
    problem = _result_problem(result)
    if problem is not None:
        logger.warning("%s: damaged (%s); the run is trained again", path, problem)
        return None
    return result


def _result_problem(result) -> str | None:
    """What is wrong with a ``result.json``'s contents, or ``None``."""
    if not isinstance(result, dict):
        return f"expected a JSON object, got {type(result).__name__}"
    for key, kind in _RESULT_FIELDS.items():
        value = result.get(key)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"{key} must be a {kind.__name__}, got {value!r:.40}"
    for key, value in result.items():
        if key.startswith(("valid_", "test_")) or key in ("seconds", "minutes"):
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                return f"{key} must be a number, got {value!r:.40}"
    return None


def run_unit(unit: TrainingUnit, on_epoch: Callable[[TrainingUnit, int], None] | None = None) -> dict:
    """Train one unit and write its ``result.json``; return its row (status :data:`TRAINED` or :data:`FAILED`).

    The row holds the scores, the wall time and the peak resident memory of the unit's process
    while it trained (``peak_memory_mb``; on Linux measured from the unit's start).

    Never raises for a failure of the unit itself: the row's ``error`` says what went wrong.
    """
    from ..data.layout import load_splits
    from ..training.trainer import train

    started = time.perf_counter()
    base = _identity(unit)
    _settings.reset_peak_memory()  # the unit's own peak, not the worker's since it started
    try:
        config = TrainConfig.from_dict(unit.config)
        cells = {cell_name(d): load_splits(d, task=config.task, cache=True) for d in unit.data_dirs}
        _, record = train(
            cells,  # by name: a cell's name says which column of a reference is its own
            config,
            reference=_reference_table(unit.reference_table) if config.reference != "none" else None,
            out_dir=Path(unit.run_dir),
            data_source=", ".join(unit.data_dirs),
            on_epoch=None if on_epoch is None else (lambda record: on_epoch(unit, record["epoch"])),
            progress=False,
        )
    except Exception as err:  # noqa: BLE001 - one broken unit must not stop the others; its row says why
        logger.debug("%s failed", unit.label, exc_info=True)
        seconds = time.perf_counter() - started
        return {**base, "status": FAILED, "error": f"{type(err).__name__}: {err}", "seconds": seconds, "minutes": seconds / 60}
    seconds = time.perf_counter() - started
    result = {
        **base, "best_epoch": record.best_epoch, "epochs_run": len(record.history), "stop_reason": record.stop_reason,
        **record.scores, "seconds": seconds, "minutes": seconds / 60, "peak_memory_mb": _settings.peak_memory_mb(),
    }  # fmt: skip
    if record.cell_scores:
        result["cells"] = record.cell_scores
    run = RunDirectory(unit.run_dir)
    run.write_json(run.result, result)
    return {**result, "status": TRAINED}


def settings_changed(unit: TrainingUnit) -> list[str]:
    """How the settings a finished unit was trained with (its ``config.json``) differ from the unit's: ``name old -> new``.

    Settings an older record lacks are read as the original's (records before presets); the
    device is not compared. A run directory without a readable record gives no differences.
    """
    try:
        recorded = RunDirectory(unit.run_dir).read_config()["train"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    if not isinstance(recorded, dict):
        return []
    original = ORIGINAL.to_dict()
    return [
        f"{k} {recorded.get(k, original.get(k))!r} -> {v!r}"
        for k, v in unit.config.items() if k != "device" and recorded.get(k, original.get(k)) != v
    ]  # fmt: skip


def default_jobs(n_units: int, device: str = "auto") -> int:
    """Units to train at once: the free cores on a CPU (at least 1), one on a GPU."""
    if _settings.resolve_device(device).type != "cpu":
        return 1
    return max(1, min(n_units, _settings.free_cores()))


def run_units(
    units: Sequence[TrainingUnit],
    *,
    jobs: int | None = None,
    scheduler: str | None = None,
    restart: bool = False,
    on_result: Callable[[dict], None] | None = None,
    on_epoch: Callable[[TrainingUnit, int], None] | None = None,
    on_status: Callable[[dict[str, int]], None] | None = None,
) -> list[dict]:
    """Train every unit that is not finished yet; return one row per unit, in the order given.

    Parameters
    ----------
    units
        The units (their run directories must differ).
    jobs
        Units trained at once on a local Dask cluster (1: one after another in this process).
        Default: :func:`default_jobs`. Ignored with ``scheduler``.
    scheduler
        The address of a running Dask scheduler (``tcp://host:8786``): the units run on its
        workers, which must reach the units' data and run directories under the same paths.
    restart
        Train finished units again.
    on_result
        Called with each unit's row as soon as it is known: ``status`` is one of :data:`STATUSES`
        (``done earlier``: the row is the ``result.json`` of an earlier call).
    on_epoch
        Called after each epoch of a unit trained in this process (for progress bars).
    on_status
        Called with the counts ``done``, ``running``, ``failed`` and ``total`` of the units to train.
    """
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    rows: dict[str, dict] = {}
    pending: list[TrainingUnit] = []

    def finish(unit: TrainingUnit, row: dict) -> None:
        rows[unit.run_dir] = row
        if on_result is not None:
            on_result(row)
        elif row["status"] == FAILED:
            logger.error("%s failed: %s", unit.label, row["error"])

    for unit in units:
        finished = None if restart else read_result(unit.run_dir)
        if finished is not None:
            differ = settings_changed(unit)
            if differ:
                raise RunSettingsError(
                    f"{unit.run_dir}: finished with other settings than this call gives it ({'; '.join(differ)}); "
                    "a model's defaults may have changed since: pass the old settings (e.g. --preset original), use another --out, or retrain it"
                )
            finish(unit, {**finished, "status": DONE_EARLIER})
        else:
            pending.append(unit)

    if scheduler is None:
        devices = {unit.config.get("device", "auto") for unit in pending}
        jobs = min(jobs or default_jobs(len(pending), devices.pop() if len(devices) == 1 else "auto"), max(1, len(pending)))
    failed = {"count": 0}

    def done(index: int, row) -> None:
        unit = pending[index]
        if isinstance(row, BaseException):  # the task itself died: its workers were lost too often
            row = {**_identity(unit), "status": FAILED, "error": f"{type(row).__name__}: {row}"}
        failed["count"] += row["status"] == FAILED
        finish(unit, row)

    def status(counts: dict[str, int]) -> None:
        if on_status is not None:  # failed units are those whose row says so, not only tasks that raised
            on_status({**counts, "failed": failed["count"]})

    if scheduler is None and jobs == 1:  # in this process, with every free core and per-epoch progress
        map_units(lambda unit: run_unit(unit, on_epoch), pending, on_done=done, on_status=status)
    else:
        map_units(run_unit_on_worker, pending, jobs=jobs, scheduler=scheduler, on_done=done, on_status=status)
    return [rows[unit.run_dir] for unit in units]


def status_text(counts: dict[str, int]) -> str:
    """``units: 3/8 done, 2 running, 1 failed`` for a progress line."""
    return f"units: {counts['done']}/{counts['total']} done, {counts['running']} running, {counts['failed']} failed"


def run_unit_on_worker(unit: TrainingUnit) -> dict:
    """:func:`run_unit` in a worker process that trains beside others: one thread."""
    _settings.single_threaded_worker()
    return run_unit(unit)


def _identity(unit: TrainingUnit) -> dict:
    return {"cell": unit.cell, "model": unit.entry or unit.config["model"], "seed": unit.config["seed"], "task": unit.config["task"], "run_dir": unit.run_dir}


@functools.lru_cache(maxsize=2)
def _reference_table(path: str):
    """The reference-expression table of ``path``, read once per process (a worker trains many units on it)."""
    from ..data.reference import read_reference

    if not path:
        raise ValueError("the unit reads a reference prior but names no reference-expression table")
    return read_reference(path)


def first_line(text: str) -> str:
    """A run's error as one line (a traceback's text can span several)."""
    lines = str(text).strip().splitlines()
    return lines[0] if lines else "unknown error"
