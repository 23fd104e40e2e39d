"""Regression metrics, expression targets, the regression task in the trainer, bootstrap helpers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import roc_auc_score

from attentivechrome.data import load_splits
from attentivechrome.data.expression import read_expression, with_expression_targets
from attentivechrome.data.layout import expression_path, load_regression_splits
from attentivechrome.metrics.bootstrap import auroc_rows, bootstrap_distribution, bootstrap_indices, bootstrap_interval, percentile_interval, spearman_rows
from attentivechrome.metrics.classification import UndefinedMetricError
from attentivechrome.metrics.regression import mse, pearson, regression_report, spearman
from attentivechrome.exceptions import InputFormatError
from attentivechrome.trained import load_model
from attentivechrome.config import TrainConfig
from attentivechrome.training.trainer import train


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_regression_metrics_match_scipy():
    rng = np.random.default_rng(0)
    t = rng.normal(size=50)
    p = t + rng.normal(size=50)
    p[:5] = p[5]  # ties
    assert pearson(t, p) == pytest.approx(pearsonr(t, p)[0])
    assert spearman(t, p) == pytest.approx(spearmanr(t, p)[0])
    assert mse(t, p) == pytest.approx(np.mean((t - p) ** 2))
    assert regression_report(t, p)["n_genes"] == 50
    with pytest.raises(UndefinedMetricError, match="predictions are constant"):
        pearson(t, np.ones(50))


def test_row_metrics_match_scikit_learn_with_ties():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, size=(6, 40))
    scores = rng.integers(0, 5, size=(6, 40)).astype(float)  # many ties
    expected = [roc_auc_score(l, s) for l, s in zip(labels, scores)]
    np.testing.assert_allclose(auroc_rows(labels, scores), expected)
    assert np.isnan(auroc_rows(np.zeros((1, 5)), np.arange(5.0)[None]))[0]
    np.testing.assert_allclose(spearman_rows(scores[:2], scores[2:4]), [spearmanr(a, b)[0] for a, b in zip(scores[:2], scores[2:4])])


def test_bootstrap_helpers():
    assert percentile_interval(np.arange(101.0)) == pytest.approx((2.5, 97.5))
    assert percentile_interval(np.array([np.nan, 1.0, 1.0])) == (1.0, 1.0)
    index = bootstrap_indices(30, 200, seed=4)
    assert index.shape == (200, 30) and np.array_equal(index, bootstrap_indices(30, 200, seed=4))
    rng = np.random.default_rng(2)
    labels = np.tile([0, 1], 100)
    scores = labels + rng.normal(0, 1.0, size=200)
    low, high = bootstrap_interval(labels, scores, "auroc", n_boot=300)
    assert low < roc_auc_score(labels, scores) < high and high - low < 0.2
    # Two seeds: the distribution is the mean of the per-seed metrics on the same resamples.
    two = bootstrap_distribution(labels, np.stack([scores, -scores]), "auroc", index=bootstrap_indices(200, 20))
    np.testing.assert_allclose(two, 0.5)
    with pytest.raises(ValueError, match="unknown metric 'r2'"):
        bootstrap_distribution(labels, scores, "r2", index=bootstrap_indices(200, 2))


def test_expression_targets(sim_dir, tmp_path):
    splits = load_regression_splits(sim_dir)
    expression = read_expression(expression_path(sim_dir))
    gene = splits["test"].gene_ids[0]
    assert splits["test"].labels.dtype == np.float32
    assert splits["test"].labels[0] == pytest.approx(np.log1p(expression[gene]))

    bad = tmp_path / "expression.csv"
    bad.write_text("g1,3\ng2,-1\n")
    with pytest.raises(InputFormatError, match=r"expression.csv:2: expected a finite expression value >= 0, got '-1'"):
        read_expression(bad)
    bad.write_text("g1,3\ng1,4\n")
    with pytest.raises(InputFormatError, match="expression.csv:2: gene 'g1' is listed twice"):
        read_expression(bad)
    with pytest.raises(InputFormatError, match=r"has no value for 200 of the 200 train genes \(e.g. SIM000000"):
        with_expression_targets(load_splits(sim_dir), pd.Series({"x": 1.0}))
    with pytest.raises(InputFormatError, match="regression needs expression.csv"):
        _missing_expression(sim_dir, tmp_path)


def _missing_expression(sim_dir, tmp_path):
    folder = tmp_path / "splits_only"
    folder.mkdir()
    for name in ("train", "valid", "test"):
        (folder / f"{name}.csv").write_bytes((sim_dir / f"{name}.csv").read_bytes())
    return expression_path(folder)


def test_regression_training_writes_its_run(sim_dir, tmp_path):
    splits = load_regression_splits(sim_dir)
    config = TrainConfig(model="cnn-attn", task="regression", epochs=3, batch_size=32, lr=3e-3, transform="log1p", device="cpu")
    trained, result = train(splits, config, out_dir=tmp_path / "run")
    assert trained.task == "regression" and np.isnan(result.test_auroc)
    assert result.scores["test_pearson"] > 0.4  # the planted marks drive the simulated expression
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    best = max(metrics["history"], key=lambda r: r["valid_pearson"])  # selection on validation Pearson
    assert metrics["best_epoch"] == best["epoch"]
    assert set(metrics) >= {"valid_pearson", "test_pearson", "test_spearman", "test_mse"}
    predictions = pd.read_csv(tmp_path / "run" / "test_predictions.tsv", sep="\t")
    assert list(predictions.columns) == ["gene_id", "log1p_expression", "target"]
    assert metrics["test_mse"] == pytest.approx(np.mean((predictions["log1p_expression"] - predictions["target"]) ** 2), rel=1e-4)
    # The checkpoint carries the target scale: model output * std + mean gives the saved predictions.
    loaded = load_model(tmp_path / "run")
    scale = loaded.target_scale
    assert loaded.task == "regression" and scale.std > 0 and loaded.epoch == metrics["best_epoch"]
    with torch.no_grad():
        raw = loaded.module(torch.from_numpy(splits["test"].counts)).logits.numpy()
    np.testing.assert_allclose(raw * scale.std + scale.mean, predictions["log1p_expression"], rtol=1e-4, atol=1e-4)
    # TrainedModel.predict decodes, so every entry point gets log1p expression, never a sigmoid of it.
    decoded = loaded.predict(splits["test"], with_attention=False)
    np.testing.assert_allclose(decoded.values, predictions["log1p_expression"], rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="regression model predicts log1p expression, not probabilities"):
        decoded.probabilities


def test_classical_regression_and_binary_targets_refused(sim_dir):
    splits = load_regression_splits(sim_dir)
    result = train(splits, TrainConfig(model="linear", task="regression", device="cpu")).record
    assert result.best_epoch == 1 and result.scores["test_pearson"] > 0.4
    with pytest.raises(ValueError, match="regression needs real-valued targets"):
        train(load_splits(sim_dir), TrainConfig(model="linear", task="regression", device="cpu"))
    with pytest.raises(ValueError, match="task must be one of classification, regression"):
        TrainConfig(task="ranking")
