"""Stability across models: rank correlations of maps and mark scores, and an ensemble's mean and spread."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from attentivechrome import simulate
from attentivechrome.interpret import ExplainOptions, Explanation
from attentivechrome.interpret.stability import COLUMNS, stability, write_stability
from attentivechrome.models import AttentiveChrome
from attentivechrome.trained import TrainedModel, ensemble
from attentivechrome.workflows.stability import model_stability


def _explanation(maps, ids=None, beta=None, logits=None):
    n = next(iter(maps.values())).shape[0]
    ids = np.array([f"g{i}" for i in range(n)]) if ids is None else np.asarray(ids)
    logits = np.arange(n, dtype=np.float32) if logits is None else logits
    return Explanation(ids, tuple(f"m{i}" for i in range(next(iter(maps.values())).shape[1])), tuple(maps), logits, None, maps, beta=beta)


def test_rank_correlation_per_gene_matches_scipy_and_averages_over_pairs():
    rng = np.random.default_rng(0)
    maps = [rng.normal(size=(30, 3, 8)) for _ in range(3)]
    result = stability([_explanation({"saliency": m}) for m in maps], signed=True)
    row = result.table.iloc[0]
    assert list(result.table.columns) == list(COLUMNS) and row.n_pairs == 3 and row.n_genes == 30
    expected = np.mean(
        [[spearmanr(maps[i][g].ravel(), maps[j][g].ravel())[0] for (i, j) in ((0, 1), (0, 2), (1, 2))] for g in range(30)], axis=1
    )
    np.testing.assert_allclose(result.per_gene["saliency"]["map"], expected, atol=1e-12)
    assert row.map_ci_low < row.map_rank_correlation < row.map_ci_high
    magnitude = stability([_explanation({"saliency": m}) for m in maps]).per_gene["saliency"]["map"]  # the default ranks |map|
    assert magnitude[0] == pytest.approx(np.mean([spearmanr(np.abs(maps[i][0]).ravel(), np.abs(maps[j][0]).ravel())[0] for i, j in ((0, 1), (0, 2), (1, 2))]))


def test_same_ranking_is_one_reversed_is_minus_one_and_genes_are_matched_by_id():
    rng = np.random.default_rng(1)
    base = rng.random((5, 2, 6))
    shuffled = np.array([3, 0, 4, 1, 2])
    a = _explanation({"occlusion": base})
    b = _explanation({"occlusion": 3 * base[shuffled] + 1}, ids=a.gene_ids[shuffled])  # same genes in another order
    c = _explanation({"occlusion": -base})
    assert stability([a, b]).table.loc[0, "map_rank_correlation"] == pytest.approx(1.0)
    assert stability([a, c], signed=True).table.loc[0, "map_rank_correlation"] == pytest.approx(-1.0)
    assert stability([a, c]).table.loc[0, "map_rank_correlation"] == pytest.approx(1.0)  # the same magnitudes
    # mark scores of attribution are shares of |map| per mark: -base has the same shares
    assert stability([a, c]).table.loc[0, "mark_score_rank_correlation"] == pytest.approx(1.0)


def test_attention_mark_scores_are_beta():
    rng = np.random.default_rng(2)
    alpha = rng.random((4, 3, 5))
    beta = rng.random((4, 3))
    a = _explanation({"attention": alpha}, beta=beta)
    b = _explanation({"attention": alpha}, beta=beta[:, ::-1].copy())
    mark_r = stability([a, b]).per_gene["attention"]["mark_scores"]
    expected = [spearmanr(beta[g], beta[g, ::-1])[0] for g in range(4)]
    np.testing.assert_allclose(mark_r, expected)


def test_bad_input_is_named():
    one = _explanation({"saliency": np.ones((2, 2, 3))})
    with pytest.raises(ValueError, match="at least two"):
        stability([one])
    with pytest.raises(ValueError, match="model1: its explanation has no occlusion map; it holds saliency"):
        stability([one, one], ["occlusion"])
    with pytest.raises(ValueError, match="share no gene"):
        stability([one, _explanation({"saliency": np.ones((2, 2, 3))}, ids=["x", "y"])])


def _tiny(seed):
    torch.manual_seed(seed)
    return TrainedModel.from_module(AttentiveChrome(bin_hidden=4, mark_hidden=2, transform="log1p"), marks=("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3"), n_bins=20)


def test_ensemble_maps_are_the_members_mean_with_their_spread():
    data, _ = simulate(12, 20, seed=0)
    members = [_tiny(1), _tiny(2)]
    joined = ensemble(members)
    methods = ["attention", "integrated_gradients", "occlusion"]
    ex = joined.explain(data, methods, options=ExplainOptions(n_steps=8))
    alone = [m.explain(data, methods, options=ExplainOptions(n_steps=8)) for m in members]
    for method in methods:
        np.testing.assert_allclose(ex[method], (alone[0][method] + alone[1][method]) / 2, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(ex.spread[method], np.std([alone[0][method], alone[1][method]], axis=0, ddof=1), rtol=1e-4, atol=1e-6)
    # integrated gradients of the ensemble's own (mean) logit are the members' mean: the maps are the ensemble's
    own = joined.explain(data, ["integrated_gradients"], options=ExplainOptions(n_steps=8))
    np.testing.assert_allclose(own.logits, (alone[0].logits + alone[1].logits) / 2, rtol=1e-5, atol=1e-6)
    same = ensemble([members[0], dataclasses.replace(members[0], module=_clone(members[0].module))])
    assert all(float(np.abs(v).max()) == 0.0 for v in same.explain(data, methods, options=ExplainOptions(n_steps=8)).spread.values())


def _clone(module):
    copy = AttentiveChrome(bin_hidden=4, mark_hidden=2, transform="log1p")
    copy.load_state_dict(module.state_dict())
    return copy


def test_model_stability_and_written_files(tmp_path):
    data, _ = simulate(16, 20, seed=1)
    result = model_stability([_tiny(1), _tiny(1)], data, ["saliency", "attention"], max_genes=10, seed=0, options=ExplainOptions(n_steps=4))
    assert len(result.gene_ids) == 10
    assert result.table["map_rank_correlation"].tolist() == pytest.approx([1.0, 1.0])  # the same weights explain alike
    assert result.prediction_correlation == pytest.approx(1.0)
    files = write_stability(result, tmp_path / "out")
    assert all(p.is_file() for p in files.values())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["stability.md", "stability.png", "stability.tsv", "stability_genes.tsv"]


def test_interpretation_of_an_ensemble_writes_the_spread(tmp_path):
    from attentivechrome.workflows import interpret_model

    data, _ = simulate(10, 20, seed=2)
    interpret_model(ensemble([_tiny(1), _tiny(2)]), data, tmp_path / "out", methods=["attention", "saliency"], max_gene_plots=0, tsv=False)
    with np.load(tmp_path / "out" / "explanations.npz") as npz:
        assert {"spread_attention", "spread_saliency"} <= set(npz.files) and npz["spread_saliency"].shape == (10, 5, 20)
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "## Spread across the ensemble's 2 members" in summary and (tmp_path / "out" / "figures" / "ensemble_spread.png").is_file()
