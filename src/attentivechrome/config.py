"""Training settings, validated once: the one place their defaults are written.

The command line's options and :class:`~attentivechrome.estimator.AttentiveChromeClassifier`
read their defaults from :data:`DEFAULTS`; a test checks they agree. This module imports no
heavy library, so the command line can read it at start-up.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields

from .data.schema import NORMALIZATIONS, TASKS, TRANSFORMS
from .models.catalog import MISSING_MARK_MODELS, check_model_name


@dataclass(frozen=True)
class Number:
    """What a numeric setting accepts: a finite real (or an integer) within bounds; ``None`` leaves a side open.

    ``low_open``/``high_open``: the bound itself is excluded.
    """

    integer: bool = False
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a finite number"
        low, high = (v if v is None or isinstance(v, int) else f"{v:g}" for v in (self.low, self.high))
        if self.low is not None and self.high is not None:
            return f"{kind} in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{kind} {'>' if self.low_open else '>='} {low}"
        if self.high is not None:
            return f"{kind} {'<' if self.high_open else '<='} {high}"
        return kind

    def accepts(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or (self.integer and not isinstance(value, numbers.Integral)):
            return False
        if not math.isfinite(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)


def check_settings(settings, numeric: dict[str, Number], text: tuple[str, ...] = ()) -> None:
    """The one check of numeric settings (and of the type of text ones), for every place that takes them.

    ``settings`` is any object with the named attributes (a :class:`TrainConfig`, parsed options).
    A value that is not a finite real number of the right kind and range -- ``inf``, ``nan``, a
    string, a bool, a tensor -- is refused up front, naming the setting, what it accepts and what it got.

    Raises
    ------
    ValueError
        Naming the first setting that does not fit.
    """
    for name, rule in numeric.items():
        value = getattr(settings, name)
        if not rule.accepts(value):
            raise ValueError(f"{name} must be {rule.describe()}, got {value!r}")
    for name in text:
        value = getattr(settings, name)
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {type(value).__name__} {value!r:.60}")


#: The numeric training settings and what each accepts (seeds: what NumPy's seeding takes).
NUMERIC_SETTINGS: dict[str, Number] = {
    "lr": Number(low=0, low_open=True),
    "batch_size": Number(integer=True, low=1),
    "epochs": Number(integer=True, low=1),
    "clip": Number(low=0, low_open=True),
    "seed": Number(integer=True, low=0, high=2**32 - 1),
    "eval_batch_size": Number(integer=True, low=1),
    "mark_dropout": Number(low=0, high=1, high_open=True),
}
#: The training settings that are names.
TEXT_SETTINGS: tuple[str, ...] = ("model", "transform", "device", "task", "normalize")


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
        check_settings(self, NUMERIC_SETTINGS, TEXT_SETTINGS)
        check_model_name(self.model)
        if self.transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {', '.join(TRANSFORMS)}, got {self.transform!r}")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {self.normalize!r}")
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
