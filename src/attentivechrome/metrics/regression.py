"""Regression metrics (``--task regression``), with errors where a metric is undefined."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from ..exceptions import UndefinedMetricError


def pearson(targets: np.ndarray, predictions: np.ndarray) -> float:
    """Pearson correlation; raises :class:`UndefinedMetricError` when either side is constant.

    Examples
    --------
    >>> round(pearson(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 7.0])), 4)
    0.9934
    """
    t, p = _pair(targets, predictions, "Pearson correlation")
    t, p = t - t.mean(), p - p.mean()
    return float(np.clip((t @ p) / np.sqrt((t @ t) * (p @ p)), -1.0, 1.0))


def spearman(targets: np.ndarray, predictions: np.ndarray) -> float:
    """Spearman rank correlation (Pearson on average ranks); raises when either side is constant."""
    t, p = _pair(targets, predictions, "Spearman correlation")
    return pearson(rankdata(t), rankdata(p))


def mse(targets: np.ndarray, predictions: np.ndarray) -> float:
    """Mean squared error."""
    t = np.asarray(targets, dtype=np.float64)
    p = np.asarray(predictions, dtype=np.float64)
    if t.shape != p.shape or t.ndim != 1 or len(t) == 0:
        raise ValueError(f"targets and predictions must be equal-length 1-D arrays, got shapes {t.shape} and {p.shape}")
    return float(np.mean((t - p) ** 2))


def regression_report(targets: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """Pearson, Spearman, MSE and the gene count."""
    return {
        "pearson": pearson(targets, predictions),
        "spearman": spearman(targets, predictions),
        "mse": mse(targets, predictions),
        "n_genes": int(len(targets)),
    }


def _pair(targets: np.ndarray, predictions: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(targets, dtype=np.float64)
    p = np.asarray(predictions, dtype=np.float64)
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(f"targets and predictions must be equal-length 1-D arrays, got shapes {t.shape} and {p.shape}")
    for label, values in (("targets", t), ("predictions", p)):
        if len(values) < 2 or np.ptp(values) == 0:
            raise UndefinedMetricError(f"{name} is undefined: the {len(values)} {label} are constant; need at least two different values")
    return t, p
