"""The trained model: the network with everything needed to use it, the one object every entry point holds.

A :class:`TrainedModel` carries the ``nn.Module`` together with the marks and bin count it reads,
its task, how its outputs are decoded (the regression target scale) and the settings it was
trained with. :func:`attentivechrome.train` returns one (beside its training record),
:func:`load_model` -- the one loader -- reads one from a run directory, a checkpoint file or a
published cell name, and the estimator, the command line, the workflows of
:mod:`attentivechrome.workflows`, ``benchmark`` and ``train-many`` all go through it. Its
:meth:`~TrainedModel.check` is the one place that decides whether data fit the model, and
:meth:`~TrainedModel.predict` and :meth:`~TrainedModel.explain` return outputs on the task's own
scale (probabilities, or log1p expression for regression). Per-call options (another bin count
than the model's) are arguments of those calls, never state of the model.
"""

from __future__ import annotations

import dataclasses

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .config import TrainConfig
from .data.dataset import HistoneData
from .data.marks import align_marks
from .data.normalize import Normalization
from .data.reference import ReferencePrior, ReferenceTable
from .data.orientation import GENOMIC, UNKNOWN
from .data.schema import TASKS
from .exceptions import BinCountWarning, ExtraMarksWarning, ModelDataMismatchError
from .inference import INFERENCE_BATCH_SIZE, Predictions, predict_module
from .interpret.explain import UNNAMED_SOURCE, ExplainOptions, Explanation, OutputScale, as_histone_data, iter_module_explanations
from .models.ensemble import members_of
from .models.checkpoint import CheckpointContents, resolve_checkpoint, save_checkpoint
from .models.registry import model_name_of
from .tasks import Task, get_task


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
    normalization
        The per-cell input normalisation and its reference (``None``: none), applied to every
        input from that input's own statistics.
    config
        The training settings, when known (models trained by this package).
    epoch
        The selected epoch, when known.
    source
        Where the model was loaded from, for messages.
    legacy
        Whether it came from an original AttentiveChrome state_dict.
    reference
        For a reference-informed model: what it read from the reference-expression table (the
        table's checksum, the mode, the excluded epigenomes, the columns and features; see
        :meth:`attentivechrome.data.reference.ReferencePrior.describe`); ``None`` otherwise.
    orientation
        The bin order of its training data: ``transcript`` (5'->3'), ``genomic`` (the original's
        weights) or ``unknown`` (default; checkpoints written before it was recorded).
    prior
        The reference prior bound for use (:meth:`with_reference`): what :meth:`prepare` attaches
        to each gene. ``None`` until bound.
    """

    module: nn.Module
    model_name: str
    marks: tuple[str, ...]
    n_bins: int | None = None
    task: str = "classification"
    target_scale: TargetScale | None = None
    normalization: Normalization | None = None
    config: TrainConfig | None = None
    epoch: int | None = None
    source: str = ""
    legacy: bool = False
    reference: dict | None = None
    prior: ReferencePrior | None = None
    orientation: str = "unknown"

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.task_spec.regresses and self.target_scale is None:
            self.target_scale = TargetScale()
        self.marks = tuple(self.marks)

    # ------------------------------------------------------------------ what it is

    @property
    def task_spec(self) -> Task:
        """The :class:`~attentivechrome.tasks.Task` object of :attr:`task`."""
        return get_task(self.task)

    @property
    def reads_reference(self) -> bool:
        """Whether the model reads a reference-expression prior beside the marks."""
        return self.reference is not None

    def with_reference(self, table: ReferenceTable, cell: str | None = None) -> TrainedModel:
        """This model bound to the prior of ``table`` for cell ``cell`` (never reading the cell's own column).

        The table must be the one the model was trained with (same checksum). A ``new-cell``
        model reads the same summaries of every column but ``cell``'s own and the excluded ones;
        a ``fitted`` model reads the columns it was trained on, and refuses a cell that is one of them.

        Raises
        ------
        ModelDataMismatchError
            When the model reads no reference, the table differs, or the cell's own column is one a fitted model reads.
        """
        if self.reference is None:
            raise ModelDataMismatchError(f"{self.source or 'this model'} was trained without a reference-expression table; drop --reference-expression")
        if table.checksum != self.reference["checksum"]:
            raise ModelDataMismatchError(
                f"{table.source}: is not the reference-expression table the model was trained with ({self.reference['source']}, "
                f"checksum {self.reference['checksum']}; this one {table.checksum}); the prior would mean something else"
            )
        mode = self.reference["mode"]
        try:
            prior = table.prior_for(cell, exclude=self.reference["excluded"], mode=mode, columns=tuple(self.reference["columns"]) if mode == "fitted" else None)
        except ValueError as err:
            raise ModelDataMismatchError(str(err)) from None
        return dataclasses.replace(self, prior=prior)

    @property
    def n_members(self) -> int:
        """How many models it averages: an ensemble's members (``train --ensemble N``), or 1."""
        return len(members_of(self.module))

    @property
    def handles_missing_marks(self) -> bool:
        """Whether the model was trained to be told that marks are absent (``--mark-dropout``)."""
        return bool(getattr(self.module, "missing_marks", False))

    @property
    def transform(self) -> str:
        """The input transform the module applies to raw counts (``none`` or ``log1p``)."""
        return getattr(self.module, "transform", "none")

    # ------------------------------------------------------------------ using it

    def check(self, data: HistoneData, *, allow_bin_mismatch: bool = False) -> HistoneData:
        """Check that ``data`` fit the model and return them with the model's marks, in its order.

        This is the one place that decides. Marks are matched by name (case-insensitively):
        marks in another order are reordered; extra marks are dropped with an
        :class:`ExtraMarksWarning`; missing marks are passed as absent to a model trained for
        missing marks and refused otherwise. Another bin count than the model was trained on is
        refused, unless ``allow_bin_mismatch`` (the command line's ``--allow-bin-mismatch``), when it gives
        a :class:`BinCountWarning`: the model then reads bins at other distances from the TSS than
        it learned.

        Raises
        ------
        ModelDataMismatchError
            When marks are missing (and the model cannot take absent marks) or none match, or the
            bin count differs and is not allowed to.
        """
        where = data.source or "the data"
        if (_placeholder_names(self.marks) or data.source == UNNAMED_SOURCE) and data.n_marks == len(self.marks):
            # marks without names on one side (an original checkpoint of unknown marks, or a bare array): by position
            matched = dataclasses.replace(data, marks=self.marks)
        else:
            match = align_marks(data, self.marks)
            if len(match.missing) == len(self.marks):
                raise ModelDataMismatchError(f"{where}: has the marks {', '.join(data.marks)}, none of the model's ({', '.join(self.marks)})")
            if match.missing and not self.handles_missing_marks:
                raise ModelDataMismatchError(
                    f"{where}: lacks the marks {', '.join(match.missing)} that the model reads ({', '.join(self.marks)}); "
                    "it was not trained for missing marks (train with --mark-dropout to predict with a subset of the marks)"
                )
            if match.extra:
                warnings.warn(f"{where}: the marks {', '.join(match.extra)} are not among the model's ({', '.join(self.marks)}) and are ignored", ExtraMarksWarning, stacklevel=2)
            matched = match.data
        if self.n_bins is not None and data.n_bins != self.n_bins:
            if not allow_bin_mismatch:
                raise ModelDataMismatchError(
                    f"{where}: has {data.n_bins} bins per gene but the model was trained on {self.n_bins}; its bins would lie at other "
                    "distances from the TSS than the model learned (pass --allow-bin-mismatch, or allow_bin_mismatch=True, to predict anyway)"
                )
            warnings.warn(f"{where} has {data.n_bins} bins per gene; the model was trained on {self.n_bins}", BinCountWarning, stacklevel=2)
        return matched

    def prepare(
        self, data: HistoneData, stats_from: HistoneData | Sequence[HistoneData] | None = None, *, allow_bin_mismatch: bool = False
    ) -> HistoneData:
        """``data`` as the module reads them: checked (:meth:`check`), then normalised per cell.

        The cell's normalisation statistics come from ``stats_from`` (the cell's whole input,
        when ``data`` is a part of it), by default from ``data`` itself.
        """
        data = self._with_prior(self.check(data, allow_bin_mismatch=allow_bin_mismatch))
        if self.normalization is None or self.normalization.kind == "none":
            return data
        if stats_from is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # said once, for data
                sources = [stats_from] if isinstance(stats_from, HistoneData) else list(stats_from)
                stats_from = [self.check(source, allow_bin_mismatch=allow_bin_mismatch) for source in sources]
        return self.normalization.apply(data, stats_from)

    def _with_prior(self, data: HistoneData) -> HistoneData:
        """``data`` with the bound prior's features (and, for deviation, each gene's prior) attached."""
        if self.reference is None:
            return data
        if self.prior is None:
            raise ModelDataMismatchError(
                f"{self.source or 'this model'} reads a reference-expression prior ({self.reference['source']}); "
                "pass the table (--reference-expression, or model.with_reference(table, cell))"
            )
        features, baseline = self.prior.read(data.gene_ids, source=data.source)
        return dataclasses.replace(data, prior=features, baseline=baseline)

    def decode(self, outputs: np.ndarray) -> np.ndarray:
        """The module's raw outputs on the task's scale: log-odds unchanged, regression values de-standardised."""
        return self.target_scale.decode(outputs) if self.task_spec.regresses else outputs

    def predict(
        self,
        data,
        *,
        batch_size: int = INFERENCE_BATCH_SIZE,
        device: str | torch.device = "cpu",
        with_attention: bool = True,
        stats_from: HistoneData | Sequence[HistoneData] | None = None,
        allow_bin_mismatch: bool = False,
    ) -> Predictions:
        """Predict every gene of ``data`` (prepared by :meth:`prepare`), decoded for the task.

        ``Predictions.values`` are probabilities of high expression (classification) or log1p
        expression (regression); alpha and beta come back when the model has them.
        ``stats_from``: where the cell's normalisation statistics come from (default ``data``).
        """
        data = self.prepare(as_histone_data(data), stats_from, allow_bin_mismatch=allow_bin_mismatch)
        return self.predict_prepared(data, batch_size=batch_size, device=device, with_attention=with_attention)

    def predict_prepared(
        self, data: HistoneData, *, batch_size: int = INFERENCE_BATCH_SIZE, device: str | torch.device = "cpu", with_attention: bool = True
    ) -> Predictions:
        """Like :meth:`predict`, for data already :meth:`prepare`-d (e.g. several cells' prepared genes joined)."""
        raw = predict_module(self.module, data, batch_size=batch_size, device=device, with_attention=with_attention)
        return Predictions(
            gene_ids=raw.gene_ids,
            logits=self.decode(raw.logits),
            labels=raw.labels,
            alpha=raw.alpha,
            beta=raw.beta,
            task=self.task,
            baseline=data.baseline if self.task_spec.needs_reference else None,
        )

    def explain(self, data, method: str | Sequence[str] = "attention", **kwargs) -> Explanation:
        """Attention and attribution maps of every gene of ``data``; the arguments are those of :meth:`iter_explanations`.

        For a regression model the attributions explain the predicted log1p expression (maps in
        its units) and ``Explanation.logits`` holds the decoded predictions.
        """
        return Explanation.concat(list(self.iter_explanations(data, method, **kwargs)))

    def iter_explanations(
        self,
        data,
        method: str | Sequence[str] = "attention",
        *,
        options: ExplainOptions = ExplainOptions(),
        progress: bool | None = None,
        stats_from=None,
        allow_bin_mismatch: bool = False,
    ):
        """Like :meth:`explain`, one :class:`Explanation` per batch of genes (memory stays flat).

        ``method`` and ``options`` (:class:`~attentivechrome.interpret.ExplainOptions`: batch size,
        device, attribution settings) are those of :func:`attentivechrome.interpret.explain_module`;
        ``progress``: a progress bar over genes (``None``: the package setting).
        The maps refer to the data as the model reads them: marks in the model's order, absent
        marks NaN (their maps are 0), values normalised per cell.
        """
        data = self.prepare(as_histone_data(data), stats_from, allow_bin_mismatch=allow_bin_mismatch)
        return iter_module_explanations(self.module, data, method, output=self.output_scale, options=options, progress=progress)

    @property
    def output_scale(self) -> OutputScale:
        """How the module's raw outputs read on the task's scale, for the module-level core of :mod:`attentivechrome.interpret`."""
        if not self.task_spec.regresses:
            return OutputScale()
        return OutputScale(task=self.task, scale=self.target_scale.std, offset=self.target_scale.mean)

    # ------------------------------------------------------------------ files

    def save(self, path: str | Path) -> None:
        """Write the model and its description to one checkpoint file, atomically."""
        metadata = {
            "task": self.task,
            "target_scale": None if self.target_scale is None else self.target_scale.to_dict(),
            "normalization": None if self.normalization is None else self.normalization.to_dict(),
            "train_config": None if self.config is None else self.config.to_dict(),
            "epoch": self.epoch,
            "reference": self.reference,
            "orientation": self.orientation,
        }
        save_checkpoint(self.module, path, marks=self.marks, n_bins=self.n_bins, metadata=metadata)

    @classmethod
    def from_module(cls, module: nn.Module, *, marks: Sequence[str], n_bins: int | None = None, **fields) -> TrainedModel:
        """Wrap a registered module built in Python (``task`` and the rest as keyword fields)."""
        return cls(module=module, model_name=model_name_of(module), marks=tuple(marks), n_bins=n_bins, **fields)

    @classmethod
    def _from_contents(cls, contents: CheckpointContents) -> TrainedModel:
        meta = contents.metadata
        scale = meta.get("target_scale")
        config = meta.get("train_config")
        normalization = meta.get("normalization")
        return cls(
            module=contents.model,
            model_name=contents.model_name,
            marks=contents.marks,
            n_bins=contents.n_bins,
            task=meta.get("task", "classification"),
            target_scale=None if scale is None else TargetScale(float(scale["mean"]), float(scale["std"])),
            normalization=None if normalization is None else Normalization.from_dict(normalization),
            config=None if config is None else TrainConfig.from_dict(config),
            epoch=meta.get("epoch"),
            source=contents.source,
            legacy=contents.legacy,
            reference=meta.get("reference"),
            orientation=meta.get("orientation") or (GENOMIC if contents.legacy else UNKNOWN),  # the original trained on REMC files, in genomic order
        )


def load_model(reference: str | Path) -> TrainedModel:
    """The one loader: a model from a run directory, one of our checkpoint files, an original
    AttentiveChrome state_dict, or a cell name (``E003``) whose published weights
    ``attentivechrome download weights`` cached.

    Raises
    ------
    CheckpointError
        When nothing by that name exists, the file is not a checkpoint, or its tensors do not fit the model.
    """
    if not isinstance(reference, (str, Path)):
        raise TypeError(f"load_model takes the path of a run directory or checkpoint, or a cell name; got {type(reference).__name__}")
    return TrainedModel._from_contents(resolve_checkpoint(reference))


def ensemble(models: Sequence[TrainedModel | str | Path]) -> TrainedModel:
    """One model of several trained alike (other seeds): it predicts their mean logit; its maps are their mean, with their spread.

    ``train --ensemble N`` trains and saves one; this joins models trained apart (loaded from
    their run directories when given as paths). They must read the same marks and bins and share
    the task, target scale, normalisation and reference.

    Raises
    ------
    ValueError
        With fewer than two models, or models that differ in what they read or predict.
    """
    from .models.ensemble import Ensemble

    loaded = [_as_trained(m) for m in models]
    if len(loaded) < 2:
        raise ValueError(f"an ensemble joins at least two models, got {len(loaded)}")
    first = loaded[0]
    for other in loaded[1:]:
        for what in ("model_name", "marks", "n_bins", "task", "target_scale", "normalization", "reference"):
            if getattr(other, what) != getattr(first, what):
                raise ValueError(f"{other.source or 'a model'}: its {what} ({getattr(other, what)!r:.80}) differs from {first.source or 'the first model'}'s ({getattr(first, what)!r:.80})")
    members = [module for m in loaded for module in members_of(m.module)]
    config = None if first.config is None else dataclasses.replace(first.config, ensemble=len(members))
    return dataclasses.replace(first, module=Ensemble(members).eval(), config=config, epoch=None, source="")


def _as_trained(model) -> TrainedModel:
    """A :class:`TrainedModel` as it is, or loaded from the path or cell name that names one."""
    if isinstance(model, TrainedModel):
        return model
    if not isinstance(model, (str, Path)):
        raise TypeError(f"model must be an nn.Module or a TrainedModel (or the path of a run directory or checkpoint), got {type(model).__name__}")
    return load_model(model)


def predict(model, data, **options) -> Predictions:
    """Predict ``data`` with a :class:`TrainedModel`, a run directory / checkpoint path or cell name, or a bare module.

    A bare module's outputs come back undecoded (read as log-odds); load a regression model from
    its checkpoint so its outputs are decoded.
    """
    if isinstance(model, nn.Module):
        return predict_module(model, as_histone_data(data), **options)
    return _as_trained(model).predict(data, **options)


def explain(model, data, method: str | Sequence[str] = "attention", **options) -> Explanation:
    """Explain ``data`` with a :class:`TrainedModel`, a run directory / checkpoint path or cell name, or a bare module.

    See :func:`attentivechrome.interpret.explain_module` for the methods and options. A bare module's
    outputs are read as log-odds; a :class:`TrainedModel` (or a path) decodes its own.
    """
    if isinstance(model, nn.Module):
        return Explanation.concat(list(iter_module_explanations(model, data, method, **options)))
    return _as_trained(model).explain(data, method, **options)


def _placeholder_names(marks: Sequence[str]) -> bool:
    """Whether the marks are the ``mark1, mark2, ...`` stand-ins of an original checkpoint of unknown marks."""
    return all(m == f"mark{i + 1}" for i, m in enumerate(marks))
