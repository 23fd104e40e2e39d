"""attentivechrome: predict gene expression from histone marks and explain each prediction.

A re-implementation of AttentiveChrome (Singh et al., NeurIPS 2017) that returns its
attention maps, loads the published weights, and trains fast on a CPU.
"""

from ._version import __version__
from .data import MARKS, HistoneData, load_splits, read_csv, write_csv
from .data.synthetic import load_truth, simulate, write_simulation
from .estimator import AttentiveChromeClassifier
from .evaluation.metrics import aupr, auroc, classification_report
from .exceptions import AttentiveChromeError, CheckpointError, InputFormatError, NotFittedError
from .inference import Predictions, predict
from .interpret import Explanation, explain
from .models import AttentiveChrome, ModelOutput, available_models, get_model
from .models.checkpoint import load_checkpoint, save_checkpoint
from .training.config import TrainConfig
from .training.trainer import TrainResult, train

__all__ = [
    "MARKS",
    "AttentiveChrome",
    "AttentiveChromeClassifier",
    "AttentiveChromeError",
    "CheckpointError",
    "Explanation",
    "HistoneData",
    "InputFormatError",
    "ModelOutput",
    "NotFittedError",
    "Predictions",
    "TrainConfig",
    "TrainResult",
    "__version__",
    "aupr",
    "auroc",
    "available_models",
    "classification_report",
    "explain",
    "get_model",
    "load_checkpoint",
    "load_splits",
    "load_truth",
    "predict",
    "read_csv",
    "save_checkpoint",
    "simulate",
    "train",
    "write_csv",
    "write_simulation",
]
