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

import os
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
from .runner import TrainingUnit, guard_settings, plan_cells, run_units

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
    from ..data.layout import load_splits
    from ..trained import load_model

    cells = plan_cells(cell_dirs)
    if len(cells) < 2:
        raise ValueError("choosing the normalisation by held-out-cell validation needs at least two cells (--normalize auto)")
    root = Path(os.path.abspath(out_dir)) / SELECTION_DIR
    guard_settings(
        root, "settings.json", {k: v for k, v in config.to_dict().items() if k not in ("normalize", "device")},
        {"cells": {k: str(v) for k, v in cells.items()}, "candidates": list(candidates)},
        hint="use another --out, or the same settings to continue the selection", what="a normalisation selection",
    )  # fmt: skip
    units, keys = [], []
    for candidate in candidates:
        for held_out in cells:
            others = tuple(str(cells[c]) for c in cells if c != held_out)
            run_dir = root / candidate / f"without-{held_out}"
            units.append(TrainingUnit(cell=f"{candidate} without {held_out}", data_dirs=others, run_dir=str(run_dir), config=dataclasses.replace(config, normalize=candidate).to_dict()))
            keys.append((candidate, held_out))
    rows = run_units(units, jobs=jobs, scheduler=scheduler, on_result=on_result)

    task = get_task(config.task)
    metric = task.primary_metric
    data = {name: load_splits(path, task=config.task, cache=True) for name, path in cells.items()}
    scores: dict[str, dict[str, float]] = {c: {} for c in candidates}
    errors: list[str] = []
    for (candidate, held_out), unit, row in zip(keys, units, rows):
        value = float("nan")
        if row["status"] == "failed":
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
        best = _best(scores, candidates)
    except ValueError as err:
        raise ValueError(f"{err}; the first problem: {errors[0]}" if errors else str(err)) from None
    choice = NormalizationChoice(best=best, scores=scores, metric=metric)
    write_text_atomic(root / SELECTION_FILE, json.dumps(choice.to_dict(), indent=2) + "\n")
    return choice


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
