"""The simulator's cooperative rules: reproducible, the rules hold in the data, and truth.npz carries pairs and windows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from attentivechrome.data import MARKS
from attentivechrome.data.synthetic import load_truth, simulate, write_simulation

K4, K27, K36 = (MARKS.index(m) for m in ("H3K4me3", "H3K27me3", "H3K36me3"))


@pytest.fixture(scope="module")
def cooperative():
    return simulate(2000, 100, seed=5, rules="cooperative")


def test_same_seed_same_data_and_additive_is_the_default():
    a, ta = simulate(50, 20, seed=2, rules="cooperative")
    b, tb = simulate(50, 20, seed=2, rules="cooperative")
    np.testing.assert_array_equal(a.counts, b.counts)
    np.testing.assert_array_equal(ta.pair_active, tb.pair_active)
    plain, truth = simulate(50, 20, seed=2)
    explicit, _ = simulate(50, 20, seed=2, rules="additive")
    np.testing.assert_array_equal(plain.counts, explicit.counts)
    assert truth.rules == "additive" and truth.pairs == () and truth.pair_active is None
    assert not np.array_equal(plain.counts, a.counts)
    with pytest.raises(ValueError, match="unknown rules 'pairs'; choose from additive, cooperative"):
        simulate(50, 20, rules="pairs")


def test_the_rules_hold_in_the_planted_truth(cooperative):
    data, truth = cooperative
    assert truth.pairs == (("H3K4me3", "H3K27me3"), ("H3K4me3", "H3K36me3"))
    assert truth.pair_conditional == (False, True)
    bivalent, body = truth.pair_active.T
    promoter_k4 = truth.window_active[:, 0]
    # gene-body H3K36me3 is causal only with promoter H3K4me3
    body_alone = truth.pair_candidate[:, 1] & ~promoter_k4
    assert body_alone.sum() > 100 and not truth.mask[body_alone, K36].any() and (truth.mark_weight[body_alone, K36] == 0).all()
    assert (truth.mark_weight[body, K36] > 0).all() and truth.mask[body, K36].any(axis=1).all()
    # causal H3K4me3 cells lie inside the promoter window, causal H3K36me3 cells downstream of the TSS
    (k4_lo, k36_lo), (k4_hi, k36_hi) = truth.window_start, truth.window_stop
    assert (k4_lo, k4_hi, k36_lo, k36_hi) == (40, 60, 50, 100)
    assert not truth.mask[:, K4, :k4_lo].any() and not truth.mask[:, K4, k4_hi:].any() and not truth.mask[:, K36, :k36_lo].any()
    # a decoy adds reads outside the window
    decoy = truth.window_decoy[:, 0] & ~promoter_k4
    outside = np.r_[0:k4_lo, k4_hi:100]
    assert data.counts[decoy][:, outside, K4].max(axis=1).mean() > 3 * data.counts[~truth.window_decoy[:, 0]][:, outside, K4].max(axis=1).mean()
    # a bivalent promoter is low; the same peak without H3K27me3 over the promoter is high
    active = promoter_k4 & ~truth.pair_candidate[:, 0]
    assert data.labels[bivalent].mean() < 0.3 < 0.7 < data.labels[active].mean()
    assert (truth.mark_weight[bivalent][:, [K4, K27]] > 0).all()


def test_truth_file_round_trips_pairs_and_windows(tmp_path, cooperative):
    written = write_simulation(tmp_path / "sim", 60, 100, seed=5, rules="cooperative")
    truth = load_truth(tmp_path / "sim")
    _, direct = simulate(60, 100, seed=5, rules="cooperative")
    assert truth.rules == "cooperative" and truth.pairs == direct.pairs and truth.pair_names == ("bivalent", "body_needs_promoter")
    assert truth.window_marks == ("H3K4me3", "H3K36me3") and truth.window_start == direct.window_start
    for key in ("mask", "mark_weight", "pair_active", "pair_candidate", "window_active", "window_decoy"):
        np.testing.assert_array_equal(getattr(truth, key), getattr(direct, key), err_msg=key)
    manifest = json.loads(written["manifest"].read_text())
    assert manifest["rules"] == "cooperative" and [p["marks"] for p in manifest["pairs"]] == [["H3K4me3", "H3K27me3"], ["H3K4me3", "H3K36me3"]]
    write_simulation(tmp_path / "plain", 60, 100, seed=5)
    plain = load_truth(tmp_path / "plain")
    assert plain.rules == "additive" and plain.pair_active is None
    sub = truth.subset(np.array([3, 1]))
    np.testing.assert_array_equal(sub.pair_active, truth.pair_active[[3, 1]])
    assert sub.pairs == truth.pairs
