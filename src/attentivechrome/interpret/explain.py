"""``explain_module``: attention and attribution maps for a set of genes, as arrays.

All maps share the attention layout (genes, marks, bins), so alpha and every attribution
method can be plotted and scored the same way. The work runs in batches of genes;
:func:`iter_module_explanations` yields one :class:`Explanation` per batch so that callers that
write files keep memory flat, and :func:`explain_module` joins the batches for notebook use.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import _settings
from .._progress import progress_bar
from ..tasks import get_task
from ..data.dataset import HistoneData
from ..data.marks import absent_marks
from ..data.schema import MARKS
from ..models._fast_lstm import release_scratch
from ..models.ensemble import members_of
from .attribution import (
    DEFAULT_IG_STEPS,
    DEFAULT_WINDOW,
    METHODS,
    attribute,
    check_methods,
)

#: The ``source`` of data made from a bare array: its marks have no names, a model reads them by position.
UNNAMED_SOURCE = "array"

#: Genes per batch unless told otherwise (gradients through the LSTMs of 5 marks).
DEFAULT_BATCH_SIZE = 128


@dataclass(frozen=True)
class ExplainOptions:
    """How maps are computed: the options every explaining call shares.

    :func:`explain_module`, :meth:`TrainedModel.explain <attentivechrome.trained.TrainedModel.explain>`,
    :func:`~attentivechrome.interpret.write_interpretation`, the interpret benchmark, the contrast,
    faithfulness and stability workflows and the CLI all take one. Whether a progress bar shows is
    not among them: it does not change the maps, and each call keeps its own default.

    Attributes
    ----------
    batch_size
        Genes per batch. Default 128.
    device
        Where the model runs. Default ``"cpu"``.
    baseline
        The reference input of integrated gradients and DeepLift. Default 0 (no reads).
    n_steps
        Integration steps of integrated gradients. Default 32.
    window, stride
        Occlusion window and stride in bins of one mark. Default 5, and the stride the window.

    Examples
    --------
    >>> ExplainOptions(n_steps=8)
    ExplainOptions(batch_size=128, device='cpu', baseline=0.0, n_steps=8, window=5, stride=None)
    >>> ExplainOptions(batch_size=0)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be a positive integer, got 0
    """

    batch_size: int = DEFAULT_BATCH_SIZE
    device: str | torch.device = "cpu"
    baseline: float = 0.0
    n_steps: int = DEFAULT_IG_STEPS
    window: int = DEFAULT_WINDOW
    stride: int | None = None

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size}")


@dataclass(frozen=True)
class OutputScale:
    """How a module's raw outputs are read: log-odds as they are, or a regression's standardised ``y`` as ``y * scale + offset``.

    The core of :mod:`attentivechrome.interpret` works on a bare module, which does not know how
    it was trained; the caller says (:attr:`attentivechrome.trained.TrainedModel.output_scale`).
    Attributions are differences or gradients of the output, so they are multiplied by ``scale``.
    """

    task: str = "classification"
    scale: float = 1.0
    offset: float = 0.0

    @property
    def decodes(self) -> bool:
        """Whether outputs need decoding: a regressing task's are standardised values; log-odds are read as they are."""
        return get_task(self.task).regresses

    def decode(self, values):
        return values * self.scale + self.offset

    @property
    def units(self) -> str:
        """What a map's values are differences of: ``logits`` or ``log1p-expression units``."""
        return "logits" if get_task(self.task).binary else "log1p-expression units"


@dataclass(frozen=True)
class Explanation:
    """Maps of a set of genes (NumPy arrays on the CPU).

    Attributes
    ----------
    gene_ids
        Shape (genes,).
    marks
        Mark names, the order of the ``marks`` axis.
    methods
        The methods in ``maps``, in the order asked for.
    logits
        Shape (genes,): the model's log-odds of high expression, or for a regression model its
        predicted log1p expression (for a deviation model, the deviation from the prior).
    labels
        Shape (genes,) 0/1, or ``None`` for unlabelled genes.
    maps
        Method name -> float32 array of shape (genes, marks, bins). ``attention`` is alpha
        (sums to 1 over bins); ``saliency`` is non-negative; the other attributions are signed
        (positive cells push towards high expression).
    alpha
        Shape (genes, marks, bins), or ``None`` for a model without attention. Computed with
        every forward pass, so present even when ``attention`` is not among ``methods``.
    beta
        Shape (genes, marks), or ``None``.
    convergence_delta
        Method name -> (genes,) completeness gap ``sum(map) - (f(x) - f(baseline))`` for
        ``integrated_gradients`` and ``deeplift``.
    spread
        For an ensemble (:class:`~attentivechrome.models.ensemble.Ensemble`): method name ->
        (genes, marks, bins) standard deviation of the members' maps (``ddof=1``), beside
        ``maps``, which hold the members' mean. Empty for a single model.
    n_members
        How many models the maps average: the ensemble's members, or 1.
    """

    gene_ids: np.ndarray
    marks: tuple[str, ...]
    methods: tuple[str, ...]
    logits: np.ndarray
    labels: np.ndarray | None
    maps: dict[str, np.ndarray]
    alpha: np.ndarray | None = None
    beta: np.ndarray | None = None
    convergence_delta: dict[str, np.ndarray] = field(default_factory=dict)
    #: The model's task: ``regression`` (``deviation``) when logits and attributions are in log1p-expression units
    #: (of the deviation from the prior).
    task: str = "classification"
    spread: dict[str, np.ndarray] = field(default_factory=dict)
    n_members: int = 1

    @property
    def probabilities(self) -> np.ndarray:
        """Shape (genes,): the probability of high expression (classification models only)."""
        if not get_task(self.task).binary:
            raise ValueError(f"a {self.task} model predicts {get_task(self.task).meaning}, not probabilities; use .values")
        return get_task(self.task).shown(self.logits)

    @property
    def values(self) -> np.ndarray:
        """Shape (genes,): probabilities of high expression, or the predicted values of a regression or deviation model."""
        return get_task(self.task).shown(self.logits)

    @property
    def n_genes(self) -> int:
        return int(len(self.gene_ids))

    def __getitem__(self, method: str) -> np.ndarray:
        """The map of ``method``, shape (genes, marks, bins)."""
        try:
            return self.maps[method]
        except KeyError:
            raise KeyError(f"no {method!r} map in this explanation; it holds {', '.join(self.methods)}") from None

    def mark_scores(self, method: str) -> np.ndarray:
        """Per-gene importance of each mark under ``method``, shape (genes, marks), summing to 1 per gene.

        Attention methods give beta; the others the share of each mark in the gene's
        total absolute attribution (uniform for a gene whose map is all zero). A model with
        bin-level attention only ranks no marks: its attention gives every mark the same score.
        """
        if METHODS.get(method) is not None and METHODS[method].family == "attention" and self.beta is not None:
            return self.beta
        return mark_shares(self[method])

    def to_frame(self, methods: Sequence[str] | None = None) -> pd.DataFrame:
        """A tidy table with columns ``gene_id, method, mark, bin, value`` (bins numbered from 1)."""
        frames = [map_frame(self.gene_ids, self.marks, method, self[method]) for method in (methods or self.methods)]
        return pd.concat(frames, ignore_index=True)

    def subset(self, index: np.ndarray | slice) -> Explanation:
        """The genes selected by ``index``."""
        return Explanation(
            gene_ids=self.gene_ids[index],
            marks=self.marks,
            methods=self.methods,
            logits=self.logits[index],
            labels=None if self.labels is None else self.labels[index],
            maps={k: v[index] for k, v in self.maps.items()},
            alpha=None if self.alpha is None else self.alpha[index],
            beta=None if self.beta is None else self.beta[index],
            convergence_delta={k: v[index] for k, v in self.convergence_delta.items()},
            task=self.task,
            spread={k: v[index] for k, v in self.spread.items()},
            n_members=self.n_members,
        )

    @classmethod
    def concat(cls, parts: Sequence[Explanation]) -> Explanation:
        """Join explanations of disjoint gene sets computed with the same methods."""
        if not parts:
            raise ValueError("nothing to join: no explanation given")
        first = parts[0]

        def cat(values):
            return None if values[0] is None else np.concatenate(values)

        return cls(
            gene_ids=np.concatenate([p.gene_ids for p in parts]),
            marks=first.marks,
            methods=first.methods,
            logits=np.concatenate([p.logits for p in parts]),
            labels=cat([p.labels for p in parts]),
            maps={m: np.concatenate([p.maps[m] for p in parts]) for m in first.maps},
            alpha=cat([p.alpha for p in parts]),
            beta=cat([p.beta for p in parts]),
            convergence_delta={m: np.concatenate([p.convergence_delta[m] for p in parts]) for m in first.convergence_delta},
            task=first.task,
            spread={m: np.concatenate([p.spread[m] for p in parts]) for m in first.spread},
            n_members=first.n_members,
        )


def explain_module(
    module: nn.Module,
    data,
    method: str | Sequence[str] = "attention",
    *,
    output: OutputScale = OutputScale(),
    options: ExplainOptions = ExplainOptions(),
    progress: bool | None = False,
) -> Explanation:
    """Explain the predictions of ``module`` on ``data`` with one or more methods.

    Parameters
    ----------
    module
        An ``nn.Module`` returning :class:`~attentivechrome.models.ModelOutput`, reading ``data``
        as they are. A :class:`~attentivechrome.trained.TrainedModel` is refused: it explains
        itself (``model.explain(data)``), checking the data and decoding its outputs.
    data
        :class:`~attentivechrome.data.HistoneData` as the module reads them, a CSV path, or
        counts of shape (genes, bins, marks) (array or tensor).
    output
        How to read the module's outputs (default: log-odds, as they are).
    method
        A name from :data:`~attentivechrome.interpret.METHODS`, a comma-separated string or
        a list of names. Default ``"attention"``.
    options
        Batch size, device and the attribution settings (:class:`ExplainOptions`; the last passed
        to :func:`~attentivechrome.interpret.attribute`).
    progress
        Show a progress bar over genes (``None``: the package setting). Default False.

    Returns
    -------
    Explanation
        ``maps[method]`` of shape (genes, marks, bins) for each method, plus logits,
        alpha and beta.

    Raises
    ------
    ValueError
        On an unknown method, a model without attention asked for attention, or data
        whose mark count does not fit the model.

    Examples
    --------
    >>> from attentivechrome import get_model, simulate
    >>> from attentivechrome.interpret import explain_module
    >>> data, _ = simulate(8, 20, seed=0)
    >>> model = get_model("attentivechrome", bin_hidden=4, mark_hidden=2)
    >>> ex = explain_module(model, data, ["attention", "saliency"])
    >>> ex["attention"].shape, ex.beta.shape
    ((8, 5, 20), (8, 5))
    >>> bool(abs(ex["attention"].sum(axis=2) - 1).max() < 1e-5)
    True
    """
    parts = list(
        iter_module_explanations(
            module,
            data,
            method,
            output=output,
            options=options,
            progress=progress,
        )
    )
    return Explanation.concat(parts)


def iter_module_explanations(
    module: nn.Module,
    data,
    method: str | Sequence[str] = "attention",
    *,
    output: OutputScale = OutputScale(),
    options: ExplainOptions = ExplainOptions(),
    progress: bool | None = None,
) -> Iterator[Explanation]:
    """Like :func:`explain_module`, but yield one :class:`Explanation` per batch of genes, in order.

    With an ``output`` that decodes (a regression module's standardised ``y``), the logits are
    decoded and every attribution (a difference or gradient of the output) is multiplied by its scale.

    An :class:`~attentivechrome.models.ensemble.Ensemble` is explained member by member: its maps,
    alpha, beta and completeness gaps are the members' means (for the gradient methods on the mean
    logit, integrated gradients and occlusion, the ensemble's own maps), and ``spread`` holds each
    map's standard deviation across the members.
    """
    methods = check_methods(method if isinstance(method, str) else list(method))
    require_module(module, "model.explain(data) or model.iter_explanations(data)")
    data = as_histone_data(data)
    check_fits(module, data)
    device = torch.device(options.device)
    module = module.to(device)
    members = members_of(module)
    was_training = module.training
    module.eval()
    try:
        gradient_methods = [m for m in methods if METHODS[m].family == "gradient"]
        probe_prior = None if data.prior is None else torch.from_numpy(np.ascontiguousarray(data.prior[:1], dtype=np.float32)).to(device)
        if gradient_methods and data.n_genes and not _differentiable(module, torch.from_numpy(data.counts[:1]).to(device), probe_prior):
            raise ValueError(
                f"{type(module).__name__} gives no gradients with respect to its input, so {', '.join(gradient_methods)} "
                "cannot explain it; use occlusion (or attention where the model has it)"
            )
        with progress_bar(data.n_genes, "explaining genes", enabled=progress) as advance:
            for start in range(0, data.n_genes, options.batch_size):
                stop = min(start + options.batch_size, data.n_genes)
                with _settings.torch_threads(1):  # see _settings.torch_threads; 2 threads took 3x as long on 2 cores
                    parts = [_explain_batch(member, data, start, stop, methods, device, options) for member in members]
                part = parts[0] if len(parts) == 1 else combine_members(parts)
                yield _decoded(part, output) if output.decodes else part
                advance(stop - start)
    finally:
        module.train(was_training)


def _explain_batch(
    module: nn.Module,
    data: HistoneData,
    start: int,
    stop: int,
    methods: tuple[str, ...],
    device: torch.device,
    options: ExplainOptions,
) -> Explanation:
    x = torch.from_numpy(np.ascontiguousarray(data.counts[start:stop])).to(device)  # (genes, bins, marks)
    # A reference-informed model's prior is held fixed: the maps say what the marks add to it.
    prior = None if data.prior is None else torch.from_numpy(np.ascontiguousarray(data.prior[start:stop], dtype=np.float32)).to(device)
    with torch.no_grad():
        out = module(x) if prior is None else module(x, prior)
    logits = _logits_of(out)
    alpha = None if getattr(out, "alpha", None) is None else out.alpha.float().cpu().numpy()
    beta = None if getattr(out, "beta", None) is None else out.beta.float().cpu().numpy()

    maps: dict[str, np.ndarray] = {}
    deltas: dict[str, np.ndarray] = {}
    absent = absent_marks(data.counts[start:stop])  # (genes, marks)
    for method in methods:
        if METHODS[method].family == "attention":
            if alpha is None:
                raise ValueError(f"{type(module).__name__} has no attention; choose other methods than {method}")
            if method != "attention" and beta is None:
                raise ValueError(f"{type(module).__name__} has no mark-level attention (beta); choose other methods than {method}")
            maps[method] = alpha if method == "attention" else alpha * beta[:, :, None]
            continue
        with_delta = method in ("integrated_gradients", "deeplift")
        result = attribute(
            module,
            x,
            method,
            baseline=options.baseline,
            n_steps=options.n_steps,
            window=options.window,
            stride=options.stride,
            return_convergence_delta=with_delta,
            prior=prior,
        )
        values, delta = result if with_delta else (result, None)
        release_scratch()  # each method passes other sizes through the encoder kernel; keep none of their buffers
        # (genes, bins, marks) -> (genes, marks, bins), the layout of alpha
        maps[method] = np.ascontiguousarray(values.float().cpu().numpy().transpose(0, 2, 1))
        if absent.any():  # an absent mark (NaN input) has nothing to attribute: its map is 0, not NaN
            maps[method][absent] = 0.0
        if delta is not None:
            deltas[method] = delta.float().cpu().numpy()
    return Explanation(
        gene_ids=data.gene_ids[start:stop],
        marks=data.marks,
        methods=methods,
        logits=logits.float().cpu().numpy(),
        labels=None if data.labels is None else data.labels[start:stop],
        maps=maps,
        alpha=alpha,
        beta=beta,
        convergence_delta=deltas,
    )


def combine_members(parts: Sequence[Explanation]) -> Explanation:
    """One explanation of the same genes from an ensemble's members: their mean, and each map's spread (standard deviation, ``ddof=1``).

    Examples
    --------
    >>> import numpy as np
    >>> one = Explanation(np.array(["g"]), ("a",), ("saliency",), np.array([1.0]), None, {"saliency": np.ones((1, 1, 2), np.float32)})
    >>> two = Explanation(np.array(["g"]), ("a",), ("saliency",), np.array([3.0]), None, {"saliency": np.full((1, 1, 2), 3, np.float32)})
    >>> both = combine_members([one, two])
    >>> both.logits, both["saliency"][0, 0], both.spread["saliency"][0, 0].round(3)
    (array([2.], dtype=float32), array([2., 2.], dtype=float32), array([1.414, 1.414], dtype=float32))
    """
    first = parts[0]

    def mean(values):
        return None if values[0] is None else np.mean(np.stack(values), axis=0).astype(np.float32)

    def spread(values):
        return np.std(np.stack(values), axis=0, ddof=1 if len(values) > 1 else 0).astype(np.float32)

    return Explanation(
        gene_ids=first.gene_ids,
        marks=first.marks,
        methods=first.methods,
        logits=mean([p.logits for p in parts]),
        labels=first.labels,
        maps={m: mean([p.maps[m] for p in parts]) for m in first.maps},
        alpha=mean([p.alpha for p in parts]),
        beta=mean([p.beta for p in parts]),
        convergence_delta={m: mean([p.convergence_delta[m] for p in parts]) for m in first.convergence_delta},
        task=first.task,
        spread={m: spread([p.maps[m] for p in parts]) for m in first.maps},
        n_members=len(parts),
    )


def _decoded(part: Explanation, output: OutputScale) -> Explanation:
    """A batch's outputs on the task's scale: logits, attributions and completeness gaps of ``y * scale + offset``."""
    scale = output.scale
    return Explanation(
        gene_ids=part.gene_ids,
        marks=part.marks,
        methods=part.methods,
        logits=output.decode(part.logits).astype(np.float32),
        labels=part.labels,
        maps={m: v if METHODS[m].family == "attention" else (v * scale).astype(np.float32) for m, v in part.maps.items()},
        alpha=part.alpha,
        beta=part.beta,
        convergence_delta={m: (v * scale).astype(np.float32) for m, v in part.convergence_delta.items()},
        task=output.task,
        spread={m: v if METHODS[m].family == "attention" else (v * abs(scale)).astype(np.float32) for m, v in part.spread.items()},
        n_members=part.n_members,
    )


def _differentiable(module: nn.Module, x: torch.Tensor, prior: torch.Tensor | None = None) -> bool:
    """Whether the logits depend differentiably on the input (the tree models' do not)."""
    probe = x.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        return bool(_logits_of(module(probe) if prior is None else module(probe, prior)).requires_grad)


def _logits_of(out) -> torch.Tensor:
    logits = out.logits if hasattr(out, "logits") else out
    logits = logits[:, 0] if logits.ndim == 2 and logits.shape[1] == 1 else logits
    if logits.ndim != 1:
        raise ValueError(f"the model must return one logit per gene, got output of shape {tuple(logits.shape)}")
    return logits


def mark_shares(values: np.ndarray) -> np.ndarray:
    """Share of each mark in a map's total absolute value: (genes, marks, bins) -> (genes, marks), rows sum to 1."""
    totals = np.abs(values).sum(axis=2, dtype=np.float64)  # (genes, marks)
    sums = totals.sum(axis=1, keepdims=True)
    n_marks = values.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(sums > 0, totals / np.where(sums > 0, sums, 1.0), 1.0 / n_marks)
    return shares.astype(np.float32)


def map_frame(gene_ids: np.ndarray, marks: Sequence[str], method: str, values: np.ndarray) -> pd.DataFrame:
    """Tidy rows ``gene_id, method, mark, bin, value`` of one map (genes, marks, bins); bins from 1."""
    n_genes, n_marks, n_bins = values.shape
    return pd.DataFrame(
        {
            "gene_id": np.repeat(np.asarray(gene_ids, dtype=str), n_marks * n_bins),
            "method": method,
            "mark": np.tile(np.repeat(np.asarray(marks, dtype=str), n_bins), n_genes),
            "bin": np.tile(np.arange(1, n_bins + 1), n_genes * n_marks),
            "value": values.reshape(-1),
        }
    )


def as_histone_data(data) -> HistoneData:
    """Accept HistoneData, a CSV path, or counts (genes, bins, marks) as an array or tensor."""
    if isinstance(data, HistoneData):
        return data
    if isinstance(data, (str, Path)):
        from ..data.csv_io import read_csv

        return read_csv(data)
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    counts = np.asarray(data, dtype=np.float32)
    if counts.ndim != 3:
        raise ValueError(f"counts must have shape (genes, bins, marks), got {counts.shape}")
    n_marks = counts.shape[2]
    marks = MARKS if n_marks == len(MARKS) else tuple(f"mark{i + 1}" for i in range(n_marks))
    gene_ids = np.array([f"gene{i}" for i in range(counts.shape[0])])
    return HistoneData(gene_ids=gene_ids, counts=counts, labels=None, marks=marks, source=UNNAMED_SOURCE)


def check_fits(module: nn.Module, data: HistoneData) -> None:
    """Raise ValueError when ``data`` has another number of marks than ``module`` reads."""
    expected = getattr(module, "n_marks", None)
    if expected is not None and data.n_marks != expected:
        raise ValueError(f"{data.source or 'the data'}: has {data.n_marks} marks but the model expects {expected}")


def require_module(module, instead: str) -> None:
    """Refuse anything but an ``nn.Module``: the core reads its input as given and its outputs as ``output`` says.

    A :class:`~attentivechrome.trained.TrainedModel` (recognised without importing it: it lies
    above this layer) would lose its data checks and output decoding here, so the message names
    the call that keeps them (``instead``).
    """
    if isinstance(module, nn.Module):
        return
    if isinstance(module, (str, Path)):
        raise TypeError(f"{module}: load the model first (attentivechrome.load_model), or call attentivechrome.explain, which takes paths")
    if isinstance(getattr(module, "module", None), nn.Module):
        raise TypeError(
            f"a {type(module).__name__} is not explained by the module-level core, which would strip it to its module "
            f"(no data checks, outputs not decoded); call {instead}"
        )
    raise TypeError(f"model must be an nn.Module, got {type(module).__name__}")
