"""The in-memory data set (the data-directory layout lives in :mod:`attentivechrome.data.layout`)."""

from __future__ import annotations

from dataclasses import dataclass, field
import numpy as np

from .schema import TRANSFORMS


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
    prior
        Reference-prior features of each gene, float32 (genes, features), or ``None``: what a
        reference-informed model reads beside the marks (see :mod:`attentivechrome.data.reference`;
        the first feature is the gene's mean prior expression). Attached by
        :meth:`~attentivechrome.trained.TrainedModel.prepare` and by training.
    baseline
        The prior expression of each gene, log(RPKM + 1) (genes,), or ``None``: what
        ``--task deviation`` subtracts from the expression, and adds back to rebuild it.
    orientation
        Which way the bins run: ``transcript`` (5'->3' along each gene), ``genomic`` (increasing
        coordinate) or ``unknown`` (default); see :mod:`attentivechrome.data.orientation`.
    """

    gene_ids: np.ndarray
    counts: np.ndarray
    labels: np.ndarray | None
    marks: tuple[str, ...]
    source: str = ""
    extra: dict = field(default_factory=dict, compare=False, repr=False)
    prior: np.ndarray | None = field(default=None, compare=False, repr=False)
    baseline: np.ndarray | None = field(default=None, compare=False, repr=False)
    orientation: str = field(default="unknown", compare=False)

    def __post_init__(self) -> None:
        if self.counts.ndim != 3:
            raise ValueError(f"counts must have shape (genes, bins, marks), got {self.counts.shape}")
        if len(self.gene_ids) != self.counts.shape[0]:
            raise ValueError(f"{len(self.gene_ids)} gene ids for {self.counts.shape[0]} genes")
        if self.counts.shape[2] != len(self.marks):
            raise ValueError(f"{len(self.marks)} mark names for {self.counts.shape[2]} mark columns")
        if self.labels is not None and len(self.labels) != len(self.gene_ids):
            raise ValueError(f"{len(self.labels)} labels for {len(self.gene_ids)} genes")
        for name in ("prior", "baseline"):
            value = getattr(self, name)
            if value is not None and len(value) != len(self.gene_ids):
                raise ValueError(f"{len(value)} {name} rows for {len(self.gene_ids)} genes")

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
            prior=None if self.prior is None else self.prior[index],
            baseline=None if self.baseline is None else self.baseline[index],
            orientation=self.orientation,
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
