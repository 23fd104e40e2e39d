"""Training settings, validated once: the one place their defaults are written.

Every model has its own defaults (:data:`MODEL_DEFAULTS`, chosen on a full cell's validation
split; docs/benchmarks.md gives the search), and the original AttentiveChrome paper's settings
are one preset away (``preset="original"``, ``--preset original``). A setting left ``None`` is
filled from the model's preset when the config is built; a setting given explicitly always wins.
The command line's options and :class:`~attentivechrome.estimator.AttentiveChromeClassifier`
leave these settings ``None``, so they read the same defaults; a test checks they agree. This
module imports no heavy library, so the command line can read it at start-up.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field, fields

from .data.schema import NORMALIZATIONS, TASKS, TRANSFORMS
from .model_catalog import ATTENTION_MODELS, ATTENTION_MODES, MISSING_MARK_MODELS, MODEL_CATALOG, PRIOR_ONLY_MODELS, RECURRENT_MODELS, check_model_name
from .tasks import get_task

#: The named sets of defaults: ``tuned`` (each model's validated settings) and ``original``
#: (the AttentiveChrome paper's settings, the same for every model, as the original code trained).
PRESETS: tuple[str, ...] = ("tuned", "original")

#: The original AttentiveChrome settings: Adam at 2e-4, batch 16, 30 epochs of raw counts, no early stopping.
ORIGINAL_SETTINGS: dict[str, object] = {
    "lr": 2e-4, "batch_size": 16, "epochs": 30, "patience": 0, "schedule": "constant", "transform": "none", "normalize": "none",
    "weight_decay": 0.0, "dropout": None, "forget_bias": None, "ema": 0.0,
}  # fmt: skip

#: Learning-rate schedules: ``constant``, or ``cosine`` (from ``lr`` down to 0 over the ``epochs``, step by step).
SCHEDULES: tuple[str, ...] = ("constant", "cosine")

#: The settings a preset fills in per model (the keys of :data:`ORIGINAL_SETTINGS`, in the order tables show them).
PRESET_FIELDS: tuple[str, ...] = tuple(ORIGINAL_SETTINGS)
#: Settings besides the preset's that change what a run learns (with the model, task and seed).
TRAINING_FIELDS: tuple[str, ...] = ("preset", *PRESET_FIELDS, "clip", "mark_dropout", "reference", "reference_exclude", "ensemble")

#: How a model reads a reference-expression table: ``none`` (marks only), ``new-cell`` (fixed summaries of the
#: other cells' expression) or ``fitted`` (every other cell a feature; within a cell only). See attentivechrome.data.reference.
REFERENCE_SETTINGS: tuple[str, ...] = ("none", "new-cell", "fitted")

#: Each model's validated defaults (preset ``tuned``), chosen on roadmap-e012's validation split;
#: a setting a model lacks here is the original's. See docs/benchmarks.md for the search.
MODEL_DEFAULTS: dict[str, dict[str, object]] = {
    # Learning rate, batch, epochs and input: every setting tried reached validation AUROC 0.951-0.955
    # (one seed; seeds differ by about 0.001), and these are the fastest of the best. The forget
    # gates starting at bias 3 gave 0.9571 over 3 seeds (0.9539 without) and stop sooner.
    "attentivechrome": {"lr": 4e-3, "batch_size": 128, "epochs": 30, "patience": 6, "forget_bias": 3.0},
    # The baselines: lr 1e-3 at batch 64 with early stopping, the input transform chosen on validation;
    # for the LSTMs also the forget gate's starting bias (1, 2 or 3), as for AttentiveChrome.
    "lstm": {"lr": 1e-3, "batch_size": 64, "epochs": 40, "patience": 6, "transform": "log1p", "forget_bias": 2.0},
    "lstm-alpha": {"lr": 1e-3, "batch_size": 64, "epochs": 40, "patience": 6, "transform": "log1p", "forget_bias": 3.0},
    "cnn-attn": {"lr": 1e-3, "batch_size": 64, "epochs": 40, "patience": 6, "transform": "none"},
    "cnn-alpha-beta": {"lr": 1e-3, "batch_size": 64, "epochs": 40, "patience": 6, "transform": "log1p"},
    "deepchrome": {"lr": 1e-3, "batch_size": 64, "epochs": 40, "patience": 6, "transform": "log1p"},
    "transformer": {"lr": 1e-3, "batch_size": 64, "epochs": 40, "patience": 6, "transform": "log1p"},
}


def preset_settings(model: str, preset: str = "tuned") -> dict[str, object]:
    """The settings ``preset`` gives ``model`` (every key of :data:`PRESET_FIELDS`).

    Raises
    ------
    ValueError
        For an unknown preset or model.
    """
    check_model_name(model)
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    if preset == "original":
        return dict(ORIGINAL_SETTINGS)
    return {**ORIGINAL_SETTINGS, **MODEL_DEFAULTS.get(model, {})}


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
        if value is None and name in OPTIONAL_NUMERIC_SETTINGS:
            continue
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
    "weight_decay": Number(low=0),
    "patience": Number(integer=True, low=0),
    "ema": Number(low=0, high=1, high_open=True),
    "attention_window": Number(integer=True, low=1),
    "attention_entropy": Number(),
    "ensemble": Number(integer=True, low=1, high=64),
}
#: Numeric settings that may also be ``None`` (the model's own default).
OPTIONAL_NUMERIC_SETTINGS: dict[str, Number] = {"dropout": Number(low=0, high=1, high_open=True), "forget_bias": Number()}
#: The training settings that are names.
TEXT_SETTINGS: tuple[str, ...] = ("attention", "model", "transform", "device", "task", "normalize", "preset", "schedule", "reference")


@dataclass
class TrainConfig:
    """Hyper-parameters of a training run.

    The settings of :data:`PRESET_FIELDS` left ``None`` come from the model's ``preset``
    (:func:`preset_settings`); the defaults named below are those of ``preset="original"``.

    Attributes
    ----------
    model
        Registry name of the model. Default ``attentivechrome``.
    preset
        Where unset settings come from: ``tuned`` (the model's validated defaults, see
        ``attentivechrome models``) or ``original`` (the AttentiveChrome paper's). Default ``tuned``.
    lr
        Adam learning rate. Original 2e-4.
    batch_size
        Genes per optimisation step. Original 16.
    epochs
        Most passes over the training genes. Original 30.
    clip
        Maximum gradient norm. Default 1.
    seed
        Seeds the initial weights and the order of the training genes. Default 1.
    transform
        Input transform: ``none`` (raw counts) or ``log1p``. Original ``none``.
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
        ``depth`` or ``quantile``, fitted on the training cells and kept in the model. Original ``none``.
    mark_dropout
        Probability of hiding each mark of each training gene in each step (at least one mark is
        kept), so the model learns to predict with a subset of its marks; the model is told which
        marks are absent. Also what lets cells with different marks be pooled. Default 0.
    weight_decay
        Decoupled weight decay (AdamW) per step; 0 trains with plain Adam. Original 0.
    dropout
        Dropout of the model's hidden vectors, for models that have it (``None``: the model's own
        default; AttentiveChrome's is 0, DeepChrome's 0.5). Original ``None``.
    forget_bias
        The starting forget-gate bias of every LSTM in the model (``None``: as drawn with the
        other weights, uniform in +-0.1 for AttentiveChrome); models without LSTMs ignore it
        (a neural one logs a warning). Original ``None``.
    patience
        Early stopping: stop after this many epochs without a better validation score (the best
        epoch's weights are kept either way); 0 runs every epoch. Original 0.
    ema
        Decay of an exponential moving average of the weights, updated every step; each epoch is
        scored, selected and saved with the averaged weights. 0 uses the weights as they are. Original 0.
    schedule
        Learning rate over training: ``constant`` or ``cosine`` (half a cosine from ``lr`` to 0 over
        ``epochs``, set every step; early stopping may end it sooner). Original ``constant``.
    reference
        How the model reads a reference-expression table (each gene's expression in other cell
        types; the table itself is given to :func:`~attentivechrome.training.trainer.train`):
        ``none`` (marks only), ``new-cell`` (four fixed summaries of the other cells' expression;
        the model applies to new cells) or ``fitted`` (every other cell a feature, learned within
        the cell). Default ``none``; ``task='deviation'`` and ``model='prior'`` need one.
    reference_exclude
        Epigenomes (columns of the table) the prior must not read, besides the cell's own. Default none.
    attention
        How AttentiveChrome's alpha scores a bin (see :data:`~attentivechrome.model_catalog.ATTENTION_MODES`):
        ``states`` (the original), ``local`` or ``conv``. Default ``states``.
    attention_window
        Bins the ``local`` and ``conv`` attention read around each bin (odd). Default 5.
    attention_entropy
        Weight of alpha's mean entropy (per gene and mark, divided by log(bins), so 0 to 1) added to
        the training loss: above 0 makes alpha sparser, below 0 flatter. Models without alpha refuse it. Default 0.
    ensemble
        Train this many copies of the model with the seeds ``seed``, ``seed + 1``, ... and keep
        them as one model (:class:`~attentivechrome.models.ensemble.Ensemble`) whose output is the
        mean of their logits and whose maps are their mean, with their spread. Default 1 (one model).
    """

    model: str = "attentivechrome"
    lr: float | None = None
    batch_size: int | None = None
    epochs: int | None = None
    clip: float = 1.0
    seed: int = 1
    transform: str | None = None
    device: str = "auto"
    eval_batch_size: int = 256
    task: str = "classification"
    normalize: str | None = None
    mark_dropout: float = 0.0
    weight_decay: float | None = None
    dropout: float | None = None
    forget_bias: float | None = None
    patience: int | None = None
    ema: float | None = None
    schedule: str | None = None
    preset: str = "tuned"
    reference: str = "none"
    reference_exclude: tuple[str, ...] = ()
    attention: str = "states"
    attention_window: int = 5
    attention_entropy: float = 0.0
    ensemble: int = 1
    #: The preset settings given explicitly (kept by :meth:`for_model`); the others came from the preset.
    given: frozenset = field(default=frozenset(), compare=False, repr=False)

    def __post_init__(self) -> None:
        check_model_name(self.model)
        explicit = {name for name in PRESET_FIELDS if getattr(self, name) is not None}
        self.given = frozenset(self.given | explicit)
        for name, value in preset_settings(self.model, self.preset).items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        check_settings(self, {**NUMERIC_SETTINGS, **OPTIONAL_NUMERIC_SETTINGS}, TEXT_SETTINGS)
        if self.transform not in TRANSFORMS:
            raise ValueError(f"transform must be one of {', '.join(TRANSFORMS)}, got {self.transform!r}")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if self.normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {self.normalize!r}")
        if self.reference not in REFERENCE_SETTINGS:
            raise ValueError(f"reference must be one of {', '.join(REFERENCE_SETTINGS)}, got {self.reference!r}")
        if isinstance(self.reference_exclude, str) or not all(isinstance(name, str) for name in self.reference_exclude):
            raise ValueError(f"reference_exclude must be a list of epigenome names, got {self.reference_exclude!r}")
        self.reference_exclude = tuple(name.upper() for name in self.reference_exclude)
        if self.reference == "none" and (get_task(self.task).needs_reference or self.model in PRIOR_ONLY_MODELS):
            what = f"task {self.task} (expression minus the prior)" if get_task(self.task).needs_reference else f"model {self.model} (the prior alone)"
            raise ValueError(f"{what} needs a reference-expression table (--reference-expression TABLE; reference='new-cell' or 'fitted')")
        if self.attention not in ATTENTION_MODES:
            raise ValueError(f"attention must be one of {', '.join(ATTENTION_MODES)}, got {self.attention!r}")
        if self.attention_window % 2 == 0:
            raise ValueError(f"attention_window must be odd (the bin and as many bins on each side), got {self.attention_window}")
        if (self.attention != "states" or self.attention_window != 5) and self.model not in ATTENTION_MODELS:
            raise ValueError(f"attention and attention_window apply to {', '.join(ATTENTION_MODELS)}, not {self.model!r}")
        if self.mark_dropout > 0 and self.model not in MISSING_MARK_MODELS:
            raise ValueError(f"mark_dropout needs a model that can be told a mark is absent ({', '.join(MISSING_MARK_MODELS)}), not {self.model!r}")

    @property
    def missing_marks(self) -> bool:
        """Whether the model is built to accept absent marks (it is, when trained with mark dropout)."""
        return self.mark_dropout > 0

    def to_dict(self) -> dict:
        """Every setting, resolved (``given`` is left out: a record holds the values trained with)."""
        values = asdict(self)
        del values["given"]
        for name, default in ATTENTION_SETTINGS.items():
            if values[name] == default:
                del values[name]
        values["reference_exclude"] = list(self.reference_exclude)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """A config from :meth:`to_dict` output; keys this version does not know are ignored.

        A setting the record lacks predates it, so the run trained as the original does: the
        setting is the original's (a record without ``preset`` predates presets altogether).
        """
        known = {f.name for f in fields(cls)} - {"given"}
        values = {k: v for k, v in values.items() if k in known}
        values.setdefault("preset", "original")
        config = cls(**values)
        for name in PRESET_FIELDS:
            if name not in values:  # set after construction: None here means "as the original", not "the preset's"
                setattr(config, name, ORIGINAL_SETTINGS[name])
        return config

    def for_model(self, model: str) -> TrainConfig:
        """These settings for another model: the ones given explicitly are kept, the rest come from its preset.

        ``forget_bias`` goes only to models built of LSTMs, and ``attention`` and ``attention_window`` only to
        models with that attention, so one call can set them for a benchmark of every model.
        """
        kept = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in PRESET_FIELDS and f.name not in ("model", "given")}
        if model not in ATTENTION_MODELS:
            kept.update(attention="states", attention_window=5)
        given = {name: getattr(self, name) for name in self.given if name != "forget_bias" or model in RECURRENT_MODELS}
        return TrainConfig(**kept, **given, model=model)


#: The bin-attention settings and their defaults (the original network). Records (:meth:`TrainConfig.to_dict`)
#: hold them only when set otherwise, so the records of runs without them stay as they were.
ATTENTION_SETTINGS: dict[str, object] = {"attention": "states", "attention_window": 5, "attention_entropy": 0.0}

#: The defaults of the default model (AttentiveChrome, preset ``tuned``).
DEFAULTS = TrainConfig()


def defaults_table() -> list[dict[str, object]]:
    """Each model's tuned defaults, one row per model in catalog order (for ``attentivechrome models`` and docs)."""
    return [{"model": name, **preset_settings(name)} for name in MODEL_CATALOG]

__all__ = ["DEFAULTS", "MODEL_DEFAULTS", "ORIGINAL_SETTINGS", "PRESETS", "SCHEDULES", "TASKS", "TrainConfig", "preset_settings"]
