"""Per-cell input normalisation: put a new cell's marks on the scale the model was trained on.

Sequencing depth and signal scale differ between cells, so the same counts mean different
things. Each mark is normalised within its cell, from that cell's own input (no labels needed),
towards a reference fitted on the training cells and kept in the model:

- ``none``: counts as they are;
- ``depth``: each mark scaled so its mean over the cell's genes and bins equals the reference
  mean (the training cells' mean): a cell sequenced half as deep is doubled;
- ``quantile``: each mark's values mapped through their rank in the cell onto the reference
  distribution (the training cells' quantiles), so every cell's marks have the training distribution.

A model trained on one cell with ``depth`` or ``quantile`` sees that cell (almost) unchanged;
other cells are moved onto it.
"""

from __future__ import annotations

import dataclasses

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .dataset import HistoneData
from .marks import mark_key
from .schema import NORMALIZATIONS
#: Points of the reference distribution kept per mark for ``quantile``.
N_QUANTILES = 1001


@dataclass(frozen=True)
class Normalization:
    """A fitted per-cell normalisation: its kind and the per-mark reference of the training cells.

    Attributes
    ----------
    kind
        ``none``, ``depth`` or ``quantile``.
    marks
        The marks the reference describes.
    reference_mean
        Per mark: the mean count over the training cells' genes and bins (``depth``).
    reference_quantiles
        Per mark: :data:`N_QUANTILES` evenly spaced quantiles of the training cells' counts (``quantile``).
    """

    kind: str = "none"
    marks: tuple[str, ...] = ()
    reference_mean: tuple[float, ...] = ()
    reference_quantiles: tuple[tuple[float, ...], ...] = ()

    @classmethod
    def fit(cls, kind: str, cells: Sequence[np.ndarray], marks: Sequence[str]) -> Normalization:
        """The reference of ``kind`` from the training cells' counts, each (genes, bins, marks) in ``marks`` order (NaN: absent)."""
        if kind not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {kind!r}")
        if kind == "none":
            return cls(kind="none", marks=tuple(marks))
        means, quantiles = [], []
        grid = np.linspace(0.0, 1.0, N_QUANTILES)
        for j, mark in enumerate(marks):
            values = np.concatenate([c[:, :, j].ravel() for c in cells])
            values = values[~np.isnan(values)]
            if values.size == 0:
                raise ValueError(f"no training cell has mark {mark!r}; cannot fit its reference")
            means.append(float(values.mean()))
            quantiles.append(tuple(float(q) for q in np.quantile(values, grid)) if kind == "quantile" else ())
        return cls(kind=kind, marks=tuple(marks), reference_mean=tuple(means), reference_quantiles=tuple(quantiles) if kind == "quantile" else ())

    def apply(self, data: HistoneData, stats_from: HistoneData | Sequence[HistoneData] | None = None) -> HistoneData:
        """``data`` normalised per mark, with the cell's statistics taken from ``stats_from`` (default: ``data`` itself).

        ``stats_from`` is the cell's whole input when ``data`` is a part of it (a split), so every
        part of a cell is moved the same way. Absent marks (NaN) stay absent.
        """
        if self.kind == "none":
            return data
        sources = [data] if stats_from is None else ([stats_from] if isinstance(stats_from, HistoneData) else list(stats_from))
        index = {mark_key(m): j for j, m in enumerate(self.marks)}
        counts = data.counts.astype(np.float32, copy=True)
        for j, mark in enumerate(data.marks):
            if mark_key(mark) not in index:
                raise ValueError(f"the normalisation has no reference for mark {mark!r}")
            k = index[mark_key(mark)]
            cell = np.concatenate([s.counts[:, :, j].ravel() for s in sources])
            cell = cell[~np.isnan(cell)]
            if cell.size == 0:
                continue  # the mark is absent in this cell
            column = counts[:, :, j]
            if self.kind == "depth":
                mean = float(cell.mean())
                counts[:, :, j] = column * (self.reference_mean[k] / mean) if mean > 0 else column
            else:
                counts[:, :, j] = _quantile_map(column, np.sort(cell), np.asarray(self.reference_quantiles[k]))
        return dataclasses.replace(data, counts=counts)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "marks": list(self.marks), "reference_mean": list(self.reference_mean), "reference_quantiles": [list(q) for q in self.reference_quantiles]}

    @classmethod
    def from_dict(cls, values: dict) -> Normalization:
        return cls(
            kind=values["kind"],
            marks=tuple(values.get("marks", ())),
            reference_mean=tuple(float(v) for v in values.get("reference_mean", ())),
            reference_quantiles=tuple(tuple(float(v) for v in q) for q in values.get("reference_quantiles", ())),
        )


def _quantile_map(values: np.ndarray, cell_sorted: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each value's mid-rank quantile in the cell (ties share one), read off the reference quantiles."""
    below = np.searchsorted(cell_sorted, values, side="left")
    upto = np.searchsorted(cell_sorted, values, side="right")
    u = (below + upto) / (2.0 * len(cell_sorted))  # mid-rank of ties, in (0, 1)
    grid = np.linspace(0.0, 1.0, len(reference))
    out = np.interp(u, grid, reference).astype(np.float32)
    return np.where(np.isnan(values), np.nan, out)
