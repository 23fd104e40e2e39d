"""Plot functions: they return a Figure, draw on given axes, and never touch pyplot's figure list."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from attentivechrome.interpret import plots
from attentivechrome.interpret.attention import ClassAverages

MARKS5 = ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")


@pytest.fixture
def averages():
    rng = np.random.default_rng(0)
    alpha = rng.random((2, 5, 30))
    return ClassAverages(
        marks=MARKS5,
        by="predicted",
        n_genes=np.array([4, 6]),
        alpha=alpha / alpha.sum(axis=2, keepdims=True),
        beta=np.full((2, 5), 0.2),
        signal=rng.random((2, 5, 30)),
        profiles={"attention": alpha, "occlusion": rng.random((2, 5, 30))},
    )


def test_every_plot_returns_a_figure_outside_pyplot(pyplot, averages):
    rng = np.random.default_rng(1)
    before = pyplot.get_fignums()
    figures = [
        plots.plot_gene(rng.poisson(2, (30, 5)), rng.random((5, 30)), np.full(5, 0.2), MARKS5, gene_id="g1", probability=0.8, label=1),
        plots.plot_method_comparison({"attention": rng.random((5, 30)), "integrated_gradients": rng.normal(size=(5, 30))}, rng.random((30, 5)), MARKS5),
        plots.plot_class_profiles(averages),
        plots.plot_class_profiles(averages, method="occlusion"),
        plots.plot_class_beta(averages),
        plots.plot_method_profiles(averages, cls="low"),
    ]
    for figure in figures:
        assert isinstance(figure, Figure)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=40)
        assert buffer.getvalue()[:4] == b"\x89PNG"
    assert pyplot.get_fignums() == before
    assert figures[0].get_suptitle() == "g1  |  P(high) = 0.800  |  label high"


def test_plots_draw_on_given_axes(pyplot, averages):
    fig, axes = pyplot.subplots(1, 3)
    assert plots.plot_gene(np.ones((30, 5)), np.full((5, 30), 1 / 30), np.full(5, 0.2), MARKS5, axes=axes) is fig
    assert len(axes[2].patches) == 5  # one beta bar per mark
    fig, ax = pyplot.subplots()
    assert plots.plot_class_beta(averages, ax=ax) is fig
    assert len(ax.patches) == 10


def test_plot_errors_name_what_is_missing(averages):
    with pytest.raises(ValueError, match="no class-average profile of 'saliency'; available: attention, occlusion"):
        plots.plot_class_profiles(averages, method="saliency")
    with pytest.raises(ValueError, match="cls must be one of high, low, got 'mid'"):
        plots.plot_method_profiles(averages, cls="mid")
