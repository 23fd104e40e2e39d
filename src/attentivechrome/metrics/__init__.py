"""Pure metrics: classification, regression and bootstrap intervals over genes.

The bottom layer of the package: it imports nothing of ours above :mod:`attentivechrome.exceptions`,
so models, training, interpretation and the experiment runners can all use it.
"""

from ..exceptions import UndefinedMetricError
from .classification import aupr, auroc, classification_report
from .regression import mse, pearson, regression_report, spearman

__all__ = ["UndefinedMetricError", "aupr", "auroc", "classification_report", "mse", "pearson", "regression_report", "spearman"]
