"""Marks by name: match a data set's columns to the marks a model reads.

Mark names are compared case-insensitively. A mark the data lack becomes a column of NaN: the
package's one way of saying "absent" (zero would mean "no reads"), which only models trained for
missing marks accept (see :class:`attentivechrome.models.AttentiveChrome` ``missing_marks``).
"""

from __future__ import annotations

import dataclasses

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .dataset import HistoneData
from .schema import MARKS


@dataclass(frozen=True)
class MarkMatch:
    """How a data set's marks meet a wanted list: the aligned data and what differed."""

    data: HistoneData
    #: Marks of the data that the wanted list does not name (dropped).
    extra: tuple[str, ...]
    #: Wanted marks the data lack (NaN columns in ``data``).
    missing: tuple[str, ...]


def mark_key(name: str) -> str:
    """The form mark names are compared in."""
    return name.strip().lower()


def align_marks(data: HistoneData, marks: Sequence[str]) -> MarkMatch:
    """``data`` with its mark columns in the order of ``marks``, matched by name.

    Marks the data have but ``marks`` do not name are dropped; marks the data lack become NaN
    columns. The returned data carry the names as ``marks`` spells them.
    """
    position = {mark_key(m): j for j, m in enumerate(data.marks)}
    wanted = [mark_key(m) for m in marks]
    missing = tuple(m for m, key in zip(marks, wanted) if key not in position)
    extra = tuple(m for m in data.marks if mark_key(m) not in set(wanted))
    if not missing and not extra and [mark_key(m) for m in data.marks] == wanted:
        aligned = data if tuple(data.marks) == tuple(marks) else _with_counts(data, data.counts, marks)
        return MarkMatch(aligned, (), ())
    counts = np.full((data.n_genes, data.n_bins, len(marks)), np.nan, dtype=np.float32)  # (genes, bins, wanted marks)
    for j, key in enumerate(wanted):
        if key in position:
            counts[:, :, j] = data.counts[:, :, position[key]]
    return MarkMatch(_with_counts(data, counts, marks), extra, missing)


def union_marks(mark_lists: Iterable[Sequence[str]]) -> tuple[str, ...]:
    """Every mark of the lists once: the standard five first (in their order), then the others as first seen."""
    seen: dict[str, str] = {}
    for marks in mark_lists:
        for mark in marks:
            seen.setdefault(mark_key(mark), mark)
    standard = [m for m in MARKS if mark_key(m) in seen]
    others = [name for key, name in seen.items() if key not in {mark_key(m) for m in MARKS}]
    return tuple(seen[mark_key(m)] for m in standard) + tuple(others)


def absent_marks(counts: np.ndarray) -> np.ndarray:
    """Bool (genes, marks): True where a gene's mark is absent (every bin NaN); counts are (genes, bins, marks)."""
    return np.isnan(counts).all(axis=1)


def _with_counts(data: HistoneData, counts: np.ndarray, marks: Sequence[str]) -> HistoneData:
    return dataclasses.replace(data, counts=counts, marks=tuple(marks))
