"""The trained model: the network with everything needed to use it, the one object every entry point holds.

A :class:`TrainedModel` carries the ``nn.Module`` together with the marks and bin count it reads,
its task, how its outputs are decoded (the regression target scale) and the settings it was
trained with. :func:`attentivechrome.train` returns one, :func:`load_model` reads one from a run
directory, a checkpoint file or a published cell name, and the estimator, the command line,
``interpret``, ``benchmark`` and ``train-many`` all go through it. Its :meth:`~TrainedModel.check`
is the one place that decides whether data fit the model, and :meth:`~TrainedModel.predict`
and :meth:`~TrainedModel.explain` return outputs on the task's own scale (probabilities, or
log1p expression for regression).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import TrainConfig
from .data.dataset import HistoneData
from .data.schema import TASKS
from .exceptions import BinCountWarning, ModelDataMismatchError
from .inference import INFERENCE_BATCH_SIZE, Predictions
from .inference import predict as predict_module
from .interpret.explain import DEFAULT_BATCH_SIZE, Explanation, as_histone_data, iter_explanations
from .models.checkpoint import CheckpointContents, read_checkpoint, resolve_checkpoint, save_checkpoint
from .models.registry import model_name_of


@dataclass(frozen=True)
class TargetScale:
    """How regression targets were standardised for training: ``(y - mean) / std``.

    The network predicts standardised values; :meth:`decode` puts them back on the
    log1p-expression scale.
    """

    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def fit(cls, targets: np.ndarray) -> TargetScale:
        """The mean and deviation of the training targets.

        Raises
        ------
        ValueError
            When the targets hold at most two values (0/1 labels passed to a regression).
        """
        values = np.asarray(targets, dtype=np.float64)
        if len(np.unique(values)) <= 2:
            raise ValueError(
                "regression needs real-valued targets but the training labels hold at most two values; "
                "load the splits with attentivechrome.data.load_splits(..., task='regression') (log1p of expression.csv)"
            )
        return cls(mean=float(values.mean()), std=float(values.std()) or 1.0)

    def encode(self, y):
        return (y - self.mean) / self.std

    def decode(self, y):
        return y * self.std + self.mean

    def to_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "std": self.std}


@dataclass
class TrainingRecord:
    """How a model came out of :func:`attentivechrome.train`: the selected epoch, its scores and the history."""

    best_epoch: int
    scores: dict[str, float] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    out_dir: Path | None = None


@dataclass
class TrainedModel:
    """A network ready to use: the module and what it reads, predicts and was trained with.

    Attributes
    ----------
    module
        The ``nn.Module`` (returns :class:`~attentivechrome.models.ModelOutput`).
    model_name
        Its registry name (``attentivechrome``, ``deepchrome``, ...).
    marks
        The marks it reads, in the order of the input's last axis.
    n_bins
        Bins per gene it was trained on, or ``None`` when unknown.
    task
        ``classification`` (outputs are log-odds of high expression) or ``regression``
        (outputs are log1p expression once decoded).
    target_scale
        Regression only: how the targets were standardised; ``None`` for classification.
    config
        The training settings, when known (models trained by this package).
    epoch
        The selected epoch, when known.
    source
        Where the model was loaded from, for messages.
    legacy
        Whether it came from an original AttentiveChrome state_dict.
    record
        Set by :func:`attentivechrome.train`: the selected epoch's scores and the history.
    """

    module: nn.Module
    model_name: str
    marks: tuple[str, ...]
    n_bins: int | None = None
    task: str = "classification"
    target_scale: TargetScale | None = None
    config: TrainConfig | None = None
    epoch: int | None = None
    source: str = ""
    legacy: bool = False
    record: TrainingRecord | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.task == "regression" and self.target_scale is None:
            self.target_scale = TargetScale()
        self.marks = tuple(self.marks)

    # ------------------------------------------------------------------ what it is

    @property
    def model(self) -> nn.Module:
        """The module (the name the loaded checkpoints of earlier versions used)."""
        return self.module

    @property
    def transform(self) -> str:
        """The input transform the module applies to raw counts (``none`` or ``log1p``)."""
        return getattr(self.module, "transform", "none")

    # The scores of a model returned by train(), as TrainResult carried them.
    @property
    def best_epoch(self) -> int:
        return self._record().best_epoch

    @property
    def scores(self) -> dict[str, float]:
        """The selected epoch's validation and test metrics."""
        return self._record().scores

    @property
    def valid_auroc(self) -> float:
        return self.scores.get("valid_auroc", float("nan"))

    @property
    def test_auroc(self) -> float:
        return self.scores.get("test_auroc", float("nan"))

    @property
    def test_aupr(self) -> float:
        return self.scores.get("test_aupr", float("nan"))

    @property
    def history(self) -> list[dict]:
        return self._record().history

    @property
    def seconds(self) -> float:
        return self._record().seconds

    @property
    def out_dir(self) -> Path | None:
        return self._record().out_dir

    def _record(self) -> TrainingRecord:
        if self.record is None:
            raise AttributeError(f"{self.source or 'this model'} was loaded, not trained in this session; its training scores are in its run directory")
        return self.record

    # ------------------------------------------------------------------ using it

    def check(self, data: HistoneData) -> HistoneData:
        """Check that ``data`` fit the model and return them as the module reads them.

        This is the one place that decides: the data must hold as many marks as the model
        reads; another bin count than the model was trained on gives a :class:`BinCountWarning`.

        Raises
        ------
        ModelDataMismatchError
            When the mark count differs.
        """
        if data.n_marks != len(self.marks):
            raise ModelDataMismatchError(
                f"{data.source or 'the data'}: has {data.n_marks} marks but the model expects {len(self.marks)} ({', '.join(self.marks)})"
            )
        if self.n_bins is not None and data.n_bins != self.n_bins:
            warnings.warn(
                f"{data.source or 'the data'} has {data.n_bins} bins per gene; the model was trained on {self.n_bins}", BinCountWarning, stacklevel=2
            )
        return data

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """The module's raw outputs on the task's scale: log-odds unchanged, regression values de-standardised."""
        return outputs if self.task == "classification" else self.target_scale.decode(outputs)

    def predict(
        self,
        data,
        *,
        batch_size: int = INFERENCE_BATCH_SIZE,
        device: str | torch.device = "cpu",
        with_attention: bool = True,
    ) -> Predictions:
        """Predict every gene of ``data`` (checked by :meth:`check`), decoded for the task.

        ``Predictions.values`` are probabilities of high expression (classification) or log1p
        expression (regression); alpha and beta come back when the model has them.
        """
        data = self.check(as_histone_data(data))
        raw = predict_module(self.module, data, batch_size=batch_size, device=device, with_attention=with_attention)
        return Predictions(
            gene_ids=raw.gene_ids,
            logits=self.decode(raw.logits),
            labels=raw.labels,
            alpha=raw.alpha,
            beta=raw.beta,
            task=self.task,
        )

    def explain(self, data, method: str | Sequence[str] = "attention", **options) -> Explanation:
        """Attention and attribution maps of every gene of ``data`` (see :func:`attentivechrome.interpret.explain`).

        For a regression model the attributions explain the predicted log1p expression (maps in
        its units) and ``Explanation.logits`` holds the decoded predictions.
        """
        return Explanation.concat(list(self.iter_explanations(data, method, **options)))

    def iter_explanations(self, data, method: str | Sequence[str] = "attention", **options):
        """Like :meth:`explain`, one :class:`Explanation` per batch of genes (memory stays flat)."""
        data = self.check(as_histone_data(data))
        options.setdefault("batch_size", DEFAULT_BATCH_SIZE)
        if self.task == "regression":
            options.update(task="regression", output_scale=self.target_scale.std, output_offset=self.target_scale.mean)
        return iter_explanations(self.module, data, method, **options)

    # ------------------------------------------------------------------ files

    def save(self, path: str | Path) -> None:
        """Write the model and its description to one checkpoint file, atomically."""
        metadata = {
            "task": self.task,
            "target_scale": None if self.target_scale is None else self.target_scale.to_dict(),
            "train_config": None if self.config is None else self.config.to_dict(),
            "epoch": self.epoch,
        }
        save_checkpoint(self.module, path, marks=self.marks, n_bins=self.n_bins, metadata=metadata)

    @classmethod
    def load(cls, path: str | Path) -> TrainedModel:
        """A model from a run directory, one of our checkpoint files, or an original state_dict.

        Raises
        ------
        CheckpointError
            When the file is missing, is not a checkpoint, or its tensors do not fit the model.
        """
        return cls._from_contents(read_checkpoint(path))

    @classmethod
    def from_module(cls, module: nn.Module, *, marks: Sequence[str], n_bins: int | None = None, **fields) -> TrainedModel:
        """Wrap a registered module built in Python (``task`` and the rest as keyword fields)."""
        return cls(module=module, model_name=model_name_of(module), marks=tuple(marks), n_bins=n_bins, **fields)

    @classmethod
    def _from_contents(cls, contents: CheckpointContents) -> TrainedModel:
        meta = contents.metadata
        scale = meta.get("target_scale")
        config = meta.get("train_config")
        return cls(
            module=contents.model,
            model_name=contents.model_name,
            marks=contents.marks,
            n_bins=contents.n_bins,
            task=meta.get("task", "classification"),
            target_scale=None if scale is None else TargetScale(float(scale["mean"]), float(scale["std"])),
            config=None if config is None else TrainConfig.from_dict(config),
            epoch=meta.get("epoch"),
            source=contents.source,
            legacy=contents.legacy,
        )


#: The name earlier versions gave :func:`attentivechrome.train`'s result.
TrainResult = TrainedModel


def load_model(reference: str | Path) -> TrainedModel:
    """Load a model named by the user: a run directory, a checkpoint file, or a cell name
    (``E003``) whose published weights ``attentivechrome download weights`` cached.

    Raises
    ------
    CheckpointError
        When nothing by that name exists or the file is not a checkpoint.
    """
    if isinstance(reference, TrainedModel):
        return reference
    if not isinstance(reference, (str, Path)):
        raise TypeError(f"model must be an nn.Module or a TrainedModel (or the path of a run directory or checkpoint), got {type(reference).__name__}")
    return TrainedModel._from_contents(resolve_checkpoint(reference))


def load_checkpoint(path: str | Path) -> TrainedModel:
    """A model from a run directory, one of our checkpoint files, or an original state_dict."""
    return TrainedModel.load(path)


def predict(model, data, **options) -> Predictions:
    """Predict ``data`` with a :class:`TrainedModel`, a run directory / checkpoint path or cell name, or a bare module.

    A bare module's outputs come back undecoded (read as log-odds); load a regression model from
    its checkpoint so its outputs are decoded.
    """
    if isinstance(model, nn.Module):
        return predict_module(model, as_histone_data(data), **options)
    return load_model(model).predict(data, **options)


def explain(model, data, method: str | Sequence[str] = "attention", **options) -> Explanation:
    """Explain ``data`` with a :class:`TrainedModel`, a run directory / checkpoint path or cell name, or a bare module.

    See :func:`attentivechrome.interpret.explain` for the methods and options.
    """
    if isinstance(model, nn.Module):
        return Explanation.concat(list(iter_explanations(model, data, method, **options)))
    return load_model(model).explain(data, method, **options)
