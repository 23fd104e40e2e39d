"""Per-gene scores against scikit-learn and SciPy, and the scoring of planted truths."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import average_precision_score, roc_auc_score

from attentivechrome.interpret import (
    mean_and_interval,
    rowwise_auroc,
    rowwise_average_precision,
    rowwise_pearson,
    rowwise_spearman,
    score_bins,
    score_marks,
    score_track,
)


@pytest.fixture
def tied_rows():
    """Integer scores (many ties, like occlusion windows) and labels with both classes in every row."""
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 4, size=(30, 25)).astype(float)
    labels = rng.random((30, 25)) < 0.3
    labels[:, 0], labels[:, 1] = True, False
    return scores, labels


def test_rowwise_auroc_matches_sklearn_with_ties(tied_rows):
    scores, labels = tied_rows
    expected = [roc_auc_score(y, s) for s, y in zip(scores, labels)]
    np.testing.assert_allclose(rowwise_auroc(scores, labels), expected, atol=1e-12)


def test_rowwise_average_precision_matches_sklearn_with_ties(tied_rows):
    scores, labels = tied_rows
    expected = [average_precision_score(y, s) for s, y in zip(scores, labels)]
    np.testing.assert_allclose(rowwise_average_precision(scores, labels), expected, atol=1e-12)
    continuous = scores + np.random.default_rng(1).random(scores.shape)
    expected = [average_precision_score(y, s) for s, y in zip(continuous, labels)]
    np.testing.assert_allclose(rowwise_average_precision(continuous, labels), expected, atol=1e-12)


def test_rows_with_one_class_are_nan():
    scores = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])
    labels = np.array([[0, 0, 0], [1, 1, 1]])
    assert np.isnan(rowwise_auroc(scores, labels)).all()
    ap = rowwise_average_precision(scores, labels)
    assert np.isnan(ap[0]) and ap[1] == 1.0


def test_rowwise_correlations_match_scipy():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 3, size=(20, 5)).astype(float)
    b = rng.random((20, 5))
    a[:, 0] = 5  # no constant row
    expected = [spearmanr(x, y).statistic for x, y in zip(a, b)]
    np.testing.assert_allclose(rowwise_spearman(a, b), expected, atol=1e-12)
    np.testing.assert_allclose(rowwise_pearson(a, b), [np.corrcoef(x, y)[0, 1] for x, y in zip(a, b)], atol=1e-12)
    assert np.isnan(rowwise_spearman(np.ones((1, 5)), b[:1])).all()


def test_score_bins_perfect_random_and_inverted_maps():
    rng = np.random.default_rng(3)
    mask = np.zeros((50, 5, 30), dtype=bool)
    mask[:, 3, 10:15] = True
    mask[::2, 1, 20:28] = True
    perfect = score_bins(mask.astype(float) * rng.uniform(0.5, 1.0, mask.shape), mask)
    np.testing.assert_allclose(perfect["auroc"], 1.0)
    np.testing.assert_allclose(perfect["aupr"], 1.0)
    random = score_bins(rng.random(mask.shape), mask)
    assert abs(np.mean(random["auroc"]) - 0.5) < 0.05
    assert abs(np.mean(random["aupr"]) - mask.mean(axis=(1, 2)).mean()) < 0.05  # AP of noise ~ the share of planted cells
    inverted = score_bins(-mask.astype(float) - 1, mask)  # scored by magnitude: a strong negative map is a perfect map
    np.testing.assert_allclose(inverted["auroc"], 1.0)
    per_mark = perfect["auroc_per_mark"]
    assert per_mark.shape == (50, 5)
    assert np.isnan(per_mark[:, 0]).all() and np.isnan(per_mark[1::2, 1]).all() and (per_mark[::2, 1] == 1).all()


def test_score_marks_rank_agreement_and_top_mark():
    weight = np.array([[0.0, 1.5, 0.0, 2.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0, 0.0]])
    scores = np.array([[0.1, 0.3, 0.0, 0.5, 0.1], [0.2, 0.2, 0.2, 0.2, 0.2], [0.1, 0.5, 0.2, 0.1, 0.1]])
    result = score_marks(scores, weight)
    assert result["top_mark"][0] == 1.0 and np.isnan(result["top_mark"][1]) and result["top_mark"][2] == 1.0
    assert result["spearman"][0] == pytest.approx(spearmanr(scores[0], weight[0]).statistic)
    assert np.isnan(result["spearman"][1])
    wrong = score_marks(np.array([[0.9, 0.0, 0.05, 0.05, 0.0]]), weight[:1])
    assert wrong["top_mark"][0] == 0.0


def test_mean_and_interval_ignores_nan():
    mean, half, n = mean_and_interval(np.array([1.0, 3.0, np.nan, 2.0]))
    assert mean == pytest.approx(2.0) and n == 3
    assert half == pytest.approx(1.96 * 1.0 / np.sqrt(3))


def test_scoring_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"scores and labels must both have shape \(rows, items\), got \(2, 3\) and \(2, 4\)"):
        rowwise_auroc(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="scores contain NaN"):
        rowwise_average_precision(np.full((1, 3), np.nan), np.array([[1, 0, 0]]))
    with pytest.raises(ValueError, match=r"map and truth mask must both have shape \(genes, marks, bins\)"):
        score_bins(np.zeros((2, 5, 10)), np.zeros((2, 5, 11), dtype=bool))


def test_score_track_correlation_and_top_k():
    track = np.array([[0, 1, 5, 9, 5, 1, 0, 0.0], [3, 3, 3, 3, 3, 3, 3, 3]])
    following = -2 * track  # scored by magnitude
    result = score_track(following, track, top_k=3)
    assert result["pearson"][0] == pytest.approx(1.0) and np.isnan(result["pearson"][1])
    assert result["top_k_recall"][0] == 1.0
    shifted = score_track(np.roll(track, 3, axis=1), track, top_k=3)
    assert shifted["top_k_recall"][0] == 0.0 and shifted["pearson"][0] < 0
    with pytest.raises(ValueError, match="top_k must be between 1 and the 8 bins, got 9"):
        score_track(track, track, top_k=9)
