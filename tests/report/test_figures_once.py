"""Each figure's numbers are computed once: benchmark.png / matrix.png (matplotlib) and the report's page (plotly) read one data function."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attentivechrome.experiments.benchmark import benchmark_figure_data, plot_benchmark
from attentivechrome.experiments.cross_cell import matrix_figure_data, plot_matrix
from attentivechrome.report import _figures


@pytest.fixture()
def regression_benchmark():
    """Two cells, two models (one absent from cell b), Pearson intervals reaching below -0.98."""
    per_cell = pd.DataFrame({
        "cell": ["a", "a", "b"], "model": ["x", "y", "x"], "pearson_mean": [0.6, -0.5, 0.7],
        "pearson_low": [0.5, -0.99, 0.65], "pearson_high": [0.7, -0.2, 0.75],
    })  # fmt: skip
    runs = pd.DataFrame({"cell": ["a", "a", "a", "b"], "model": ["x", "x", "y", "x"], "test_pearson": [0.58, 0.62, -0.5, 0.7]})
    return per_cell, runs


def test_the_benchmark_bars_read_one_computation(regression_benchmark):
    per_cell, runs = regression_benchmark
    data = benchmark_figure_data(per_cell, runs, "pearson")
    assert data.bottom == -1.0 and data.floor == 0.0 and data.label == "test Pearson"  # a correlation axis ends at -1
    assert data.present.tolist() == [[True, True], [True, False]] and np.isnan(data.mean[1, 1])
    assert data.seeds[0][0].tolist() == [0.58, 0.62]

    axes = plot_benchmark(per_cell, runs, task="regression").axes[0]
    assert axes.get_ylim()[0] == data.bottom and axes.get_ylabel() == data.label
    page = _figures.benchmark_bars(per_cell, runs, "pearson")
    assert page["layout"]["yaxis"]["range"][0] == data.bottom and page["layout"]["yaxis"]["title"]["text"] == data.label
    bars = {trace["name"]: trace for trace in page["data"]}
    assert bars["y"]["x"] == ["a"] and bars["x"]["y"] == [0.6, 0.7]  # a model's absent cell has no bar
    assert bars["x"]["error_y"]["arrayminus"] == [0.1, 0.05]


def test_the_matrix_reads_one_computation():
    matrix = pd.DataFrame([[0.9, np.nan], [0.7, 0.8], [0.75, np.nan]], index=["a", "b", "all-but-a"], columns=["a", "b"])
    data = matrix_figure_data(matrix, "auroc")
    assert data.within.tolist() == [[True, False], [False, True], [False, False]]
    assert data.pooled.tolist() == [[False, False], [False, False], [True, False]]
    assert data.value_range == (0.7, 0.9) and data.text[0] == ["0.900", "n/a"]

    figure = plot_matrix(matrix, metric="auroc")
    assert [t.get_text() for t in figure.axes[0].texts][:2] == data.text[0]
    heatmap = _figures.matrix_heatmap(matrix, "auroc")["data"][0]
    assert heatmap["text"][0] == ["0.900", ""] and heatmap["zmin"] == data.floor and heatmap["colorbar"]["title"]["text"] == data.label
