"""The scikit-learn-shaped estimator."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import attentivechrome
from attentivechrome import AttentiveChromeClassifier, NotFittedError, simulate


def test_doctest_examples():
    import attentivechrome.estimator as module

    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0


def test_fit_predict_save_load(tmp_path):
    data, _ = simulate(300, 30, seed=4)
    train, valid, test = (data.subset(slice(i, i + 100)) for i in (0, 100, 200))
    clf = AttentiveChromeClassifier(epochs=2, batch_size=32, lr=3e-3, transform="log1p", device="cpu")
    assert clf.get_params()["epochs"] == 2
    with pytest.raises(NotFittedError, match="not fitted"):
        clf.predict_proba(test)
    clf.fit(train, valid, test, progress=False)
    proba = clf.predict_proba(test)
    assert proba.shape == (100,) and ((proba > 0) & (proba < 1)).all()
    np.testing.assert_array_equal(clf.predict(test), (proba >= 0.5).astype(int))
    alpha, beta = clf.attention(test)
    np.testing.assert_allclose(beta.sum(1), 1, atol=1e-5)
    clf.save(tmp_path / "m.pt")
    again = AttentiveChromeClassifier.load(tmp_path / "m.pt")
    np.testing.assert_allclose(again.predict_proba(test), proba, atol=1e-6)
    assert "AttentiveChromeClassifier" in attentivechrome.__all__
