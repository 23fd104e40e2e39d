"""Class-averaged attention and signal: the profiles of the paper's figures.

Genes are grouped into a "high" and a "low" class, by the model's prediction
(``predicted``: probability >= 0.5), by the prediction's rank (``rank``: the half of the
genes with the higher probabilities, for models whose probabilities are not calibrated on
the data at hand) or by their label, and alpha, beta, the input signal and each method's
bin profile are averaged within each class. :class:`ClassAverager` adds batches
one at a time, so a whole genome is averaged in flat memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..data.schema import DEFAULT_BIN_SIZE
from .explain import Explanation

GroupBy = Literal["predicted", "rank", "label"]

#: Accepted values of ``by``.
GROUPINGS: tuple[str, ...] = ("predicted", "rank", "label")

#: Class names, in the order of the first axis of every averaged array.
CLASSES: tuple[str, str] = ("high", "low")


@dataclass(frozen=True)
class ClassAverages:
    """Per-class means; the first axis of every array is :data:`CLASSES` (high, low).

    Attributes
    ----------
    marks
        Mark names.
    by
        ``predicted`` (probability >= 0.5 is high), ``rank`` (logit >= the median logit of
        the set is high) or ``label``.
    n_genes
        Shape (2,): genes in each class.
    alpha
        Shape (2, marks, bins): mean alpha, or ``None`` without attention.
    beta
        Shape (2, marks): mean beta, or ``None``.
    signal
        Shape (2, marks, bins): mean raw input counts.
    profiles
        Method name -> (2, marks, bins): mean of each gene's absolute map normalised to sum
        to 1 over the bins of each mark (for attention this is alpha itself).
    bin_size
        Base pairs per bin (figures place the bins in kb from the TSS). Default 100.
    orientation
        Which way the bins run (``transcript``, ``genomic`` or ``unknown``): how figures name positions.

    A class without genes holds NaN.
    """

    marks: tuple[str, ...]
    by: str
    n_genes: np.ndarray
    alpha: np.ndarray | None
    beta: np.ndarray | None
    signal: np.ndarray
    profiles: dict[str, np.ndarray] = field(default_factory=dict)
    bin_size: int = DEFAULT_BIN_SIZE
    orientation: str = "unknown"

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Flat name -> array mapping for ``np.savez`` (``profile_<method>`` for profiles)."""
        out = {"classes": np.array(CLASSES), "marks": np.array(self.marks), "by": np.array(self.by), "n_genes": self.n_genes, "signal": self.signal, "bin_size": np.array(self.bin_size), "orientation": np.array(self.orientation)}
        if self.alpha is not None:
            out["alpha"] = self.alpha
        if self.beta is not None:
            out["beta"] = self.beta
        for method, value in self.profiles.items():
            out[f"profile_{method}"] = value
        return out


class ClassAverager:
    """Accumulate class means over batches of :class:`Explanation`.

    Parameters
    ----------
    by
        Group by ``predicted`` class (default), by ``rank`` or by true ``label``.
    threshold
        The logit from which a gene counts as high: 0 for ``predicted`` (the default when
        ``None``); required for ``rank`` (the median logit of the whole set); unused for ``label``.
    bin_size
        Base pairs per bin, kept with the result for its figures. Default 100.
    orientation
        Which way the bins run, kept with the result for its figures. Default ``unknown``.
    """

    def __init__(self, by: GroupBy = "predicted", *, threshold: float | None = None, bin_size: int = DEFAULT_BIN_SIZE, orientation: str = "unknown") -> None:
        self.by = by
        self.threshold = threshold
        self.bin_size = bin_size
        self.orientation = orientation

    def add(self, explanation: Explanation, counts: np.ndarray) -> None:
        """Add a batch: its explanation and its raw counts (genes, bins, marks)."""
        if self.by not in GROUPINGS:
            raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {self.by!r}")
        if self.by == "rank" and self.threshold is None:
            raise ValueError("grouping by rank needs the threshold: the median logit of the whole set")
        high = _high_mask(explanation, self.by, 0.0 if self.threshold is None else self.threshold)
        groups = (high, ~high)
        signal = np.asarray(counts, dtype=np.float64).transpose(0, 2, 1)  # (genes, bins, marks) -> (genes, marks, bins)
        if not hasattr(self, "n_genes_"):
            self.marks_ = explanation.marks
            self.n_genes_ = np.zeros(2, dtype=np.int64)
            self.signal_ = np.zeros((2,) + signal.shape[1:])
            self.alpha_ = None if explanation.alpha is None else np.zeros((2,) + explanation.alpha.shape[1:])
            self.beta_ = None if explanation.beta is None else np.zeros((2,) + explanation.beta.shape[1:])
            self.profiles_ = {m: np.zeros((2,) + signal.shape[1:]) for m in explanation.methods}
        for k, members in enumerate(groups):
            self.n_genes_[k] += int(members.sum())
            self.signal_[k] += signal[members].sum(axis=0)
            if self.alpha_ is not None:
                self.alpha_[k] += explanation.alpha[members].sum(axis=0, dtype=np.float64)
            if self.beta_ is not None:
                self.beta_[k] += explanation.beta[members].sum(axis=0, dtype=np.float64)
            for method, acc in self.profiles_.items():
                acc[k] += bin_profile(explanation.maps[method][members]).sum(axis=0)

    def result(self) -> ClassAverages:
        """The class means of everything added so far."""
        if not hasattr(self, "n_genes_"):
            raise ValueError("no genes were added")
        denominator = np.where(self.n_genes_ > 0, self.n_genes_, np.nan)

        def mean(total):
            return None if total is None else total / denominator.reshape((2,) + (1,) * (total.ndim - 1))

        return ClassAverages(
            marks=self.marks_,
            by=self.by,
            n_genes=self.n_genes_.copy(),
            alpha=mean(self.alpha_),
            beta=mean(self.beta_),
            signal=mean(self.signal_),
            profiles={m: mean(v) for m, v in self.profiles_.items()},
            bin_size=self.bin_size,
            orientation=self.orientation,
        )


def class_averages(
    explanation: Explanation, counts: np.ndarray, *, by: GroupBy = "predicted", bin_size: int = DEFAULT_BIN_SIZE, orientation: str = "unknown"
) -> ClassAverages:
    """Class means of an in-memory :class:`Explanation` and its raw counts (genes, bins, marks); ``orientation`` names the bin order for the figures."""
    threshold = float(np.median(explanation.logits)) if by == "rank" else None
    averager = ClassAverager(by, threshold=threshold, bin_size=bin_size, orientation=orientation)
    averager.add(explanation, counts)
    return averager.result()


def bin_profile(values: np.ndarray) -> np.ndarray:
    """|map| normalised to sum to 1 over the bins of each (gene, mark): (genes, marks, bins), float64.

    A (gene, mark) whose map is all zero gets a flat profile.
    """
    magnitude = np.abs(values).astype(np.float64)
    totals = magnitude.sum(axis=2, keepdims=True)
    n_bins = values.shape[2]
    return np.where(totals > 0, magnitude / np.where(totals > 0, totals, 1.0), 1.0 / n_bins)


def class_legend(by: str, cls: str) -> str:
    """How a class is named in legends: ``predicted high``, ``ranked high``, ``label high``."""
    return {"predicted": "predicted", "rank": "ranked", "label": "label"}.get(by, by) + f" {cls}"


def _high_mask(explanation: Explanation, by: str, threshold: float) -> np.ndarray:
    if by == "label":
        if explanation.labels is None:
            raise ValueError("cannot group by label: the genes have no labels; group by predicted class or rank")
        return np.asarray(explanation.labels) == 1
    return explanation.logits >= threshold  # predicted: threshold 0, i.e. probability >= 0.5
