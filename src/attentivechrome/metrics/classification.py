"""Classification metrics via scikit-learn, with errors where a metric is undefined."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from ..exceptions import UndefinedMetricError

__all__ = ["UndefinedMetricError", "aupr", "auroc", "classification_report"]


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve; raises when ``labels`` hold a single class."""
    _check_two_classes(labels, "AUROC")
    return float(roc_auc_score(labels, scores))


def aupr(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve (average precision); raises with a single class."""
    _check_two_classes(labels, "AUPR")
    return float(average_precision_score(labels, scores))


def classification_report(labels: np.ndarray, probabilities: np.ndarray) -> dict[str, float]:
    """AUROC, AUPR, accuracy at 0.5 and the gene count."""
    labels = np.asarray(labels)
    probabilities = np.asarray(probabilities)
    return {
        "auroc": auroc(labels, probabilities),
        "aupr": aupr(labels, probabilities),
        "accuracy": float(np.mean((probabilities >= 0.5) == (labels == 1))),
        "n_genes": int(len(labels)),
    }


def _check_two_classes(labels: np.ndarray, name: str) -> None:
    classes = np.unique(labels)
    if len(classes) < 2:
        raise UndefinedMetricError(f"{name} is undefined: all {len(labels)} labels are {classes[0] if len(classes) else 'absent'}; need both 0 and 1")
