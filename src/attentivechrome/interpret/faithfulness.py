"""Faithfulness without ground truth: do a map's top cells carry the prediction?

For each gene, the mark x bin cells are ranked by the absolute value of a map (ties broken at
random, seeded). Two curves follow the model's output as cells change:

- **deletion**: the top ``k`` of the gene's cells are set to the baseline, for ``k`` from 0 to
  100% in ``steps`` even steps; a faithful map makes the output fall fast;
- **insertion**: start from the baseline and put the top ``k`` back; a faithful map makes the
  output rise fast.

The output is the model's log-odds (classification) or its decoded prediction (log1p expression,
or its deviation from the prior) as :class:`~attentivechrome.interpret.OutputScale` reads it; a
reference-informed model's prior is held fixed. Each gene's curve is normalised by
``f(full) - f(baseline)``, so deletion runs from 1 to 0 and insertion from 0 to 1, and its area is
the trapezoid mean over ``k``: deletion lower is better, insertion higher is better. Only genes
whose output moves by at least ``min_effect`` between the full input and the baseline are scored
(a gene that the baseline hardly changes has no curve worth normalising); ``n_genes`` says how many.

Baselines (:data:`BASELINES`), in the units of the input the module reads:

- ``zero``: no reads (0 in every cell);
- ``mean``: the mean profile of the genes given, per mark and bin (the cell's average gene).

Absent marks (NaN) stay absent in every masked input. Two reference rows come with every result:
``random`` (a seeded uniform map: the floor) and ``input`` (the reads themselves as the map, no model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import _settings
from .._progress import progress_bar
from ..data.dataset import HistoneData
from .attribution import METHODS
from .explain import OutputScale, _differentiable, _logits_of, as_histone_data, check_fits, require_module
from .scoring import mean_and_interval

#: The baselines a cell can be set to (see the module's description).
BASELINES = ("zero", "mean")
#: The rows added to every result: a seeded random map and the reads themselves.
REFERENCE_ROWS = ("random", "input")
#: The methods measured unless told otherwise (those a model supports): DeepLift equals input x gradient on these models.
FAITHFULNESS_METHODS = ("attention", "saliency", "input_x_gradient", "integrated_gradients", "occlusion")
#: Fractions of a curve unless told otherwise: 0, 10%, ..., 100%.
DEFAULT_STEPS = 11
#: Genes scored only when the baseline moves their output by at least this much (logits, or log1p units).
DEFAULT_MIN_EFFECT = 0.5
#: Genes per batch; each gene brings ``2 * (steps - 2)`` masked inputs per method into one forward pass.
DEFAULT_BATCH_SIZE = 64
#: Most masked inputs per forward pass.
FORWARD_CHUNK = 4096
#: The columns of :meth:`FaithfulnessResult.table`.
TABLE_COLUMNS = ("method", "deletion_auc", "deletion_low", "deletion_high", "insertion_auc", "insertion_low", "insertion_high", "n_genes")


@dataclass
class FaithfulnessResult:
    """Deletion and insertion curves of every method, per gene.

    Attributes
    ----------
    methods
        The rows: the maps given, in order, then ``random`` and ``input``.
    fractions
        Shape (steps,): the share of each gene's cells moved, 0 to 1.
    gene_ids
        Shape (genes,).
    full, base
        Shape (genes,): the output on the full input and on the baseline.
    deletion, insertion
        Method -> (genes, steps) raw outputs along each curve.
    baseline, min_effect, units
        How the curves were made: the baseline's name, the effect a gene needs to be scored,
        and the units of the outputs (``logits`` or ``log1p-expression units``).
    """

    methods: tuple[str, ...]
    fractions: np.ndarray
    gene_ids: np.ndarray
    full: np.ndarray
    base: np.ndarray
    deletion: dict[str, np.ndarray]
    insertion: dict[str, np.ndarray]
    baseline: str = "zero"
    min_effect: float = DEFAULT_MIN_EFFECT
    units: str = "logits"
    seconds: float = field(default=0.0, compare=False)

    @property
    def effect(self) -> np.ndarray:
        """Shape (genes,): ``f(full) - f(baseline)``."""
        return self.full - self.base

    @property
    def clear(self) -> np.ndarray:
        """Shape (genes,) bool: the genes scored, whose ``|effect| >= min_effect`` (and is not 0: a curve needs a change to normalise)."""
        effect = np.abs(self.effect)
        return (effect >= self.min_effect) & (effect > 0)

    @property
    def n_genes(self) -> int:
        """How many genes are scored."""
        return int(self.clear.sum())

    def normalised(self, method: str, curve: str = "deletion") -> np.ndarray:
        """(scored genes, steps): ``(f - f(baseline)) / (f(full) - f(baseline))`` of ``curve`` (deletion or insertion)."""
        raw = {"deletion": self.deletion, "insertion": self.insertion}[curve][method]
        keep = self.clear
        return (raw[keep] - self.base[keep, None]) / self.effect[keep, None]

    def areas(self, method: str, curve: str = "deletion") -> np.ndarray:
        """Shape (genes,): each gene's area under its normalised ``curve`` (trapezoid mean over the fractions); NaN for a gene not scored."""
        values = np.full(len(self.gene_ids), np.nan)
        values[self.clear] = _trapezoid_mean(self.normalised(method, curve), self.fractions)
        return values

    @property
    def curves(self) -> dict[str, dict[str, np.ndarray]]:
        """Method -> ``{"deletion": (steps,), "insertion": (steps,)}``: the mean normalised curves over the scored genes."""
        return {m: {c: self.normalised(m, c).mean(axis=0) if self.n_genes else np.full(len(self.fractions), np.nan) for c in ("deletion", "insertion")} for m in self.methods}

    def table(self) -> pd.DataFrame:
        """One row per method: mean deletion and insertion areas over the scored genes with 95% intervals, and ``n_genes``."""
        rows = []
        for method in self.methods:
            row = {"method": method}
            for curve in ("deletion", "insertion"):
                mean, half, n = mean_and_interval(self.areas(method, curve)[self.clear])
                row[f"{curve}_auc"] = float(mean)
                row[f"{curve}_low"] = float(mean - half)
                row[f"{curve}_high"] = float(mean + half)
            row["n_genes"] = self.n_genes
            rows.append(row)
        return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))

    def curves_frame(self) -> pd.DataFrame:
        """The mean curves as a tidy table: ``method, fraction, deletion, insertion``."""
        curves = self.curves
        return pd.DataFrame(
            {
                "method": np.repeat(np.asarray(self.methods, dtype=str), len(self.fractions)),
                "fraction": np.tile(self.fractions, len(self.methods)),
                "deletion": np.concatenate([curves[m]["deletion"] for m in self.methods]) if self.methods else [],
                "insertion": np.concatenate([curves[m]["insertion"] for m in self.methods]) if self.methods else [],
            }
        )

    def gene_frame(self) -> pd.DataFrame:
        """Per gene and method: ``gene_id, method, effect, scored, deletion_auc, insertion_auc`` (NaN areas for genes not scored)."""
        frames = [
            pd.DataFrame(
                {
                    "gene_id": np.asarray(self.gene_ids, dtype=str),
                    "method": method,
                    "effect": self.effect,
                    "scored": self.clear,
                    "deletion_auc": self.areas(method, "deletion"),
                    "insertion_auc": self.areas(method, "insertion"),
                }
            )
            for method in self.methods
        ]
        return pd.concat(frames, ignore_index=True)

    def to_markdown(self) -> str:
        """The table as markdown (areas with their 95% intervals)."""
        lines = [
            "| method | deletion AUC (lower is better) | insertion AUC (higher is better) | genes scored |",
            "|---|---|---|---|",
        ]
        for row in self.table().itertuples():
            lines.append(
                f"| {row.method} | {row.deletion_auc:.3f} [{row.deletion_low:.3f}, {row.deletion_high:.3f}] "
                f"| {row.insertion_auc:.3f} [{row.insertion_low:.3f}, {row.insertion_high:.3f}] | {row.n_genes} |"
            )
        return "\n".join(lines) + "\n"


def faithfulness(
    module: nn.Module,
    data,
    maps: Mapping[str, np.ndarray],
    *,
    output: OutputScale = OutputScale(),
    baseline: str = "zero",
    steps: int = DEFAULT_STEPS,
    min_effect: float = DEFAULT_MIN_EFFECT,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str | torch.device = "cpu",
    seed: int = 0,
    progress: bool | None = False,
) -> FaithfulnessResult:
    """Deletion and insertion curves of ``module`` on ``data`` for each map, plus ``random`` and ``input``.

    Parameters
    ----------
    module
        An ``nn.Module`` returning :class:`~attentivechrome.models.ModelOutput` (a
        :class:`~attentivechrome.trained.TrainedModel` goes through
        :func:`attentivechrome.faithfulness`, which prepares the data and computes the maps).
    data
        :class:`~attentivechrome.data.HistoneData` as the module reads them (or counts (genes, bins, marks)).
    maps
        Method name -> array of shape (genes, marks, bins) in the order of ``data``'s genes (the
        layout of :class:`~attentivechrome.interpret.Explanation`); cells are ranked by absolute value.
        ``random`` and ``input`` are added unless given.
    output
        How the module's outputs are read (default: log-odds).
    baseline
        ``zero`` (no reads, default) or ``mean`` (the genes' mean profile per mark and bin).
    steps
        Fractions per curve, evenly from 0 to 100% (at least 3). Default 11.
    min_effect
        Smallest ``|f(full) - f(baseline)|`` for a gene to be scored, in the output's units. Default 0.5.
    batch_size
        Genes per batch. Default 64.
    seed
        Seeds the random map and the breaking of ties.
    progress
        Show a progress bar over genes (``None``: the package setting).

    Examples
    --------
    >>> from attentivechrome import get_model, simulate
    >>> from attentivechrome.interpret import explain_module
    >>> from attentivechrome.interpret.faithfulness import faithfulness
    >>> data, _ = simulate(6, 10, seed=0)
    >>> model = get_model("attentivechrome", bin_hidden=4, mark_hidden=2)
    >>> result = faithfulness(model, data, {"saliency": explain_module(model, data, "saliency")["saliency"]}, min_effect=0.0)
    >>> result.methods, result.table()["n_genes"].tolist()
    (('saliency', 'random', 'input'), [6, 6, 6])
    >>> bool(abs(result.curves["input"]["deletion"][0] - 1) < 1e-6)
    True
    """
    import time

    started = time.perf_counter()
    require_module(module, "attentivechrome.faithfulness(model, data)")
    data = as_histone_data(data)
    check_fits(module, data)
    if baseline not in BASELINES:
        raise ValueError(f"baseline must be one of {', '.join(BASELINES)}, got {baseline!r}")
    if int(steps) != steps or steps < 3:
        raise ValueError(f"steps must be an integer of at least 3 (0, some fractions, 100%), got {steps}")
    if not np.isfinite(min_effect) or min_effect < 0:
        raise ValueError(f"min_effect must be 0 or more, got {min_effect}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    n_genes, n_bins, n_marks = data.counts.shape
    shape = (n_genes, n_marks, n_bins)
    checked: dict[str, np.ndarray] = {}
    for name, values in maps.items():
        values = np.asarray(values)
        if values.shape != shape:
            raise ValueError(f"the {name} map has shape {values.shape}; expected (genes, marks, bins) = {shape}")
        if not np.isfinite(values).all():
            raise ValueError(f"the {name} map holds NaN or infinite values")
        checked[str(name)] = values
    rng = np.random.default_rng(seed)
    if "random" not in checked:
        checked["random"] = rng.random(shape, dtype=np.float32)
    if "input" not in checked:
        checked["input"] = np.nan_to_num(np.abs(data.counts.transpose(0, 2, 1)), nan=0.0)
    methods = tuple(checked)
    tiebreak = rng.random((n_genes, n_bins * n_marks), dtype=np.float32)
    fractions = np.linspace(0.0, 1.0, int(steps))
    n_cells = n_bins * n_marks
    counts_moved = np.rint(fractions * n_cells).astype(np.int64)  # cells moved at each fraction
    inner = counts_moved[1:-1]  # fraction 0 and 100% are the full input and the baseline, shared by every method
    if baseline == "mean":
        with np.errstate(invalid="ignore"):
            profile = np.nanmean(data.counts, axis=0) if n_genes else np.zeros((n_bins, n_marks), np.float32)
        profile = np.nan_to_num(profile, nan=0.0).astype(np.float32)  # (bins, marks)
    else:
        profile = np.zeros((n_bins, n_marks), dtype=np.float32)

    device = torch.device(device)
    module = module.to(device)
    was_training = module.training
    module.eval()
    full = np.zeros(n_genes)
    base = np.zeros(n_genes)
    deletion = {m: np.zeros((n_genes, len(fractions))) for m in methods}
    insertion = {m: np.zeros((n_genes, len(fractions))) for m in methods}
    try:
        with progress_bar(n_genes, "faithfulness curves", enabled=progress) as advance, torch.no_grad(), _settings.torch_threads(1):
            for start in range(0, n_genes, batch_size):
                stop = min(start + batch_size, n_genes)
                x = np.ascontiguousarray(data.counts[start:stop], dtype=np.float32).reshape(stop - start, n_cells)  # (genes, bins*marks)
                absent = np.isnan(x)
                b = np.broadcast_to(profile.reshape(1, n_cells), x.shape).copy()
                b[absent] = np.nan  # an absent mark stays absent
                prior = None if data.prior is None else np.ascontiguousarray(data.prior[start:stop], dtype=np.float32)
                inputs = [x, b]
                for method in methods:
                    # the map's (genes, marks, bins) -> the input's (genes, bins, marks), flattened like x
                    score = np.abs(checked[method][start:stop]).transpose(0, 2, 1).reshape(stop - start, n_cells)
                    order = np.lexsort((tiebreak[start:stop], -score), axis=-1)
                    rank = np.empty_like(order)
                    np.put_along_axis(rank, order, np.arange(n_cells)[None, :], axis=-1)
                    top = rank[:, None, :] < inner[None, :, None]  # (genes, inner fractions, cells): the top cells
                    inputs.append(np.where(top, b[:, None, :], x[:, None, :]).reshape(-1, n_cells))  # deletion
                    inputs.append(np.where(top, x[:, None, :], b[:, None, :]).reshape(-1, n_cells))  # insertion
                values = _outputs(module, np.concatenate(inputs), prior, stop - start, len(inner), len(methods), n_bins, n_marks, device)
                values = output.decode(values) if output.decodes else values
                g = stop - start
                f_full, f_base = values[:g], values[g : 2 * g]
                full[start:stop], base[start:stop] = f_full, f_base
                offset = 2 * g
                for method in methods:
                    for curves, first, last in ((deletion, f_full, f_base), (insertion, f_base, f_full)):
                        block = values[offset : offset + g * len(inner)].reshape(g, len(inner))
                        offset += g * len(inner)
                        curves[method][start:stop, 0] = first
                        curves[method][start:stop, 1:-1] = block
                        curves[method][start:stop, -1] = last
                advance(g)
    finally:
        module.train(was_training)
    return FaithfulnessResult(
        methods=methods,
        fractions=fractions,
        gene_ids=np.asarray(data.gene_ids),
        full=full,
        base=base,
        deletion=deletion,
        insertion=insertion,
        baseline=baseline,
        min_effect=float(min_effect),
        units=output.units,
        seconds=time.perf_counter() - started,
    )


def top_cells(values: np.ndarray, fraction: float, *, seed: int = 0) -> np.ndarray:
    """Boolean, the shape of ``values`` (genes, marks, bins): each gene's top ``fraction`` of cells by absolute value.

    Ties are broken at random (seeded); ``round(fraction * marks * bins)`` cells per gene are chosen,
    as along a deletion curve. Remove-and-retrain (``benchmarks/roar.py``) masks the data with it.

    >>> top_cells(np.array([[[3.0, -5.0, 1.0, 0.0]]]), 0.5).astype(int).tolist()
    [[[1, 1, 0, 0]]]
    """
    values = np.asarray(values)
    if values.ndim != 3:
        raise ValueError(f"values must have shape (genes, marks, bins), got {values.shape}")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    n_genes = values.shape[0]
    n_cells = int(np.prod(values.shape[1:]))
    score = np.abs(values).reshape(n_genes, n_cells)
    tiebreak = np.random.default_rng(seed).random((n_genes, n_cells), dtype=np.float32)
    order = np.lexsort((tiebreak, -score), axis=-1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(n_cells)[None, :], axis=-1)
    return (rank < int(round(fraction * n_cells))).reshape(values.shape)


def applicable_methods(module: nn.Module, data: HistoneData, methods: Sequence[str] = FAITHFULNESS_METHODS) -> tuple[str, ...]:
    """The ``methods`` that can explain ``module``: attention only when it has some, gradients only when it gives them."""
    data = as_histone_data(data)
    if not data.n_genes:
        return tuple(methods)
    x = torch.from_numpy(np.ascontiguousarray(data.counts[:1], dtype=np.float32))
    prior = None if data.prior is None else torch.from_numpy(np.ascontiguousarray(data.prior[:1], dtype=np.float32))
    was_training = module.training
    module.eval()
    try:
        device = next(module.parameters()).device if any(True for _ in module.parameters()) else torch.device("cpu")
        x = x.to(device)
        prior = None if prior is None else prior.to(device)
        with torch.no_grad():
            out = module(x) if prior is None else module(x, prior)
        has_alpha = getattr(out, "alpha", None) is not None
        has_beta = getattr(out, "beta", None) is not None
        gradients = _differentiable(module, x, prior)
    finally:
        module.train(was_training)
    keep = []
    for method in methods:
        family = METHODS[method].family
        if family == "attention" and not (has_alpha and (method == "attention" or has_beta)):
            continue
        if family == "gradient" and not gradients:
            continue
        keep.append(method)
    return tuple(keep)


def _outputs(module, flat, prior, n_genes, n_inner, n_methods, n_bins, n_marks, device) -> np.ndarray:
    """The module's outputs for the stacked inputs: the full and baseline inputs, then each method's masked ones.

    ``prior`` (genes, features) is repeated to follow the stacking, so every masked input keeps its gene's prior.
    """
    if prior is not None:
        per_gene = np.arange(n_genes)
        rows = np.concatenate([per_gene, per_gene, np.tile(np.repeat(per_gene, n_inner), 2 * n_methods)])
        prior = prior[rows]
    x = torch.from_numpy(flat.reshape(-1, n_bins, n_marks))
    out = []
    for begin in range(0, len(x), FORWARD_CHUNK):
        chunk = x[begin : begin + FORWARD_CHUNK].to(device)
        if prior is None:
            result = module(chunk)
        else:
            result = module(chunk, torch.from_numpy(prior[begin : begin + FORWARD_CHUNK]).to(device))
        out.append(_logits_of(result).float().cpu().numpy())
    return np.concatenate(out).astype(np.float64)


def _trapezoid_mean(curves: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """The area under each row of ``curves`` over ``fractions`` (0 to 1): the trapezoid mean."""
    widths = np.diff(fractions)
    return ((curves[:, 1:] + curves[:, :-1]) / 2.0 * widths).sum(axis=1)


__all__ = ["BASELINES", "FAITHFULNESS_METHODS", "applicable_methods", "top_cells", "DEFAULT_MIN_EFFECT", "DEFAULT_STEPS", "REFERENCE_ROWS", "TABLE_COLUMNS", "FaithfulnessResult", "faithfulness"]
