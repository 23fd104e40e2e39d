"""One training set from one or several cells: marks matched by name, each cell normalised, splits pooled.

Cells must share their bins. Cells with different marks pool over the union of their marks,
each cell's absent marks NaN (masked by the model), and only into a model trained for missing
marks; otherwise the call stops naming the cell and its marks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..config import TrainConfig
from ..data.dataset import HistoneData
from ..data.marks import align_marks, mark_key, union_marks
from ..data.normalize import Normalization
from ..data.reference import ReferencePrior, ReferenceTable, usable_columns
from ..data.schema import SPLITS
from ..exceptions import ModelDataMismatchError
from ..tasks import get_task

#: What train() accepts: one cell's splits, or cell name -> splits.
Splits = Mapping[str, HistoneData]


@dataclass(frozen=True)
class PooledData:
    """The pooled splits and what the model must remember to read other data the same way."""

    splits: dict[str, HistoneData]
    marks: tuple[str, ...]
    normalization: Normalization
    #: Cell names, in order; ``test_cells[i]`` is the cell of the i-th pooled test gene.
    cells: tuple[str, ...]
    test_cells: np.ndarray


def as_cells(splits: Splits | Mapping[str, Splits], name: str | None = None) -> dict[str, Splits]:
    """``{cell: splits}`` from one cell's splits (named ``name``, default ``cell``) or a mapping of cells."""
    if all(key in splits for key in SPLITS) and all(isinstance(splits[key], HistoneData) for key in SPLITS):
        return {name or "cell": splits}
    return dict(splits)


def pool_cells(cells: Mapping[str, Splits], config: TrainConfig) -> PooledData:
    """Align every cell to the union of their marks, normalise each cell from its own input, and pool the splits.

    Raises
    ------
    ModelDataMismatchError
        When cells differ in bins, or in marks while the model is not trained for missing marks.
    """
    if not cells:
        raise ValueError("no cell to train on")
    names = list(cells)
    first = names[0]
    n_bins = cells[first]["train"].n_bins
    for name in names:
        if cells[name]["train"].n_bins != n_bins:
            raise ModelDataMismatchError(f"cell {name}: has {cells[name]['train'].n_bins} bins per gene but cell {first} has {n_bins}; pooled cells must share their bins")
    marks = union_marks(cells[name]["train"].marks for name in names)
    if not config.missing_marks:
        for name in names:
            lacking = [m for m in marks if mark_key(m) not in {mark_key(k) for k in cells[name]["train"].marks}]
            if lacking:
                raise ModelDataMismatchError(
                    f"cell {name}: has the marks {', '.join(cells[name]['train'].marks)} and lacks {', '.join(lacking)} of the pooled marks; "
                    "cells with different marks pool only into a model trained for missing marks (--mark-dropout P, e.g. 0.1)"
                )
    aligned = {name: {split: align_marks(cells[name][split], marks).data for split in SPLITS} for name in names}
    # The reference of the normalisation: every training cell's input (no labels are read).
    normalization = Normalization.fit(config.normalize, [aligned[n][s].counts for n in names for s in SPLITS], marks)
    normalized = {name: {split: normalization.apply(aligned[name][split], stats_from=list(aligned[name].values())) for split in SPLITS} for name in names}
    pooled = {split: concat_data([normalized[name][split] for name in names]) for split in SPLITS}
    test_cells = np.concatenate([np.full(normalized[name]["test"].n_genes, name, dtype=object) for name in names])
    return PooledData(splits=pooled, marks=marks, normalization=normalization, cells=tuple(names), test_cells=test_cells)


def concat_data(parts: list[HistoneData]) -> HistoneData:
    """The genes of ``parts`` in order, one data set (labels and priors kept where every part has them)."""
    if len(parts) == 1:
        return parts[0]
    def joined(name: str):  # an optional per-gene array: kept only when every cell has it
        values = [getattr(p, name) for p in parts]
        return None if any(v is None for v in values) else np.concatenate(values)

    return HistoneData(
        gene_ids=np.concatenate([p.gene_ids for p in parts]),
        counts=np.concatenate([p.counts for p in parts]),
        labels=joined("labels"),
        marks=parts[0].marks,
        source=", ".join(p.source for p in parts),
        prior=joined("prior"),
        baseline=joined("baseline"),
        orientation=parts[0].orientation if len({p.orientation for p in parts}) == 1 else "unknown",
    )


def attach_reference(cells: Mapping[str, Splits], table: ReferenceTable, config: TrainConfig) -> tuple[dict[str, dict[str, HistoneData]], dict, dict[str, ReferencePrior]]:
    """Each cell's splits with its reference prior attached (``prior`` and ``baseline``), and what the model records.

    Each cell's prior leaves out its own column (named by the cell) and ``config.reference_exclude``.
    A ``fitted`` prior reads the columns every cell may read, so pooled cells share its features.
    For ``task='deviation'`` the targets (log1p expression) become the expression minus the prior.

    Returns the cells, the description the model keeps (:meth:`ReferencePrior.describe`, with
    every cell named) and each cell's prior.
    """
    mode, exclude = config.reference, config.reference_exclude
    common = None
    if mode == "fitted":
        usable = [set(usable_columns(table, name, exclude)) for name in cells]
        common = tuple(c for c in table.columns if all(c in u for u in usable))
        if not common:
            raise ValueError(f"{table.source}: no reference column is usable for every cell ({', '.join(cells)})")
    priors = {name: table.prior_for(name, exclude=exclude, mode=mode, columns=common) for name in cells}
    task = get_task(config.task)
    attached = {}
    for name, splits in cells.items():
        prior = priors[name]
        attached[name] = {}
        for split, data in splits.items():
            features, baseline = prior.read(data.gene_ids, source=data.source)
            labels = data.labels
            if task.needs_reference and labels is not None:  # deviation: the expression minus the prior
                labels = task.targets(labels, baseline).astype(np.float32)
            attached[name][split] = dataclasses.replace(data, prior=features, baseline=baseline.astype(np.float32), labels=labels)
    description = {**next(iter(priors.values())).describe(), "cells": list(cells)}
    return attached, description, priors
