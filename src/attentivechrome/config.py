"""Training settings, validated once: the one place their defaults are written.

The command line's options and :class:`~attentivechrome.estimator.AttentiveChromeClassifier`
read their defaults from :data:`DEFAULTS`; a test checks they agree. This module imports no
heavy library, so the command line can read it at start-up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .data.schema import NORMALIZATIONS, TASKS, TRANSFORMS
from .models.catalog import MISSING_MARK_MODELS, check_model_name


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
    normalize
        Per-cell input normalisation (see :mod:`attentivechrome.data.normalize`): ``none``,
        ``depth`` or ``quantile``, fitted on the training cells and kept in the model. Default ``none``.
    mark_dropout
        Probability of hiding each mark of each training gene in each step (at least one mark is
        kept), so the model learns to predict with a subset of its marks; the model is told which
        marks are absent. Also what lets cells with different marks be pooled. Default 0.
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
    normalize: str = "none"
    mark_dropout: float = 0.0

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
        if self.normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {self.normalize!r}")
        if not 0.0 <= self.mark_dropout < 1.0:
            raise ValueError(f"mark_dropout must be in [0, 1), got {self.mark_dropout}")
        if self.mark_dropout > 0 and self.model not in MISSING_MARK_MODELS:
            raise ValueError(f"mark_dropout needs a model that can be told a mark is absent ({', '.join(MISSING_MARK_MODELS)}), not {self.model!r}")

    @property
    def missing_marks(self) -> bool:
        """Whether the model is built to accept absent marks (it is, when trained with mark dropout)."""
        return self.mark_dropout > 0

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
