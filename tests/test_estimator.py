"""The scikit-learn estimator."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

import attentivechrome
from attentivechrome import AttentiveChromeClassifier, NotFittedError, simulate

#: Small and quick: one epoch of a few genes, on one PyTorch thread's worth of work.
QUICK = {"epochs": 1, "batch_size": 32, "lr": 3e-3, "transform": "log1p", "device": "cpu"}


@pytest.fixture(scope="module")
def small():
    data, _ = simulate(120, 10, seed=3)
    return data


def test_fit_predict_save_load(tmp_path):
    data, _ = simulate(300, 30, seed=4)
    train, valid, test = (data.subset(slice(i, i + 100)) for i in (0, 100, 200))
    clf = AttentiveChromeClassifier(**{**QUICK, "epochs": 2})
    assert clf.get_params()["epochs"] == 2
    with pytest.raises(NotFittedError, match="not fitted"):
        clf.predict_proba(test)
    assert clf.fit(train, valid, test, progress=False) is clf
    proba = clf.predict_proba(test)
    assert proba.shape == (100, 2) and ((proba > 0) & (proba < 1)).all()
    np.testing.assert_allclose(proba.sum(1), 1, atol=1e-6)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    np.testing.assert_array_equal(clf.predict(test), (proba[:, 1] >= 0.5).astype(int))
    assert set(clf.result_.scores) >= {"valid_auroc", "test_auroc"}
    alpha, beta = clf.attention(test)
    np.testing.assert_allclose(beta.sum(1), 1, atol=1e-5)
    clf.save(tmp_path / "m.pt")
    again = AttentiveChromeClassifier.load(tmp_path / "m.pt")
    np.testing.assert_allclose(again.predict_proba(test), proba, atol=1e-6)
    assert again.get_params()["epochs"] == 2
    assert "AttentiveChromeClassifier" in attentivechrome.__all__


def test_the_constructor_only_stores_so_clone_and_set_params_work():
    clf = AttentiveChromeClassifier(epochs=3, lr=1e-3, model="deepchrome")
    twin = clone(clf)
    assert twin is not clf and twin.get_params() == clf.get_params()
    assert twin.set_params(epochs=5).epochs == 5 and clf.epochs == 3
    # a bad setting is refused by fit, not by the constructor (scikit-learn's contract)
    bad = AttentiveChromeClassifier(lr=-1.0)
    with pytest.raises(ValueError, match="lr must be"):
        bad.fit(np.zeros((20, 10, 5), np.float32), np.arange(20) % 2)


def test_fit_on_arrays_with_any_two_labels(small):
    names = np.where(small.labels > 0, "high", "low")
    clf = AttentiveChromeClassifier(**QUICK, validation_fraction=0.25).fit(small.counts, names, progress=False)
    np.testing.assert_array_equal(clf.classes_, ["high", "low"])
    proba = clf.predict_proba(small.counts)
    assert proba.shape == (120, 2)
    predicted = clf.predict(small.counts)
    assert set(predicted) <= {"high", "low"}
    np.testing.assert_array_equal(predicted, np.where(proba[:, 1] >= 0.5, "low", "high"))
    # 30 of the 120 genes selected the epoch, both classes among them
    assert clf.result_.scores["valid_auroc"] == clf.result_.scores["test_auroc"]
    assert 0 <= clf.score(small.counts, names) <= 1


def test_fit_refuses_labels_of_one_or_three_classes(small):
    clf = AttentiveChromeClassifier(**QUICK)
    with pytest.raises(ValueError, match="exactly two classes, got 3"):
        clf.fit(small.counts, np.arange(120) % 3)
    with pytest.raises(ValueError, match="needs labels"):
        clf.fit(small.counts)
    with pytest.raises(TypeError, match="both must be HistoneData"):
        clf.fit(small.counts, small)


def test_grid_search_clones_fits_and_scores(small):
    search = GridSearchCV(AttentiveChromeClassifier(**QUICK), {"lr": [1e-3, 3e-3]}, cv=2, scoring="roc_auc")
    search.fit(small.counts, small.labels.astype(int))
    assert search.best_params_["lr"] in (1e-3, 3e-3)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict_proba(small.counts).shape == (120, 2)
