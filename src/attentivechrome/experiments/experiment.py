"""One shape for every command that trains many models: plan, guard, run, tabulate, render.

An experiment (``benchmark``, ``benchmark --cross-cell``, ``train-many``, the normalisation
selection of ``train --normalize auto``) is an :class:`Experiment`: it says which units it trains
(:meth:`~Experiment.plan`), which settings must match for its output directory to be continued
(:meth:`~Experiment.settings`), how the finished units' rows become tables
(:meth:`~Experiment.tabulate`) and how the tables are written (:meth:`~Experiment.render`).
:func:`run_experiment` does the rest the same way for all of them:

1. **lock** the output directory (a second call on it refuses while this one runs);
2. **guard** its settings (:func:`~attentivechrome.experiments.runner.guard_settings`);
3. **run** the units that are not finished (:func:`~attentivechrome.experiments.runner.run_units`),
   with one progress bar;
4. **tabulate** and **render**, and return one :class:`ExperimentResult`.

Every row, table and callback says what became of a unit in one vocabulary:
:data:`~attentivechrome.experiments.runner.STATUSES`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from .._io import exclusive_lock
from .._progress import progress_bar
from .runner import DONE_EARLIER, FAILED, TRAINED, TrainingUnit, default_jobs, guard_settings, run_units, status_text


class FailedRun(NamedTuple):
    """A unit that failed (it is left out of the tables): what it trained on, its model and seed, and why."""

    cell: str
    model: str
    seed: int
    error: str


@dataclass(frozen=True)
class ExperimentResult:
    """What an experiment produced: its tables (also written to ``out_dir``) and what became of each unit.

    A table is also an attribute: ``result.summary`` is ``result.tables["summary"]``.
    """

    out_dir: Path
    #: The tables by name, as the experiment's :meth:`Experiment.tabulate` made them.
    tables: dict[str, Any]
    #: One row per unit, in the order planned; ``status`` is one of :data:`~attentivechrome.experiments.runner.STATUSES`.
    rows: list[dict] = field(default_factory=list)
    #: Seconds from the call's start to its end.
    seconds: float = 0.0

    @property
    def trained(self) -> int:
        """Units trained by this call."""
        return sum(row["status"] == TRAINED for row in self.rows)

    @property
    def skipped(self) -> int:
        """Units finished by an earlier call (``done earlier``), not trained again."""
        return sum(row["status"] == DONE_EARLIER for row in self.rows)

    @property
    def failed(self) -> list[FailedRun]:
        """The units that failed, in the order planned."""
        return [FailedRun(row["cell"], row["model"], row["seed"], row.get("error", "")) for row in self.rows if row["status"] == FAILED]

    def __getattr__(self, name: str):
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or table {name!r}")


class Experiment:
    """What one kind of experiment says; :func:`run_experiment` does the rest (see the module docstring).

    Subclasses set the class attributes and implement :meth:`settings`, :meth:`plan`,
    :meth:`tabulate` and :meth:`render`; checks of the call's arguments belong in their
    constructor, so that a bad call stops before the output directory is touched.
    """

    #: How the lock names the experiment to a second call (``another benchmark is writing here``).
    kind: str = "experiment"
    #: The settings record's file name inside the output directory.
    settings_file: str = "settings.json"
    #: What the output directory holds, for the settings guard's message (``None``: ``a <kind>``).
    what: str | None = None
    #: What the user can do when the settings differ.
    hint: str = "use another --out or the same settings to continue it"
    #: The progress bar's label (``None``: the number of units to train).
    progress_label: str | None = None
    #: Move the progress bar per epoch of the units trained in this process (else per unit).
    progress_by_epoch: bool = False

    def settings(self) -> dict:  # pragma: no cover - every experiment says its own
        """The settings that must match for the output directory to be continued."""
        raise NotImplementedError

    def record(self) -> dict:
        """Other facts of the call, recorded beside the settings (cells, models, seeds)."""
        return {}

    def plan(self, out: Path) -> list[TrainingUnit]:  # pragma: no cover
        """The units to train, in the order the tables list them."""
        raise NotImplementedError

    def tabulate(self, out: Path, units: Sequence[TrainingUnit], rows: Sequence[dict]) -> dict[str, Any]:  # pragma: no cover
        """The tables, from one row per unit (in the order of :meth:`plan`)."""
        raise NotImplementedError

    def render(self, out: Path, tables: dict[str, Any]) -> None:  # pragma: no cover
        """Write the tables into ``out`` (each file whole or not at all)."""
        raise NotImplementedError


def run_experiment(
    experiment: Experiment,
    out: str | Path,
    *,
    jobs: int | None = 1,
    scheduler: str | None = None,
    restart: bool = False,
    progress: bool | None = False,
    epochs: int = 1,
    device: str = "auto",
    on_result: Callable[[dict], None] | None = None,
    started: float | None = None,
) -> ExperimentResult:
    """Lock ``out``, guard its settings, train the units not finished, tabulate and render (see the module docstring).

    Parameters
    ----------
    out
        The output directory (made absolute: units may train on other machines).
    jobs, scheduler, restart
        As :func:`~attentivechrome.experiments.runner.run_units` takes them.
    progress
        Show one progress bar; default: no bar (``None``: the package setting).
    epochs, device
        The units' epochs and device, for a bar moved per epoch (:attr:`Experiment.progress_by_epoch`).
    on_result
        Called with each unit's row as soon as it is known.
    started
        When the call started (:func:`time.perf_counter`), for :attr:`ExperimentResult.seconds`.

    Raises
    ------
    DirectoryLockedError
        When another process is writing into ``out``.
    RunSettingsError
        When ``out`` holds an experiment of this kind with other settings (and not ``restart``).
    """
    started = time.perf_counter() if started is None else started
    out = Path(os.path.abspath(out))  # units may train on other machines: they see the same absolute paths
    with exclusive_lock(out, experiment.kind):  # a second call on the same --out refuses while this one runs
        guard_settings(out, experiment.settings_file, experiment.settings(), experiment.record(), restart=restart, hint=experiment.hint, what=experiment.what or f"a {experiment.kind}")
        units = experiment.plan(out)
        rows = _run(experiment, units, jobs=jobs, scheduler=scheduler, restart=restart, progress=progress, epochs=epochs, device=device, on_result=on_result)
        tables = experiment.tabulate(out, units, rows)
        experiment.render(out, tables)
    return ExperimentResult(out_dir=out, tables=tables, rows=rows, seconds=time.perf_counter() - started)


def _run(experiment: Experiment, units: list[TrainingUnit], *, jobs, scheduler, restart, progress, epochs, device, on_result) -> list[dict]:
    """:func:`run_units` under one progress bar: moved per unit, or per epoch of the units trained in this process."""
    if not experiment.progress_by_epoch:
        with progress_bar(len(units), experiment.progress_label or f"{len(units)} unit(s)", enabled=progress) as advance:

            def report(row: dict) -> None:
                advance(1)
                if on_result is not None:
                    on_result(row)

            return run_units(units, jobs=jobs, scheduler=scheduler, restart=restart, on_result=report, on_status=lambda counts: advance(0, description=status_text(counts)))
    to_train = sum(1 for unit in units if restart or not unit.finished)
    # Epochs move the bar when units train here; units, when they train on Dask workers.
    n_jobs = min(jobs or default_jobs(to_train, device), max(1, to_train))  # as the runner decides
    per_unit = epochs if scheduler is None and n_jobs == 1 else 1
    label = experiment.progress_label or f"{to_train} unit(s)"
    with progress_bar(max(1, to_train * per_unit), label.format(n=to_train), enabled=progress) as advance:
        return run_units(
            units, jobs=jobs, scheduler=scheduler, restart=restart, on_result=on_result,
            on_epoch=lambda unit, epoch: advance(1),
            on_status=lambda counts: advance(0 if per_unit > 1 else 1, description=status_text(counts)),
        )  # fmt: skip
