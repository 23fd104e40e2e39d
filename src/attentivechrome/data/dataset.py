"""The in-memory data set and the data-directory layout."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import InputFormatError
from .schema import SPLITS, TRANSFORMS


@dataclass(frozen=True)
class HistoneData:
    """Histone-mark counts of a set of genes.

    Attributes
    ----------
    gene_ids
        Gene identifiers, shape (genes,).
    counts
        Read counts, float32 array of shape (genes, bins, marks).
    labels
        0/1 expression labels of shape (genes,), or ``None`` for unlabelled genes. For
        ``--task regression`` (see :mod:`attentivechrome.data.expression`) they hold float
        targets, ``log1p(expression)``, instead.
    marks
        Mark names in the order of the last axis of ``counts``.
    source
        Where the data came from (a path), for messages.
    """

    gene_ids: np.ndarray
    counts: np.ndarray
    labels: np.ndarray | None
    marks: tuple[str, ...]
    source: str = ""
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.counts.ndim != 3:
            raise ValueError(f"counts must have shape (genes, bins, marks), got {self.counts.shape}")
        if len(self.gene_ids) != self.counts.shape[0]:
            raise ValueError(f"{len(self.gene_ids)} gene ids for {self.counts.shape[0]} genes")
        if self.counts.shape[2] != len(self.marks):
            raise ValueError(f"{len(self.marks)} mark names for {self.counts.shape[2]} mark columns")
        if self.labels is not None and len(self.labels) != len(self.gene_ids):
            raise ValueError(f"{len(self.labels)} labels for {len(self.gene_ids)} genes")

    @property
    def n_genes(self) -> int:
        return int(self.counts.shape[0])

    @property
    def n_bins(self) -> int:
        return int(self.counts.shape[1])

    @property
    def n_marks(self) -> int:
        return int(self.counts.shape[2])

    @property
    def has_labels(self) -> bool:
        return self.labels is not None

    def subset(self, index: np.ndarray | slice) -> HistoneData:
        """The genes selected by ``index`` (an index array, boolean mask or slice)."""
        return HistoneData(
            gene_ids=self.gene_ids[index],
            counts=self.counts[index],
            labels=None if self.labels is None else self.labels[index],
            marks=self.marks,
            source=self.source,
        )

    def __len__(self) -> int:
        return self.n_genes


def apply_transform(counts: np.ndarray, transform: str) -> np.ndarray:
    """Apply an input transform (``none`` keeps raw counts, as the original code; ``log1p``)."""
    if transform == "none":
        return counts
    if transform == "log1p":
        return np.log1p(counts)
    raise ValueError(f"unknown transform {transform!r}; choose one of {', '.join(TRANSFORMS)}")


def split_paths(data_dir: str | Path) -> dict[str, Path]:
    """Locate ``train/valid/test.csv`` (or ``.csv.gz``) in ``data_dir`` or ``data_dir/classification``.

    Raises
    ------
    InputFormatError
        When the directory does not exist or lacks a split file.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputFormatError(data_dir, None, "is not a directory; expected train.csv, valid.csv and test.csv inside")
    for root in (data_dir, data_dir / "classification"):
        found = {}
        for split in SPLITS:
            for name in (f"{split}.csv", f"{split}.csv.gz"):
                if (root / name).is_file():
                    found[split] = root / name
                    break
        if len(found) == len(SPLITS):
            return found
    missing = [s for s in SPLITS if not any((r / f"{s}.csv").is_file() or (r / f"{s}.csv.gz").is_file() for r in (data_dir, data_dir / "classification"))]
    raise InputFormatError(
        data_dir, None, f"missing {', '.join(m + '.csv' for m in missing)} (looked in the directory and in classification/)"
    )


def load_splits(data_dir: str | Path, *, cache: bool = False) -> dict[str, HistoneData]:
    """Read the train, valid and test splits of a data directory; all must share bins and labels.

    With ``cache=True`` each file is read through :func:`attentivechrome.data.read_csv_cached`
    (a binary copy keyed by the file's size and mtime), which returns the same data.
    """
    from ._cache import read_csv_cached
    from .csv_io import read_csv

    paths = split_paths(data_dir)
    read = read_csv_cached if cache else read_csv
    splits = {name: read(path) for name, path in paths.items()}
    n_bins = splits["train"].n_bins
    for name, data in splits.items():
        if data.n_bins != n_bins:
            raise InputFormatError(paths[name], None, f"has {data.n_bins} bins per gene but train has {n_bins}")
        if not data.has_labels:
            raise InputFormatError(paths[name], 1, "has no label column; training splits need labels")
    return splits
