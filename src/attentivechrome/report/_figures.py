"""Plotly figure specifications (plain dicts) for the report: curves, bars with intervals, heatmaps, profiles.

Axes do not exaggerate: AUROC axes start at 0.5 (no skill) or below, correlation axes at 0,
and intervals are drawn as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..interpret.positions import bin_centres_kb

#: Colours of the high and low classes (as the matplotlib figures).
CLASS_COLORS = {"high": "#c0392b", "low": "#2471a3"}
_MARGIN = {"l": 70, "r": 20, "t": 48, "b": 52}
#: Most points drawn per curve; longer ROC/PR curves are thinned evenly (their ends kept).
_MAX_POINTS = 2000


def layout(title: str, **extra) -> dict:
    return {"title": {"text": title, "x": 0, "font": {"size": 15}}, "margin": dict(_MARGIN), "legend": {"x": 1.02, "y": 1, "xanchor": "left"}, **extra}


def _thin(*arrays: np.ndarray) -> list[list[float]]:
    n = len(arrays[0])
    keep = np.unique(np.linspace(0, n - 1, min(n, _MAX_POINTS)).round().astype(int)) if n else np.array([], dtype=int)
    return [np.asarray(a)[keep].round(5).tolist() for a in arrays]


def roc_pr(curves: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> tuple[dict, dict]:
    """ROC and precision-recall figures, one curve per name -> (labels 0/1, scores)."""
    from sklearn.metrics import auc, precision_recall_curve, roc_curve

    roc, pr = [], []
    for name, (labels, scores) in curves.items():
        labels = np.asarray(labels)
        if len(np.unique(labels)) < 2:
            continue
        fpr, tpr, _ = roc_curve(labels, scores)
        precision, recall, _ = precision_recall_curve(labels, scores)
        x, y = _thin(fpr, tpr)
        roc.append({"type": "scatter", "mode": "lines", "x": x, "y": y, "name": f"{name} (AUROC {auc(fpr, tpr):.3f})"})
        x, y = _thin(recall[::-1], precision[::-1])
        pr.append({"type": "scatter", "mode": "lines", "x": x, "y": y, "name": f"{name} (positives {labels.mean():.2f})"})
    roc.append({"type": "scatter", "mode": "lines", "x": [0, 1], "y": [0, 1], "name": "no skill", "line": {"dash": "dot", "color": "#7f8c8d"}})
    axes = {"range": [0, 1], "constrain": "domain"}
    return (
        {"data": roc, "layout": layout("ROC curve (test genes)", xaxis={"title": {"text": "false positive rate"}, **axes}, yaxis={"title": {"text": "true positive rate"}, **axes})},
        {"data": pr, "layout": layout("precision-recall curve (test genes)", xaxis={"title": {"text": "recall"}, **axes}, yaxis={"title": {"text": "precision"}, **axes})},
    )


def prediction_scatter(curves: Mapping[str, tuple[np.ndarray, np.ndarray]], value_label: str = "predicted log1p expression") -> dict:
    """Regression: predicted against measured values, one series per name -> (targets, predictions)."""
    data = [
        {"type": "scattergl", "mode": "markers", "x": _thin(t)[0], "y": _thin(p)[0], "name": name, "marker": {"size": 4, "opacity": 0.6}}
        for name, (t, p) in curves.items()
    ]
    return {"data": data, "layout": layout("predicted against measured (test genes)", xaxis={"title": {"text": "measured log1p expression"}}, yaxis={"title": {"text": value_label}})}


def learning_curves(histories: Mapping[str, Sequence[dict]], metric: str = "auroc") -> dict:
    """Validation ``metric`` per epoch (solid), one colour per run, and the test score where it was taken.

    The trainer scores the test split once, for the selected epoch, so its record alone holds a
    test score: it shows as one diamond (histories of older runs, with a test score every epoch, as a dotted line).
    """
    data = []
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
    for i, (name, history) in enumerate(histories.items()):
        colour = palette[i % len(palette)]
        epochs = [row["epoch"] for row in history]
        key = f"valid_{metric}"
        if any(key in row for row in history):
            data.append({"type": "scatter", "mode": "lines+markers", "x": epochs, "y": [row.get(key) for row in history],
                         "name": f"{name}: valid", "line": {"color": colour}, "marker": {"size": 4}})  # fmt: skip
        tested = [row for row in history if f"test_{metric}" in row]
        if tested:
            mode = "markers" if len(tested) == 1 else "lines+markers"
            data.append({"type": "scatter", "mode": mode, "x": [row["epoch"] for row in tested], "y": [row[f"test_{metric}"] for row in tested],
                         "name": f"{name}: test", "line": {"color": colour, "dash": "dot"},
                         "marker": {"size": 9 if len(tested) == 1 else 4, "symbol": "diamond"}})  # fmt: skip
        if history and "train_loss" in history[0]:
            data.append({"type": "scatter", "mode": "lines", "x": epochs, "y": [row.get("train_loss") for row in history], "name": f"{name}: training loss",
                         "yaxis": "y2", "line": {"color": colour, "dash": "dash", "width": 1}})  # fmt: skip
    label = {"auroc": "AUROC", "pearson": "Pearson r"}.get(metric, metric)
    return {
        "data": data,
        "layout": layout(
            f"learning curves: validation (solid) and test (dotted) {label}; training loss (dashed, right axis)",
            xaxis={"title": {"text": "epoch"}, "dtick": 1 if data and len(data[0]["x"]) <= 30 else None},
            yaxis={"title": {"text": label}},
            yaxis2={"title": {"text": "training loss"}, "overlaying": "y", "side": "right", "showgrid": False},
            legend={"x": 1.08, "y": 1, "xanchor": "left"},
        ),
    }


def benchmark_bars(per_cell: pd.DataFrame, runs: pd.DataFrame | None, primary: str) -> dict:
    """Mean of the primary metric per cell and model with its 95% bootstrap interval (the numbers of :func:`~attentivechrome.experiments.benchmark.benchmark_figure_data`)."""
    from ..experiments.benchmark import benchmark_figure_data

    bars = benchmark_figure_data(per_cell, runs, primary)
    data = []
    for j, model in enumerate(bars.models):
        shown = bars.present[j]
        mean = bars.mean[j][shown]
        data.append({
            "type": "bar", "name": model, "x": [c for c, s in zip(bars.cells, shown) if s], "y": mean.round(4).tolist(),
            "error_y": {"type": "data", "symmetric": False, "array": (bars.high[j][shown] - mean).round(4).tolist(),
                        "arrayminus": (mean - bars.low[j][shown]).round(4).tolist(), "thickness": 1},
        })  # fmt: skip
    return {
        "data": data,
        "layout": layout(
            f"{bars.label} per cell and model: mean over seeds, whiskers 95% bootstrap interval over test genes (axis from {bars.bottom:g}; dashed: no skill)",
            barmode="group", yaxis={"title": {"text": bars.label}, "range": [bars.bottom, 1.0]}, xaxis={"title": {"text": "cell"}},
            shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": bars.floor, "y1": bars.floor, "line": {"dash": "dash", "width": 1}}],
        ),
    }


def matrix_heatmap(matrix: pd.DataFrame, metric: str) -> dict:
    """The cross-cell matrix: rows trained on, columns tested on, the value written in each cell (the numbers of :func:`~attentivechrome.experiments.cross_cell.matrix_figure_data`).

    The colours span no skill to 1 (the PNG's span the values shown).
    """
    from ..experiments.cross_cell import matrix_figure_data

    figure = matrix_figure_data(matrix, metric)
    missing = ~np.isfinite(figure.values)
    return {
        "data": [{"type": "heatmap", "z": np.round(figure.values, 4).tolist(), "x": figure.columns, "y": figure.rows,
                  "text": [["" if m else t for t, m in zip(row, gaps)] for row, gaps in zip(figure.text, missing)], "texttemplate": "%{text}",
                  "colorscale": "Viridis", "zmin": figure.floor, "zmax": 1.0, "colorbar": {"title": {"text": figure.label}}, "hoverongaps": False}],  # fmt: skip
        "layout": layout(f"cross-cell {figure.label}: rows trained on, columns tested on", xaxis={"title": {"text": "test cell"}}, yaxis={"title": {"text": "trained on"}, "autorange": "reversed"}),
    }


def method_bars(table: pd.DataFrame) -> dict:
    """Interpretation benchmark: bin-level AUROC per method with its 95% interval, the random floor dashed."""
    data = [{
        "type": "bar", "orientation": "h", "y": table["label"].astype(str).tolist(), "x": table["bin_auroc"].round(4).tolist(),
        "error_x": {"type": "data", "array": table["bin_auroc_ci"].fillna(0).round(4).tolist()}, "name": "bin AUROC",
        "marker": {"color": ["#7f8c8d" if f == "reference" else "#d35400" if f == "attention" else "#2e86c1" for f in table["family"]]},
    }]  # fmt: skip
    return {"data": data, "layout": layout("which map finds the planted signal? bin-level AUROC (orange: attention, blue: attributions, grey: references)",
                                            xaxis={"title": {"text": "bin-level AUROC"}, "range": [0, 1]}, yaxis={"autorange": "reversed"},
                                            shapes=[{"type": "line", "yref": "paper", "y0": 0, "y1": 1, "x0": 0.5, "x1": 0.5, "line": {"dash": "dash", "width": 1}}])}  # fmt: skip


def class_profiles(profile: np.ndarray, signal: np.ndarray | None, marks: Sequence[str], n_genes: Sequence[int], legends: Sequence[str], bin_size: int, what: str) -> dict:
    """Class-average profiles (2, marks, bins) per mark, high vs low; the mean input below when given."""
    n_marks, n_bins = profile.shape[1:]
    x = bin_centres_kb(n_bins, bin_size).round(4).tolist()
    rows = 2 if signal is not None else 1
    data = []
    for j, mark in enumerate(marks):
        for k, cls in enumerate(("high", "low")):
            style = {"color": CLASS_COLORS[cls]}
            name = f"{legends[k]} (n={int(n_genes[k])})"
            axis = "" if j == 0 else str(j + 1)
            data.append({"type": "scatter", "mode": "lines", "x": x, "y": np.round(profile[k, j], 6).tolist(), "name": name, "legendgroup": cls,
                         "showlegend": j == 0, "line": style, "xaxis": f"x{axis}", "yaxis": f"y{axis}"})  # fmt: skip
            if signal is not None:
                axis2 = str(n_marks + j + 1)
                data.append({"type": "scatter", "mode": "lines", "x": x, "y": np.round(signal[k, j], 4).tolist(), "name": name, "legendgroup": cls,
                             "showlegend": False, "line": style, "xaxis": f"x{axis2}", "yaxis": f"y{axis2}"})  # fmt: skip
    grid = layout(f"class-average {what} (top) and mean reads (bottom) per mark; dashed: TSS" if signal is not None else f"class-average {what} per mark")
    grid["grid"] = {"rows": rows, "columns": n_marks, "pattern": "independent"}
    grid["annotations"] = [{"text": m, "showarrow": False, "xref": f"x{'' if j == 0 else j + 1} domain", "yref": f"y{'' if j == 0 else j + 1} domain",
                              "x": 0.5, "y": 1.12, "font": {"size": 12}} for j, m in enumerate(marks)]  # fmt: skip
    grid["shapes"] = [{"type": "line", "x0": 0, "x1": 0, "xref": f"x{'' if a == 1 else a}", "yref": f"y{'' if a == 1 else a} domain", "y0": 0, "y1": 1,
                         "line": {"dash": "dash", "width": 1}} for a in range(1, rows * n_marks + 1)]  # fmt: skip
    for a in range(1, rows * n_marks + 1):
        key = "" if a == 1 else str(a)
        grid[f"xaxis{key}"] = {"title": {"text": "kb from TSS" if a > (rows - 1) * n_marks else ""}}
    grid["yaxis"] = {"title": {"text": f"mean {what}"}}
    if signal is not None:
        grid[f"yaxis{n_marks + 1}"] = {"title": {"text": "mean reads"}}
    grid["height"] = 300 * rows + 60
    return {"data": data, "layout": grid}


def beta_bars(beta: np.ndarray, marks: Sequence[str], n_genes: Sequence[int], legends: Sequence[str]) -> dict:
    """Mean beta per mark for each class, grouped bars; dotted: uniform."""
    data = [{"type": "bar", "x": list(marks), "y": np.round(beta[k], 4).tolist(), "name": f"{legends[k]} (n={int(n_genes[k])})",
             "marker": {"color": CLASS_COLORS[cls]}} for k, cls in enumerate(("high", "low"))]  # fmt: skip
    uniform = 1.0 / len(marks)
    return {"data": data, "layout": layout(f"mean mark-level attention beta by class (dotted: uniform {uniform:.2f})", barmode="group",
                                            yaxis={"title": {"text": "mean beta"}, "rangemode": "tozero"},
                                            shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": uniform, "y1": uniform, "line": {"dash": "dot", "width": 1}}])}  # fmt: skip

