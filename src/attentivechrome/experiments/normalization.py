"""Choose the per-cell normalisation by held-out-cell validation (``train CELLS... --normalize auto``).

For each candidate (``none``, ``depth``, ``quantile``) and each cell, a model is trained on the
other cells and scored on the left-out cell's *validation* split (its test split stays untouched),
normalised from that cell's own input as a new cell would be. The candidate with the best mean
held-out score wins (ties: the simpler one, in the order above); the final model is then trained
on every cell with it, and the choice is recorded in the model and its run directory.

The trainings are units of :mod:`attentivechrome.experiments.runner`: resumable, in parallel
with ``jobs`` or on a Dask ``scheduler``. They live in ``<out>/normalize-selection/``.
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .._io import write_text_atomic
from ..config import TrainConfig
from ..data.schema import NORMALIZATIONS
from ..exceptions import AttentiveChromeError, UndefinedMetricError
from ..tasks import get_task
from .experiment import Experiment, run_experiment
from .runner import FAILED, TrainingUnit, plan_cells

SELECTION_DIR = "normalize-selection"
SELECTION_FILE = "selection.json"


@dataclasses.dataclass(frozen=True)
class NormalizationChoice:
    """The chosen normalisation and the held-out validation score of every candidate."""

    best: str
    #: candidate -> held-out cell -> validation AUROC (Pearson for regression); NaN where it could not be scored.
    scores: dict[str, dict[str, float]]
    metric: str

    def mean(self, candidate: str) -> float:
        values = [v for v in self.scores[candidate].values() if not np.isnan(v)]
        return float(np.mean(values)) if values else float("nan")

    def to_dict(self) -> dict:
        return {"best": self.best, "metric": self.metric, "scores": self.scores, "mean": {c: self.mean(c) for c in self.scores}}


def select_normalization(
    cell_dirs: Sequence[str | Path],
    out_dir: str | Path,
    config: TrainConfig,
    *,
    candidates: Sequence[str] = NORMALIZATIONS,
    jobs: int | None = 1,
    scheduler: str | None = None,
    on_result: Callable[[dict], None] | None = None,
) -> NormalizationChoice:
    """Train each candidate on all cells but one, for each cell; return the candidate with the best held-out validation score.

    Raises
    ------
    ValueError
        With fewer than two cells (nothing to hold out), or when every candidate failed.
    """
    experiment = NormalizationSelection(plan_cells(cell_dirs), config, candidates)
    return run_experiment(experiment, Path(out_dir) / SELECTION_DIR, jobs=jobs, scheduler=scheduler, on_result=on_result).tables["choice"]


class NormalizationSelection(Experiment):
    """The selection as an :class:`~attentivechrome.experiments.experiment.Experiment`: one unit per (candidate, held-out cell); the choice."""

    kind = "normalisation selection"
    hint = "use another --out, or the same settings to continue the selection"

    def __init__(self, cells: dict[str, Path], config: TrainConfig, candidates: Sequence[str]) -> None:
        if len(cells) < 2:
            raise ValueError("choosing the normalisation by held-out-cell validation needs at least two cells (--normalize auto)")
        self.cells, self.config, self.candidates = cells, config, list(candidates)
        self.keys = [(candidate, held_out) for candidate in self.candidates for held_out in cells]

    def settings(self) -> dict:
        return {k: v for k, v in self.config.to_dict().items() if k not in ("normalize", "device")}

    def record(self) -> dict:
        return {"cells": {k: str(v) for k, v in self.cells.items()}, "candidates": self.candidates}

    def plan(self, out: Path) -> list[TrainingUnit]:
        cells = self.cells
        return [
            TrainingUnit(
                cell=f"{candidate} without {held_out}", data_dirs=tuple(str(cells[c]) for c in cells if c != held_out), run_dir=str(out / candidate / f"without-{held_out}"),
                config=dataclasses.replace(self.config, normalize=candidate).to_dict(),
            )
            for candidate, held_out in self.keys
        ]  # fmt: skip

    def tabulate(self, out: Path, units: Sequence[TrainingUnit], rows: Sequence[dict]) -> dict[str, NormalizationChoice]:
        from ..data.layout import load_splits
        from ..trained import load_model

        task = get_task(self.config.task)
        data = {name: load_splits(path, task=self.config.task, cache=True) for name, path in self.cells.items()}
        scores: dict[str, dict[str, float]] = {c: {} for c in self.candidates}
        errors: list[str] = []
        for (candidate, held_out), unit, row in zip(self.keys, units, rows):
            value = float("nan")
            if row["status"] == FAILED:
                errors.append(f"{unit.cell}: {row.get('error', '')}")
            else:
                splits = data[held_out]
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        predictions = load_model(unit.run_dir).predict(splits["valid"], with_attention=False, stats_from=list(splits.values()))
                    value = task.primary_score(predictions.labels, predictions.values)
                except (AttentiveChromeError, UndefinedMetricError) as err:  # e.g. a mark the held-out cell lacks
                    errors.append(f"{unit.cell}: {err}")
            scores[candidate][held_out] = value
        try:
            best = _best(scores, self.candidates)
        except ValueError as err:
            raise ValueError(f"{err}; the first problem: {errors[0]}" if errors else str(err)) from None
        return {"choice": NormalizationChoice(best=best, scores=scores, metric=task.primary_metric)}

    def render(self, out: Path, tables: dict[str, NormalizationChoice]) -> None:
        write_text_atomic(out / SELECTION_FILE, json.dumps(tables["choice"].to_dict(), indent=2) + "\n")


def _best(scores: dict[str, dict[str, float]], candidates: Sequence[str]) -> str:
    means = {}
    for candidate in candidates:
        values = [v for v in scores[candidate].values() if not np.isnan(v)]
        if len(values) == len(scores[candidate]):  # scored on every held-out cell
            means[candidate] = float(np.mean(values))
    if not means:
        raise ValueError("no normalisation could be scored on every held-out cell")
    top = max(means.values())
    return next(c for c in candidates if means.get(c) == top)
