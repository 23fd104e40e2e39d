"""Training settings, validated once: the one place their defaults are written.

The command line's options and :class:`~attentivechrome.estimator.AttentiveChromeClassifier`
read their defaults from :data:`DEFAULTS`; a test checks they agree. This module imports no
heavy library, so the command line can read it at start-up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .data.schema import TASKS, TRANSFORMS
from .models.catalog import check_model_name


@dataclass
class TrainConfig:
    """Hyper-parameters of a training run. Defaults are the original AttentiveChrome's.

    Attributes
    ----------
    model
        Registry name of the model. Default ``attentivechrome``.
    lr
        Adam learning rate. Default 2e-4.
    batch_size
        Genes per optimisation step. Default 16.
    epochs
        Passes over the training genes. Default 30.
    clip
        Maximum gradient norm. Default 1.
    seed
        Seeds the initial weights and the order of the training genes. Default 1.
    transform
        Input transform: ``none`` (raw counts) or ``log1p``. Default ``none``.
    device
        ``auto`` (CUDA when available), ``cpu`` or ``cuda``. Default ``auto``.
    eval_batch_size
        Genes per forward pass when scoring valid and test. Default 256.
    task
        ``classification`` (binary cross-entropy; the epoch is selected on validation AUROC) or
        ``regression`` (mean squared error on standardised targets; selected on validation Pearson
        correlation). Default ``classification``.
    """

    model: str = "attentivechrome"
    lr: float = 2e-4
    batch_size: int = 16
    epochs: int = 30
    clip: float = 1.0
    seed: int = 1
    transform: str = "none"
    device: str = "auto"
    eval_batch_size: int = 256
    task: str = "classification"

    def __post_init__(self) -> None:
        check_model_name(self.model)
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        for name in ("batch_size", "epochs", "eval_batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not self.clip > 0:
            raise ValueError(f"clip must be > 0, got {self.clip}")
        if self.transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {', '.join(TRANSFORMS)}, got {self.transform!r}")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """A config from :meth:`to_dict` output; keys this version does not know are ignored."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


#: The default settings (the original AttentiveChrome's), read by the CLI and the estimator.
DEFAULTS = TrainConfig()

__all__ = ["DEFAULTS", "TASKS", "TrainConfig"]
