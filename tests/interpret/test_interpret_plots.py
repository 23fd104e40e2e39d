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


def test_gene_figures_are_in_kb_with_one_labelled_symmetric_scale_for_signed_maps():
    rng = np.random.default_rng(2)
    maps = {"attention": rng.random((5, 100)) / 100, "integrated_gradients": rng.normal(size=(5, 100)), "occlusion": 3 * rng.normal(size=(5, 100))}
    figure = plots.plot_method_comparison(maps, rng.poisson(2, (100, 5)), MARKS5, probability=0.7)
    heatmaps = {ax.get_title(loc="left"): ax for ax in figure.axes if ax.get_title(loc="left")}
    assert heatmaps["Occlusion"].get_xlim() == pytest.approx((-5.0, 5.0))  # 100 bins of 100 bp: TSS +/- 5 kb
    assert "kb" in figure.axes[len(maps)].get_xlabel()
    signed = [heatmaps[t].images[0] for t in ("Integrated gradients", "Occlusion")]
    limit = float(np.abs(maps["occlusion"]).max())
    for image in signed:
        assert image.get_clim() == pytest.approx((-limit, limit))  # one scale, symmetric about 0, as wide as the largest value
    assert heatmaps["Attention (alpha)"].images[0].get_clim()[0] == 0.0
    bars = [ax for ax in figure.axes if ax not in heatmaps.values() and ax.get_title() == "toward high\nexpression"]
    assert len(bars) == 1 and bars[0].get_xlabel() == "toward low\nexpression"  # one shared bar, both ends labelled
    assert plots.plot_gene(rng.poisson(2, (40, 5)), rng.random((5, 40)), None, MARKS5, bin_size=50).axes[0].get_xlim() == pytest.approx((-1.0, 1.0))


def test_class_figures_keep_legends_outside_the_axes(averages):
    figure = plots.plot_class_profiles(averages)
    assert figure.legends and all(not ax.get_legend() for ax in figure.axes)
    figure.savefig(io.BytesIO(), format="png", dpi=40)  # lays the figure out
    legend_box = figure.legends[0].get_window_extent()
    assert all(legend_box.x0 >= ax.get_window_extent().x1 - 1 for ax in figure.axes)  # right of every panel
    line = figure.axes[0].lines[0]
    assert line.get_xdata()[0] == pytest.approx(-1.45)  # 30 bins of 100 bp: first centre 1.45 kb upstream
