"""attentivechrome: predict gene expression from histone marks and explain each prediction.

A re-implementation of AttentiveChrome (Singh et al., NeurIPS 2017) that returns its
attention maps, loads the published weights, and trains fast on a CPU.

The public names below are imported from their modules on first use (PEP 562), so that
``import attentivechrome`` (and the command line's start-up) does not pay for PyTorch,
scikit-learn or pandas until a name that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

#: Public name -> (module relative to this package, attribute in that module).
_EXPORTS: dict[str, tuple[str, str]] = {
    # data
    "MARKS": (".data.schema", "MARKS"),
    "HistoneData": (".data.dataset", "HistoneData"),
    "read_csv": (".data.csv_io", "read_csv"),
    "write_csv": (".data.csv_io", "write_csv"),
    "load_splits": (".data.layout", "load_splits"),
    "load_truth": (".data.synthetic", "load_truth"),
    "simulate": (".data.synthetic", "simulate"),
    "write_simulation": (".data.synthetic", "write_simulation"),
    # errors
    "AttentiveChromeError": (".exceptions", "AttentiveChromeError"),
    "CheckpointError": (".exceptions", "CheckpointError"),
    "InputFormatError": (".exceptions", "InputFormatError"),
    "NotFittedError": (".exceptions", "NotFittedError"),
    # settings
    "DEFAULTS": (".config", "DEFAULTS"),
    "TrainConfig": (".config", "TrainConfig"),
    # metrics
    "aupr": (".metrics.classification", "aupr"),
    "auroc": (".metrics.classification", "auroc"),
    "classification_report": (".metrics.classification", "classification_report"),
    # models
    "AttentiveChrome": (".models", "AttentiveChrome"),
    "ModelOutput": (".models", "ModelOutput"),
    "available_models": (".model_catalog", "available_models"),
    "get_model": (".models", "get_model"),
    "save_checkpoint": (".models.checkpoint", "save_checkpoint"),
    "Ensemble": (".models.ensemble", "Ensemble"),
    # prediction and explanation
    "Predictions": (".inference", "Predictions"),
    "predict": (".trained", "predict"),
    "Explanation": (".interpret.explain", "Explanation"),
    "ExplainOptions": (".interpret.explain", "ExplainOptions"),
    "explain": (".trained", "explain"),
    "faithfulness": (".workflows.faithfulness", "faithfulness"),
    "FaithfulnessResult": (".interpret.faithfulness", "FaithfulnessResult"),
    # trained models
    "TrainedModel": (".trained", "TrainedModel"),
    "load_model": (".trained", "load_model"),
    "ensemble": (".trained", "ensemble"),
    # stability across retraining
    "stability": (".interpret.stability", "stability"),
    "model_stability": (".workflows.stability", "model_stability"),
    # training
    "train": (".training.trainer", "train"),
    "TrainingResult": (".training.result", "TrainingResult"),
    "AttentiveChromeClassifier": (".estimator", "AttentiveChromeClassifier"),
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name, __name__), attribute)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return list(__all__)


if TYPE_CHECKING:  # for type checkers and IDEs; never run
    from .config import DEFAULTS, TrainConfig
    from .data.csv_io import read_csv, write_csv
    from .data.dataset import HistoneData
    from .data.layout import load_splits
    from .data.schema import MARKS
    from .data.synthetic import load_truth, simulate, write_simulation
    from .estimator import AttentiveChromeClassifier
    from .exceptions import AttentiveChromeError, CheckpointError, InputFormatError, NotFittedError
    from .inference import Predictions
    from .interpret.explain import ExplainOptions, Explanation
    from .interpret.faithfulness import FaithfulnessResult
    from .metrics.classification import aupr, auroc, classification_report
    from .models import AttentiveChrome, ModelOutput, get_model
    from .model_catalog import available_models
    from .models.checkpoint import save_checkpoint
    from .trained import TrainedModel, explain, load_model, predict
    from .training.result import TrainingResult
    from .training.trainer import train
    from .workflows.faithfulness import faithfulness
