"""Pictures of maps: one gene, class averages, methods side by side, and the benchmark.

Every function draws on the axes it is given (or on a new :class:`~matplotlib.figure.Figure`
that is not registered with pyplot) and returns the Figure. Nothing here calls ``show()``
or changes global matplotlib state.

Heatmaps put marks on rows and positions on columns, in kb from the TSS (the window is centred
on the TSS: 100 bins of 100 bp span -5 to +5 kb; ``bin_size`` sets the bp per bin); a dashed
line marks the TSS. The axis says what a position means (``orientation``): for bins in genomic
order it is the genomic position relative to the TSS, never upstream or downstream, since a
positive position lies upstream of a minus-strand gene (:mod:`attentivechrome.data.orientation`).
Legends sit outside the data. Signed attribution maps of one figure share one symmetric colour scale whose bar says which way is toward high expression.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..data.schema import DEFAULT_BIN_SIZE
from .attention import CLASSES, ClassAverages, class_legend
from .attribution import METHODS
from ..data.orientation import position_label
from .positions import bin_centres_kb, bin_edges_kb

#: Colours of the high and low classes, in the order of :data:`~attentivechrome.interpret.attention.CLASSES`.
CLASS_COLORS = {"high": "#c0392b", "low": "#2471a3"}
_REFERENCE_COLOR = "#7f8c8d"


def plot_gene(
    counts: np.ndarray,
    alpha: np.ndarray,
    beta: np.ndarray | None,
    marks: Sequence[str],
    *,
    gene_id: str = "",
    probability: float | None = None,
    label: int | None = None,
    axes: Sequence[Axes] | None = None,
    expression: float | None = None,
    bin_size: int = DEFAULT_BIN_SIZE,
    orientation: str = "unknown",
) -> Figure:
    """One gene: its input signal and alpha as heatmaps (marks x positions), beta as bars.

    Parameters
    ----------
    counts
        The gene's raw counts, shape (bins, marks) as in the CSV; drawn as log(1 + count).
    alpha
        Shape (marks, bins).
    beta
        Shape (marks,), or ``None`` (no bar chart).
    marks
        Row names.
    gene_id, probability, label, expression
        Shown in the title when given (``expression``: a regression model's predicted log1p expression).
    axes
        Three axes (signal, alpha, beta) to draw on; default: a new figure.
    bin_size
        Base pairs per bin: the x axis is in kb from the TSS. Default 100.
    orientation
        Which way the bins run (``transcript``, ``genomic``, ``unknown``): the axis label. Default ``unknown``.
    """
    counts = np.asarray(counts, dtype=np.float64).T  # (bins, marks) -> (marks, bins)
    marks = _absent_named(marks, counts)
    alpha = np.asarray(alpha, dtype=np.float64)
    n_marks, n_bins = alpha.shape
    slots = None
    if axes is None:
        # A fixed layout (inches), not a layout engine: a dozen gene figures per run drew twice as fast.
        layout = _Inches(width=12.0, height=5.2)
        ax_signal = layout.axes(fig_left=1.6, right=5.0, bottom=3.05, top=0.7)
        ax_alpha = layout.axes(fig_left=1.6, right=5.0, bottom=0.7, top=2.5, sharex=ax_signal)
        ax_beta = layout.axes(fig_left=9.45, right=0.3, bottom=0.7, top=2.5)
        fig, slots = layout.figure, layout
    else:
        ax_signal, ax_alpha, ax_beta = axes
        fig = ax_signal.figure
    image = _heatmap(ax_signal, np.log1p(counts), marks, bin_size, cmap="Greys", vmin=0.0)
    _colorbar(fig, image, [ax_signal], slots, label="log(1 + reads)")
    ax_signal.set_title("input signal")
    ax_signal.tick_params(labelbottom=False)
    image = _heatmap(ax_alpha, alpha, marks, bin_size, cmap="viridis", vmin=0.0)
    _colorbar(fig, image, [ax_alpha], slots, label="alpha (attention weight)")
    ax_alpha.set_title("bin-level attention alpha (each row sums to 1)")
    ax_alpha.set_xlabel(f"{position_label(orientation)}; dashed: TSS")
    if beta is not None:
        ax_beta.barh(np.arange(n_marks), np.asarray(beta), color="#5d6d7e")
        ax_beta.set_yticks(np.arange(n_marks), list(marks))
        ax_beta.set_ylim(n_marks - 0.5, -0.5)  # first mark on top, as in the heatmap
        ax_beta.set_xlabel("beta (sums to 1)")
        ax_beta.set_title("mark-level attention")
        ax_beta.set_xlim(0, max(1.05 * float(np.max(beta)), 1e-6))
    else:
        ax_beta.axis("off")
    fig.suptitle(_gene_title(gene_id, probability, label, expression))
    return fig


def plot_method_comparison(
    maps: Mapping[str, np.ndarray],
    counts: np.ndarray,
    marks: Sequence[str],
    *,
    gene_id: str = "",
    probability: float | None = None,
    label: int | None = None,
    truth: np.ndarray | None = None,
    axes: Sequence[Axes] | None = None,
    expression: float | None = None,
    bin_size: int = DEFAULT_BIN_SIZE,
    orientation: str = "unknown",
) -> Figure:
    """The same gene under several methods, one heatmap (marks x positions) per method below its input.

    Parameters
    ----------
    maps
        Method name -> map of shape (marks, bins). Signed maps share one diverging scale,
        symmetric about 0 and as wide as the largest absolute value among them, with one
        colour bar labelled toward high expression (red) and toward low expression (blue);
        unsigned maps (attention, saliency) each get a sequential scale of their own.
    counts
        The gene's raw counts, shape (bins, marks).
    truth
        Optional boolean (marks, bins) of planted cells (simulated data), drawn below the input.
    axes
        ``len(maps) + 1`` axes (+ 1 with ``truth``); default: a new figure.
    bin_size
        Base pairs per bin: the x axis is in kb from the TSS. Default 100.
    orientation
        Which way the bins run (``transcript``, ``genomic``, ``unknown``): the axis label. Default ``unknown``.
    """
    maps = {method: np.asarray(values, dtype=np.float64) for method, values in maps.items()}
    marks = _absent_named(marks, np.asarray(counts, dtype=np.float64).T)
    n_rows = len(maps) + 1 + (truth is not None)
    signed = {method: is_signed(method, values) for method, values in maps.items()}
    rows = [False] * (n_rows - len(maps)) + list(signed.values())  # which rows share the signed scale
    first = rows.index(True) if True in rows else 0
    apart = True in rows and not all(rows[first : len(rows) - rows[::-1].index(True)])  # unsigned rows between signed ones
    slots = None
    if axes is None:
        # A fixed layout (inches): rows of equal height, colour bars on the right; the shared bar of
        # the signed maps gets a column of its own when unsigned rows sit between them.
        row, gap, top, bottom = 1.05, 0.42, 0.75, 0.62
        layout = _Inches(width=10.25 + (1.1 if apart else 0.0), height=top + bottom + n_rows * row + (n_rows - 1) * gap)
        axes = []
        for i in range(n_rows):
            lower = bottom + (n_rows - 1 - i) * (row + gap)
            axes.append(layout.axes(fig_left=1.6, right=1.6 + (1.1 if apart else 0.0), bottom=lower, top=layout.height - lower - row, sharex=axes[0] if axes else None))
        fig, slots = layout.figure, layout
    else:
        fig = axes[0].figure
    image = _heatmap(axes[0], np.log1p(np.asarray(counts, dtype=np.float64).T), marks, bin_size, cmap="Greys", vmin=0.0)
    _colorbar(fig, image, [axes[0]], slots, label="log(1+reads)")
    axes[0].set_title("input signal", fontsize=10, loc="left")
    if truth is not None:
        image = _heatmap(axes[1], np.asarray(truth, dtype=float), marks, bin_size, cmap="Greens", vmin=0.0, vmax=1.0)
        _colorbar(fig, image, [axes[1]], slots, ticks=[0, 1])
        axes[1].set_title("planted signal (ground truth)", fontsize=10, loc="left")
    limit = shared_limit([values for method, values in maps.items() if signed[method]])
    signed_axes, signed_image = [], None
    for ax, (method, values) in zip(axes[1 + (truth is not None) :], maps.items()):
        info = METHODS.get(method)
        if signed[method]:
            signed_image = _heatmap(ax, values, marks, bin_size, cmap=DIVERGING_CMAP, vmin=-limit, vmax=limit)
            signed_axes.append(ax)
        else:
            image = _heatmap(ax, values, marks, bin_size, cmap="viridis", vmin=0.0)
            _colorbar(fig, image, [ax], slots, label=_unsigned_label(method))
        ax.set_title(info.label if info is not None else method, fontsize=10, loc="left")
    if signed_image is not None:
        units = "log1p expression" if expression is not None else "log-odds"
        bar = _colorbar(fig, signed_image, signed_axes, slots, column=1 if apart else 0, label=f"contribution to the predicted {units}\n(one scale for every signed map)")
        label_direction(bar)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel(f"{position_label(orientation)}; dashed: TSS")
    fig.suptitle(_gene_title(gene_id, probability, label, expression))
    return fig


def plot_class_profiles(
    averages: ClassAverages,
    *,
    method: str = "attention",
    axes: np.ndarray | None = None,
) -> Figure:
    """Class-average profiles along the bins, one column per mark: the map on top, the input below.

    Parameters
    ----------
    averages
        From :class:`~attentivechrome.interpret.attention.ClassAverager`.
    method
        Whose profile to draw: ``attention`` (mean alpha) or any method in ``averages.profiles``.
    axes
        A (2, marks) array of axes; default: a new figure.
    """
    profile = averages.alpha if method == "attention" and averages.alpha is not None else averages.profiles.get(method)
    if profile is None:
        raise ValueError(f"no class-average profile of {method!r}; available: {', '.join(averages.profiles) or 'none'}")
    n_marks, n_bins = profile.shape[1:]
    if axes is None:
        fig = Figure(figsize=(3.0 * n_marks, 5.2), layout="constrained")
        axes = fig.subplots(2, n_marks, sharex=True, squeeze=False)
    else:
        fig = axes[0, 0].figure
    x = bin_centres_kb(n_bins, averages.bin_size)
    label = METHODS[method].label if method in METHODS else method
    for j, mark in enumerate(averages.marks):
        for k, cls in enumerate(CLASSES):
            legend = f"{class_legend(averages.by, cls)} (n={averages.n_genes[k]})"
            axes[0, j].plot(x, profile[k, j], color=CLASS_COLORS[cls], lw=1.4, label=legend)
            axes[1, j].plot(x, averages.signal[k, j], color=CLASS_COLORS[cls], lw=1.4)
        axes[0, j].set_title(mark)
        axes[0, j].axhline(1.0 / n_bins, color=_REFERENCE_COLOR, lw=0.8, ls=":", label="uniform (1 / bins)" if j == 0 else None)
        for row in range(2):
            axes[row, j].axvline(0.0, color="black", lw=0.8, ls="--", label="TSS" if row == 0 and j == 0 else None)
        axes[1, j].set_xlabel(_panel_xlabel(j, len(averages.marks), averages.orientation))
    axes[0, 0].set_ylabel(f"mean {label}" if method != "attention" else "mean alpha")
    axes[1, 0].set_ylabel("mean reads per bin")
    _legend_outside(fig, axes[0, 0])
    fig.suptitle(f"class-average profiles of {label} (top) and of the input (bottom)")
    return fig


def plot_class_beta(averages: ClassAverages, *, ax: Axes | None = None) -> Figure:
    """Mean beta per mark for each class, as grouped bars."""
    if averages.beta is None:
        raise ValueError("these averages hold no beta (the model has no mark-level attention)")
    if ax is None:
        fig = Figure(figsize=(6.5, 3.8), layout="constrained")
        ax = fig.add_subplot()
    fig = ax.figure
    n_marks = len(averages.marks)
    x = np.arange(n_marks)
    width = 0.38
    for k, cls in enumerate(CLASSES):
        legend = f"{class_legend(averages.by, cls)} (n={averages.n_genes[k]})"
        ax.bar(x + (k - 0.5) * width, averages.beta[k], width, color=CLASS_COLORS[cls], label=legend)
    ax.axhline(1.0 / n_marks, color=_REFERENCE_COLOR, lw=0.8, ls=":", label="uniform (1 / marks)")
    ax.set_xticks(x, list(averages.marks))
    ax.set_ylabel("mean beta")
    ax.set_title("mark-level attention by class")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, borderaxespad=0.0)
    return fig


def plot_method_profiles(averages: ClassAverages, *, cls: str = "high", axes: Sequence[Axes] | None = None) -> Figure:
    """Every method's class-average bin profile, one panel per mark, beside the input's.

    Each profile is the mean over the class of the gene's |map| normalised to sum to 1
    over the bins of the mark, so methods with different units share one axis; the input
    signal is normalised the same way.

    Parameters
    ----------
    averages
        From :class:`~attentivechrome.interpret.attention.ClassAverager`.
    cls
        ``high`` (default) or ``low``.
    axes
        One axes per mark; default: a new figure.
    """
    if cls not in CLASSES:
        raise ValueError(f"cls must be one of {', '.join(CLASSES)}, got {cls!r}")
    k = CLASSES.index(cls)
    n_marks, n_bins = averages.signal.shape[1:]
    if axes is None:
        fig = Figure(figsize=(3.0 * n_marks, 3.6), layout="constrained")
        axes = fig.subplots(1, n_marks, sharex=True)
    else:
        fig = axes[0].figure
    x = bin_centres_kb(n_bins, averages.bin_size)
    for j, (ax, mark) in enumerate(zip(axes, averages.marks)):
        signal = averages.signal[k, j]
        total = signal.sum()
        ax.plot(x, signal / total if total > 0 else signal, color="black", lw=2.2, alpha=0.3, label="input signal")
        for method, profile in averages.profiles.items():
            ax.plot(x, profile[k, j], lw=1.2, label=METHODS[method].label if method in METHODS else method)
        ax.axvline(0.0, color="black", lw=0.8, ls="--", label="TSS")
        ax.set_title(mark)
        ax.set_xlabel(_panel_xlabel(j, len(averages.marks), averages.orientation))
    axes[0].set_ylabel("share of |map| per bin")
    _legend_outside(fig, axes[0])
    fig.suptitle(f"class-average profiles of every method over {class_legend(averages.by, cls)} genes (n={averages.n_genes[k]})")
    return fig


def plot_spread_profiles(
    mean_abs: Mapping[str, np.ndarray], mean_spread: Mapping[str, np.ndarray], marks: Sequence[str], *, bin_size: int = DEFAULT_BIN_SIZE, n_members: int, n_genes: int, orientation: str = "unknown"
) -> Figure:
    """An ensemble's maps and their spread: per method (rows) and mark (columns), the mean over genes of |map| per bin, with a band of +- the mean spread.

    ``mean_abs[method]`` and ``mean_spread[method]`` have shape (marks, bins): the mean over the
    genes of the absolute mean map and of the members' standard deviation, cell by cell.
    """
    methods = list(mean_abs)
    n_bins = next(iter(mean_abs.values())).shape[1]
    x = bin_centres_kb(n_bins, bin_size)
    fig = Figure(figsize=(2.6 * len(marks), 1.9 * len(methods) + 0.8), layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(methods), len(marks), sharex=True, squeeze=False))
    for i, method in enumerate(methods):
        for j, mark in enumerate(marks):
            ax = axes[i, j]
            centre, band = mean_abs[method][j], mean_spread[method][j]
            ax.fill_between(x, np.maximum(centre - band, 0.0), centre + band, color="tab:orange", alpha=0.35, lw=0, label="+- spread across members")
            ax.plot(x, centre, color="tab:blue", lw=1.2, label="|mean map|")
            ax.axvline(0.0, color="black", lw=0.6, ls="--")
            if i == 0:
                ax.set_title(mark)
            if j == 0:
                ax.set_ylabel(METHODS[method].label if method in METHODS else method, fontsize=8)
            if i == len(methods) - 1:
                ax.set_xlabel(position_label(orientation), fontsize=8)
            ax.tick_params(labelsize=7)
    _legend_outside(fig, axes[0, 0])
    fig.suptitle(f"mean |map| over {n_genes} genes, +- the spread of the {n_members} members' maps", fontsize=10)
    return fig


def plot_ground_truth_benchmark(table: pd.DataFrame, *, axes: Sequence[Axes] | None = None) -> Figure:
    """Bars of bin-level AUROC, AUPR and mark-rank agreement per method, with 95% intervals.

    ``table`` is :attr:`GroundTruthBenchmark.table`; reference rows (random floor, input signal)
    are grey, and the random floor's value is drawn across each panel as a dashed line.
    """
    panels = [("bin_auroc", "bin-level AUROC"), ("bin_aupr", "bin-level AUPR"), ("mark_spearman", "mark rank agreement (Spearman)")]
    title = "which map finds the planted signal? (orange: attention, blue: attributions, grey: references; dashed: random floor)"
    return _score_bars(table, panels, title, axes=axes)


def plot_cooperation(table: pd.DataFrame, *, axes: Sequence[Axes] | None = None, title: str | None = None) -> Figure:
    """Bars of the cooperation scores per method (pair AUROC, partner AUROC, window share), with 95% intervals.

    ``table`` is :attr:`GroundTruthBenchmark.cooperation` (or :func:`score_cooperation`'s table);
    its ``attrs["headers"]`` name the panels. The random floor is the dashed line.
    """
    headers: dict[str, str] = table.attrs.get("headers") or {c: c for c in table.columns if f"{c}_ci" in table.columns}
    panels = [(column, header.replace(" (", "\n(", 1)) for column, header in headers.items()]
    title = title or "do the maps recover the cooperating marks and the rules' windows? (dashed: random floor)"
    return _score_bars(table, panels, title, axes=axes)


def _score_bars(table: pd.DataFrame, panels: Sequence[tuple[str, str]], title: str, *, axes: Sequence[Axes] | None) -> Figure:
    """One panel of horizontal bars per score column, methods on the y axis (references grey)."""
    if axes is None:
        fig = Figure(figsize=(4.4 * len(panels), 0.5 + 0.42 * len(table) + 1.5), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    else:
        fig = axes[0].figure
    y = np.arange(len(table))
    colors = [_REFERENCE_COLOR if family == "reference" else "#2e86c1" if family != "attention" else "#d35400" for family in table["family"]]
    for ax, (column, name) in zip(axes, panels):
        ax.barh(y, table[column], xerr=table[f"{column}_ci"], color=colors, ecolor="black", capsize=2)
        if "random" in table.index:
            ax.axvline(table.loc["random", column], color="black", lw=0.9, ls="--")
        ax.set_title(name, fontsize=9)
        for yi, value, half in zip(y, table[column], table[f"{column}_ci"].fillna(0.0)):
            if np.isfinite(value):
                ax.text(max(value, 0.0) + half, yi, f" {value:.3f}", va="center", ha="left", fontsize=8)
        low = min(0.0, float(np.nanmin(table[column] - table[f"{column}_ci"].fillna(0))))
        ax.set_xlim(low, 1.12)
    axes[0].set_yticks(y, list(table["label"]))
    axes[0].invert_yaxis()
    fig.suptitle(title)
    return fig


#: Colour map of signed attributions: red toward high expression, blue toward low.
DIVERGING_CMAP = "RdBu_r"


def _panel_xlabel(column: int, n_columns: int, orientation: str) -> str:
    """The x label of one of a row of narrow panels: the full position label under the middle one, "kb" elsewhere
    (the full label under every panel ran into its neighbours')."""
    return position_label(orientation) if column == n_columns // 2 else "kb"


def is_signed(method: str, values: np.ndarray) -> bool:
    """Whether ``method``'s map carries a direction (registered methods say; others: any value below 0)."""
    info = METHODS.get(method)
    return info.signed if info is not None else bool(np.nanmin(values) < 0) if np.size(values) else False


def shared_limit(maps: Sequence[np.ndarray]) -> float:
    """The half-width of one symmetric colour scale for ``maps``: their largest absolute value (1 when all are 0)."""
    finite = [np.nanmax(np.abs(m)) for m in maps if np.size(m) and np.isfinite(np.nanmax(np.abs(m)))]
    limit = float(max(finite, default=0.0))
    return limit if limit > 0 else 1.0


def label_direction(bar, *, high: str = "toward high\nexpression", low: str = "toward low\nexpression") -> None:
    """Write which end of a vertical diverging colour bar means what: high on top, low below."""
    bar.ax.set_title(high, fontsize=7, color="#b2182b")
    bar.ax.set_xlabel(low, fontsize=7, color="#2166ac")


class _Inches:
    """Place axes on a new figure by margins in inches (no layout engine: drawing stays cheap)."""

    def __init__(self, width: float, height: float) -> None:
        self.width, self.height = width, height
        self.figure = Figure(figsize=(width, height))
        self.right_edges: dict[int, float] = {}

    def axes(self, *, fig_left: float, right: float, bottom: float, top: float, sharex: Axes | None = None) -> Axes:
        """Axes whose left edge is ``fig_left`` in from the figure's left and the other edges that far from theirs."""
        box = [fig_left / self.width, bottom / self.height, (self.width - fig_left - right) / self.width, (self.height - bottom - top) / self.height]
        return self.figure.add_axes(box, sharex=sharex)

    def bar(self, axes: Sequence[Axes], column: int = 0) -> Axes:
        """A colour-bar axes beside ``axes`` (as tall as they are together), in column ``column`` to their right."""
        boxes = [ax.get_position() for ax in axes]
        x = max(b.x1 for b in boxes) + (0.12 + 1.1 * column) / self.width
        y0, y1 = min(b.y0 for b in boxes), max(b.y1 for b in boxes)
        return self.figure.add_axes([x, y0, 0.14 / self.width, y1 - y0])


def _colorbar(fig: Figure, image, axes: Sequence[Axes], slots: _Inches | None, *, column: int = 0, **style):
    """A colour bar for ``image``: in its fixed slot on figures laid out here, else taking room from ``axes``."""
    if slots is not None:
        return fig.colorbar(image, cax=slots.bar(axes, column), **style)
    return fig.colorbar(image, ax=list(axes), pad=0.01, aspect=8 * len(axes), **style)


def _unsigned_label(method: str) -> str:
    return {"attention": "alpha", "attention_x_beta": "alpha x beta", "saliency": "|gradient| (log-odds per read)"}.get(method, "value")


def _legend_outside(fig: Figure, ax: Axes) -> None:
    """One legend for the figure, on its right, outside every axes (handles taken from ``ax``)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right upper", fontsize=8, frameon=False)


def _heatmap(ax: Axes, values: np.ndarray, marks: Sequence[str], bin_size: int = DEFAULT_BIN_SIZE, **style):
    """Draw (marks, bins) over their positions in kb from the TSS, with the TSS line; return the image."""
    n_marks, n_bins = values.shape
    edges = bin_edges_kb(n_bins, bin_size)
    image = ax.imshow(values, aspect="auto", interpolation="nearest", extent=(edges[0], edges[-1], n_marks - 0.5, -0.5), **style)
    ax.set_yticks(np.arange(n_marks), list(marks))
    ax.axvline(0.0, color="white" if style.get("cmap") == "viridis" else "black", lw=0.9, ls="--")
    return image


def _absent_named(marks: Sequence[str], counts: np.ndarray) -> list[str]:
    """Mark labels, ``(absent)`` added where the gene's counts (marks, bins) are all NaN (a mark the input lacks)."""
    return [f"{m} (absent)" if np.isnan(counts[j]).all() else m for j, m in enumerate(marks)]


def _gene_title(gene_id: str, probability: float | None, label: int | None, expression: float | None = None) -> str:
    parts = [gene_id] if gene_id else []
    if probability is not None:
        parts.append(f"P(high) = {probability:.3f}")
    if expression is not None:
        parts.append(f"predicted log1p expression = {expression:.3f}")
    if label is not None:
        parts.append(f"label {'high' if int(label) == 1 else 'low'}")
    return "  |  ".join(parts)


def plot_faithfulness(result, *, axes: Sequence[Axes] | None = None) -> Figure:
    """Mean deletion and insertion curves of every method (:class:`~attentivechrome.interpret.faithfulness.FaithfulnessResult`).

    The x axis is the share of each gene's mark x bin cells moved (ranked by |map|), the y axis
    the output normalised per gene (1: the full input's, 0: the baseline's). Each legend entry
    gives the area: deletion lower, insertion higher is better. The references (``random``,
    ``input``) are grey.
    """
    if axes is None:
        fig = Figure(figsize=(11, 4.2), layout="constrained")
        axes = fig.subplots(1, 2, sharey=True)
    else:
        fig = axes[0].figure
    table = result.table().set_index("method")
    curves = result.curves
    percent = 100.0 * np.asarray(result.fractions)
    palette = ["#d35400", "#2e86c1", "#27ae60", "#8e44ad", "#c0392b", "#16a085", "#f39c12", "#2c3e50"]
    colour = {}
    for method in result.methods:
        if method == "random":
            colour[method] = ("#7f8c8d", "--")
        elif method == "input":
            colour[method] = ("#34495e", ":")
        else:
            colour[method] = (palette[len(colour) % len(palette)], "-")
    for ax, curve, title in ((axes[0], "deletion", "deletion: top cells set to the baseline"), (axes[1], "insertion", "insertion: top cells put back on the baseline")):
        for method in result.methods:
            color, style = colour[method]
            info = METHODS.get(method)
            name = info.label if info is not None else {"random": "random map", "input": "the reads (no model)"}.get(method, method)
            ax.plot(percent, curves[method][curve], color=color, ls=style, lw=1.6, marker="o", ms=3, label=f"{name} ({table.loc[method, f'{curve}_auc']:.3f})")
        ax.axhline(0.0, color="black", lw=0.6)
        ax.axhline(1.0, color="black", lw=0.6, ls=":")
        ax.set_xlabel("share of each gene's mark x bin cells moved (%), ranked by |map|")
        ax.set_title(title)
        ax.legend(fontsize=7, frameon=False, title="area", title_fontsize=7, loc="upper right" if curve == "deletion" else "lower right")
    axes[0].set_ylabel(f"output, normalised per gene\n(1: full input, 0: {result.baseline} baseline)")
    fig.suptitle(
        f"faithfulness on {result.n_genes} of {len(result.gene_ids)} genes (those whose output moves by >= {result.min_effect:g} {result.units} to the baseline)",
        fontsize=10,
    )
    return fig
