"""Bootstrap over genes: percentile intervals of a test metric, vectorised over resamples.

Resampling the test genes with replacement and recomputing the metric on each resample
shows how much the number depends on which genes happened to be in the test split. With
the same resample indices for every model of a cell, differences between models are
paired (:func:`bootstrap_distribution` + :func:`percentile_interval`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

#: Default number of bootstrap resamples.
N_BOOTSTRAP = 1000


def bootstrap_indices(n_genes: int, n_boot: int = N_BOOTSTRAP, *, seed: int = 0) -> np.ndarray:
    """Resample indices of shape (n_boot, n_genes), drawn with replacement."""
    if n_genes < 2:
        raise ValueError(f"need at least 2 genes to bootstrap, got {n_genes}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot}")
    return np.random.default_rng(seed).integers(0, n_genes, size=(n_boot, n_genes))


def auroc_rows(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUROC of each row of (rows, genes) arrays (ties count one half); NaN for a row with one class."""
    labels = np.asarray(labels).astype(bool)
    ranks = rankdata(np.asarray(scores, dtype=np.float64), axis=1)  # average ranks handle ties
    n_pos = labels.sum(axis=1)
    n_neg = labels.shape[1] - n_pos
    rank_sum = np.where(labels, ranks, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), value, np.nan)


def pearson_rows(targets: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of (rows, genes) arrays; NaN where a row is constant."""
    t = np.asarray(targets, dtype=np.float64)
    p = np.asarray(predictions, dtype=np.float64)
    t = t - t.mean(axis=1, keepdims=True)
    p = p - p.mean(axis=1, keepdims=True)
    denominator = np.sqrt((t * t).sum(axis=1) * (p * p).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (t * p).sum(axis=1) / denominator, np.nan)


def spearman_rows(targets: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row (Pearson on average ranks)."""
    return pearson_rows(rankdata(targets, axis=1), rankdata(predictions, axis=1))


def mse_rows(targets: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Mean squared error of each row."""
    return np.mean((np.asarray(targets, dtype=np.float64) - np.asarray(predictions, dtype=np.float64)) ** 2, axis=1)


#: Row-wise metrics by name (higher is better for all but ``mse``).
ROW_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "auroc": auroc_rows,
    "pearson": pearson_rows,
    "spearman": spearman_rows,
    "mse": mse_rows,
}


def bootstrap_distribution(targets: np.ndarray, scores: np.ndarray, metric: str, index: np.ndarray) -> np.ndarray:
    """The metric on each resample, averaged over seeds.

    Parameters
    ----------
    targets
        Labels or regression targets of the test genes, shape (genes,).
    scores
        Predictions of shape (genes,) or (seeds, genes): one row per trained seed.
    metric
        A name in :data:`ROW_METRICS`.
    index
        Resample indices of shape (n_boot, genes), e.g. from :func:`bootstrap_indices`.

    Returns
    -------
    numpy.ndarray
        Shape (n_boot,): the mean over seeds of the metric on each resample (NaN where undefined).
    """
    try:
        row_metric = ROW_METRICS[metric]
    except KeyError:
        raise ValueError(f"unknown metric {metric!r}; choose one of {', '.join(ROW_METRICS)}") from None
    targets = np.asarray(targets)
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))  # (seeds, genes)
    if scores.shape[1] != len(targets) or index.ndim != 2 or (index.size and index.max() >= len(targets)):
        raise ValueError(f"scores {scores.shape}, targets {targets.shape} and index {index.shape} do not fit together")
    resampled_targets = targets[index]  # (n_boot, genes)
    per_seed = np.stack([row_metric(resampled_targets, row[index]) for row in scores])  # (seeds, n_boot)
    return per_seed.mean(axis=0)


def percentile_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` percentile interval of ``values``, ignoring NaN."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def bootstrap_interval(
    targets: np.ndarray, scores: np.ndarray, metric: str, *, n_boot: int = N_BOOTSTRAP, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval over genes of ``metric`` (averaged over seeds when ``scores`` is 2-D).

    Examples
    --------
    >>> labels = np.array([0, 0, 1, 1] * 25)
    >>> low, high = bootstrap_interval(labels, labels + np.linspace(0, 0.5, 100), "auroc")
    >>> low <= 1.0 <= high
    True
    """
    index = bootstrap_indices(len(targets), n_boot, seed=seed)
    return percentile_interval(bootstrap_distribution(targets, scores, metric, index), level)
