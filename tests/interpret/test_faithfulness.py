"""Deletion and insertion curves (interpret.faithfulness, ac.faithfulness, interpret --faithfulness)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from attentivechrome.data import MARKS, HistoneData
from attentivechrome.interpret import ExplainOptions, OutputScale, explain_module
from attentivechrome.interpret.faithfulness import TABLE_COLUMNS, faithfulness, top_cells
from attentivechrome.models import ModelOutput


def naive_curve(module, counts, values, steps, tiebreak_free=True, baseline=None, prior=None, insertion=False):
    """One gene's raw curve, computed cell set by cell set with a loop (maps without ties)."""
    bins, marks = counts.shape
    order = np.argsort(-np.abs(values.T.reshape(-1)), kind="stable")  # the map (marks, bins) in the input's (bins, marks) order
    base = np.zeros(bins * marks, np.float32) if baseline is None else baseline.reshape(-1)
    out = []
    for k in np.linspace(0, 1, steps):
        top = order[: int(round(k * bins * marks))]
        x = counts.reshape(-1).copy() if not insertion else base.copy()
        x[top] = base[top] if not insertion else counts.reshape(-1)[top]
        args = (torch.from_numpy(x.reshape(1, bins, marks)),) + (() if prior is None else (torch.from_numpy(prior[None]),))
        with torch.no_grad():
            out.append(float(module(*args).logits[0]))
    return np.array(out)


def test_the_maps_that_find_the_planted_cells_beat_random(planted_model):
    model, data = planted_model.model, planted_model.data
    maps = explain_module(model, data, ["integrated_gradients", "attention"], options=ExplainOptions(n_steps=8)).maps
    result = faithfulness(model, data, maps, steps=11, min_effect=0.5, seed=0)
    table = result.table().set_index("method")
    assert list(result.methods) == ["integrated_gradients", "attention", "random", "input"]
    assert list(result.table().columns) == list(TABLE_COLUMNS)
    assert 10 <= result.n_genes <= data.n_genes and (table["n_genes"] == result.n_genes).all()
    for good in ("integrated_gradients", "input"):  # both put the planted H3K4me3 peak first
        assert table.loc[good, "deletion_high"] < table.loc["random", "deletion_low"], table
        assert table.loc[good, "insertion_low"] > table.loc["random", "insertion_high"], table
        assert table.loc[good, "deletion_auc"] < 0.25 and table.loc[good, "insertion_auc"] > 0.75
    for method in result.methods:  # the normalised curves start and end where they must
        deletion, insertion = result.normalised(method, "deletion"), result.normalised(method, "insertion")
        np.testing.assert_allclose(deletion[:, 0], 1.0, atol=1e-9)
        np.testing.assert_allclose(deletion[:, -1], 0.0, atol=1e-9)
        np.testing.assert_allclose(insertion[:, 0], 0.0, atol=1e-9)
        np.testing.assert_allclose(insertion[:, -1], 1.0, atol=1e-9)
    curves = result.curves_frame()
    assert list(curves.columns) == ["method", "fraction", "deletion", "insertion"] and len(curves) == 4 * 11
    genes = result.gene_frame()
    assert genes.scored.sum() == 4 * result.n_genes and genes.deletion_auc.isna().sum() == 4 * (data.n_genes - result.n_genes)


def test_batched_curves_equal_a_loop_over_genes_and_fractions(planted_model):
    model, data = planted_model.model, planted_model.data.subset(np.arange(5))
    rng = np.random.default_rng(4)
    values = rng.normal(size=(5, len(MARKS), data.n_bins)).astype(np.float32)  # no ties
    mean = data.counts.mean(axis=0)
    for baseline, base in (("zero", None), ("mean", mean)):
        result = faithfulness(model, data, {"m": values}, steps=6, baseline=baseline, batch_size=2, min_effect=0.0)
        for g in (0, 3, 4):
            np.testing.assert_allclose(result.deletion["m"][g], naive_curve(model, data.counts[g], values[g], 6, baseline=base), rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(result.insertion["m"][g], naive_curve(model, data.counts[g], values[g], 6, baseline=base, insertion=True), rtol=1e-4, atol=1e-4)


def test_regression_outputs_are_decoded_and_the_areas_do_not_change(planted_model):
    model, data = planted_model.model, planted_model.data
    maps = {"input_copy": data.counts.transpose(0, 2, 1).copy()}
    plain = faithfulness(model, data, maps, steps=5, min_effect=0.0)
    decoded = faithfulness(model, data, maps, steps=5, min_effect=0.0, output=OutputScale(task="regression", scale=2.0, offset=1.5))
    np.testing.assert_allclose(decoded.full, 2.0 * plain.full + 1.5, rtol=1e-6)
    np.testing.assert_allclose(decoded.deletion["input_copy"], 2.0 * plain.deletion["input_copy"] + 1.5, rtol=1e-6)
    assert decoded.units == "log1p-expression units"
    pd.testing.assert_frame_equal(decoded.table(), plain.table(), rtol=1e-6)
    # the genes scored follow the decoded effect: a threshold of twice the logit effect keeps the same genes
    assert faithfulness(model, data, maps, steps=5, min_effect=1.0, output=OutputScale(task="regression", scale=2.0)).n_genes == int((np.abs(plain.effect) >= 0.5).sum())


class PriorModule(nn.Module):
    """Reads the marks and a reference prior: logit = sum of log1p reads of mark 0 / 10 + 10 * prior."""

    n_marks = 2

    def forward(self, x, prior=None):
        assert prior is not None, "the prior must be passed"
        return ModelOutput(logits=torch.log1p(x[:, :, 0]).sum(dim=1) / 10.0 + 10.0 * prior[:, 0], alpha=None, beta=None)


def test_a_reference_informed_models_prior_is_held_fixed_per_gene():
    rng = np.random.default_rng(0)
    counts = rng.poisson(3.0, size=(7, 6, 2)).astype(np.float32)
    prior = rng.normal(size=(7, 3)).astype(np.float32)
    data = HistoneData(gene_ids=np.array([f"g{i}" for i in range(7)]), counts=counts, labels=None, marks=("a", "b"), source="toy", prior=prior)
    values = rng.normal(size=(7, 2, 6)).astype(np.float32)
    result = faithfulness(PriorModule(), data, {"m": values}, steps=4, batch_size=3, min_effect=0.0)
    np.testing.assert_allclose(result.base, 10.0 * prior[:, 0], rtol=1e-5, atol=1e-5)  # no reads: the prior alone
    for g in range(7):
        np.testing.assert_allclose(result.deletion["m"][g], naive_curve(PriorModule(), counts[g], values[g], 4, prior=prior[g]), rtol=1e-5, atol=1e-5)


def test_top_cells_and_bad_arguments(planted_model):
    values = np.array([[[1.0, 1.0, 1.0, 1.0]]])
    picks = [top_cells(values, 0.5, seed=s) for s in range(8)]  # ties broken at random, by the seed
    assert all(p.sum() == 2 for p in picks) and len({p.tobytes() for p in picks}) > 1
    assert (top_cells(values, 0.5, seed=3) == top_cells(values, 0.5, seed=3)).all()
    model, data = planted_model.model, planted_model.data
    good = {"m": np.zeros((data.n_genes, len(MARKS), data.n_bins), np.float32)}
    with pytest.raises(ValueError, match="baseline must be one of zero, mean"):
        faithfulness(model, data, good, baseline="median")
    with pytest.raises(ValueError, match="steps must be an integer of at least 3"):
        faithfulness(model, data, good, steps=2)
    with pytest.raises(ValueError, match=r"the m map has shape \(64, 5, 19\)"):
        faithfulness(model, data, {"m": np.zeros((data.n_genes, len(MARKS), data.n_bins - 1))})


def test_the_python_entry_point_prepares_and_picks_the_methods(sim_dir, tiny_checkpoint):
    import attentivechrome as ac

    model = ac.load_model(tiny_checkpoint)
    genes = ["SIM000401", "SIM000402", "SIM000403"]
    result = ac.faithfulness(model, sim_dir / "test.csv", genes=genes, steps=3, min_effect=0.0, options=ExplainOptions(n_steps=2, window=50))
    assert list(result.methods) == ["attention", "saliency", "input_x_gradient", "integrated_gradients", "occlusion", "random", "input"]
    assert result.gene_ids.tolist() == genes
    assert list(ac.faithfulness(tiny_checkpoint, sim_dir / "test.csv", "saliency", genes=genes, steps=3).methods) == ["saliency", "random", "input"]


@pytest.mark.slow
def test_interpret_writes_the_faithfulness_files(sim_dir, tiny_checkpoint, tmp_path, capsys):
    from attentivechrome.cli.main import main

    out = tmp_path / "faithful"
    with pytest.raises(SystemExit) as stop:
        main([
            "interpret", "--model", str(tiny_checkpoint), "--input", str(sim_dir / "test.csv"), "--out", str(out),
            "--genes", "SIM000401,SIM000402,SIM000403,SIM000404", "--methods", "attention,saliency", "--max-gene-plots", "0",
            "--no-tsv", "--faithfulness", "--faithfulness-steps", "5", "--faithfulness-min-effect", "0", "--faithfulness-baseline", "mean",
            "--device", "cpu", "-q",
        ])  # fmt: skip
    assert (stop.value.code or 0) == 0
    table = pd.read_csv(out / "faithfulness.tsv", sep="\t")
    assert list(table.columns) == list(TABLE_COLUMNS) and table.method.tolist() == ["attention", "saliency", "random", "input"]
    curves = pd.read_csv(out / "faithfulness_curves.tsv", sep="\t")
    assert len(curves) == 4 * 5 and curves.fraction.max() == 1.0
    assert (out / "figures" / "faithfulness.png").is_file() and (out / "figures" / "faithfulness.svg").is_file()
    summary = (out / "summary.md").read_text()
    assert "## Faithfulness (deletion and insertion)" in summary and "mean baseline" in summary
    assert "lowest deletion AUC" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--faithfulness-baseline", "median"], "--faithfulness-baseline must be zero or mean, got 'median'"),
        (["--faithfulness-steps", "2"], "--faithfulness-steps must be at least 3"),
        (["--faithfulness-min-effect", "-1"], "--faithfulness-min-effect must be 0 or more"),
    ],
    ids=["baseline", "steps", "min-effect"],
)
def test_bad_faithfulness_options_exit_2(sim_dir, tiny_checkpoint, tmp_path, capsys, args, message):
    from attentivechrome.cli.main import main

    out = tmp_path / "o"
    with pytest.raises(SystemExit) as stop:
        main(["interpret", "--model", str(tiny_checkpoint), "--input", str(sim_dir / "test.csv"), "--out", str(out), "--faithfulness", *args, "-q"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not out.exists()


def test_the_figure_draws_every_method_on_both_curves():
    from attentivechrome.interpret.plots import plot_faithfulness

    rng = np.random.default_rng(1)
    counts = rng.poisson(3.0, size=(5, 6, 2)).astype(np.float32)
    data = HistoneData(gene_ids=np.array([f"g{i}" for i in range(5)]), counts=counts, labels=None, marks=("a", "b"), source="toy", prior=rng.normal(size=(5, 1)).astype(np.float32))
    result = faithfulness(PriorModule(), data, {"m": rng.normal(size=(5, 2, 6))}, steps=4, min_effect=0.0)
    fig = plot_faithfulness(result)
    deletion, insertion = fig.axes[:2]
    for ax, curve in ((deletion, "deletion"), (insertion, "insertion")):
        labels = [text.get_text() for text in ax.get_legend().get_texts()]
        assert len(labels) == 3 and labels[-1].startswith("the reads (no model)")
        table = result.table().set_index("method")
        assert labels[0] == f"m ({table.loc['m', f'{curve}_auc']:.3f})"
        np.testing.assert_allclose(ax.lines[0].get_ydata(), result.curves["m"][curve])
