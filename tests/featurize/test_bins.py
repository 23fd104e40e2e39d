"""Window and bin arithmetic, and the overlap counter against a brute-force count."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attentivechrome.featurize import bins
from attentivechrome.featurize.bins import BinLayout, count_overlaps, merge_windows, orient, windows


def test_layout_bins_and_validation():
    assert BinLayout().n_bins == 100
    assert BinLayout(bin_size=50, flank=1000).n_bins == 40
    with pytest.raises(ValueError, match="multiple of the bin size"):
        BinLayout(bin_size=100, flank=5050)
    with pytest.raises(ValueError, match="positive"):
        BinLayout(bin_size=0)
    with pytest.raises(ValueError, match="at least one bin"):
        BinLayout(bin_size=100, flank=50)


def test_windows_stranded_and_genomic():
    layout = BinLayout(bin_size=100, flank=5000)
    tss, strand = np.array([10_000, 10_000]), np.array(["+", "-"])
    lo, reverse = windows(tss, strand, layout, "stranded")
    # + : bin 51 starts at the TSS base; - : bin 1 is genomic (TSS+4900, TSS+5000], so the window is shifted by 1.
    assert lo.tolist() == [5000, 5001] and reverse.tolist() == [False, True]
    lo, reverse = windows(tss, strand, layout, "genomic")
    assert lo.tolist() == [5000, 5000] and reverse.tolist() == [False, False]
    with pytest.raises(ValueError, match="unknown orientation"):
        windows(tss, strand, layout, "upstream")


def test_minus_strand_tss_base_is_first_base_of_bin_51():
    layout = BinLayout(bin_size=100, flank=5000)
    lo, reverse = windows(np.array([10_000]), np.array(["-"]), layout)
    # One read covering only the TSS base (10,000) of a minus-strand gene.
    counts = orient(count_overlaps(np.array([10_000]), np.array([10_001]), lo, layout), reverse)
    assert np.flatnonzero(counts[0]).tolist() == [50]  # bin 51 (0-based 50)
    # The base just downstream in transcription (genomic 9,999) is still bin 51; 10,001 is upstream: bin 50.
    assert np.flatnonzero(orient(count_overlaps(np.array([10_001]), np.array([10_002]), lo, layout), reverse)[0]).tolist() == [49]


def test_count_overlaps_by_hand():
    layout = BinLayout(bin_size=10, flank=20)  # 4 bins: [0,10) [10,20) [20,30) [30,40)
    start = np.array([5, 18, 39, -6, 40, 0])
    end = np.array([15, 25, 45, 0, 50, 40])
    # [5,15) -> bins 0,1; [18,25) -> 1,2; [39,45) -> 3; [-6,0) ends at the window start -> none;
    # [40,50) starts at the window end -> none; [0,40) -> all four.
    assert count_overlaps(start, end, np.array([0]), layout).tolist() == [[2, 3, 2, 2]]
    # Same reads, window shifted: lo = 10 -> bins [10,20) [20,30) [30,40) [40,50):
    # [5,15) -> 0; [18,25) -> 0,1; [39,45) -> 2,3; [40,50) -> 3; [0,40) -> 0,1,2.
    assert count_overlaps(start, end, np.array([10]), layout).tolist() == [[3, 2, 2, 2]]


def test_merge_windows():
    starts, ends = merge_windows(np.array([0, 5, 100, 120, 300]), 50)
    assert starts.tolist() == [0, 100, 300] and ends.tolist() == [55, 170, 350]
    starts, ends = merge_windows(np.array([0, 50]), 50)  # touching windows share a region
    assert starts.tolist() == [0] and ends.tolist() == [100]


def test_orient_flips_only_reversed_genes():
    counts = np.arange(6).reshape(2, 3)
    assert orient(counts, np.array([False, True])).tolist() == [[0, 1, 2], [5, 4, 3]]


def _brute_force(start, end, lo, layout):
    out = np.zeros((len(lo), layout.n_bins), dtype=np.int64)
    for g, w in enumerate(lo):
        for k in range(layout.n_bins):
            a, b = w + k * layout.bin_size, w + (k + 1) * layout.bin_size
            out[g, k] = sum(1 for s, e in zip(start, end) if s < b and e > a)
    return out


@settings(max_examples=60, deadline=None)
@given(
    reads=st.lists(st.tuples(st.integers(-50, 400), st.integers(1, 120)), max_size=40),
    lo=st.lists(st.integers(-40, 350), min_size=1, max_size=5),
)
def test_count_overlaps_matches_brute_force(reads, lo):
    layout = BinLayout(bin_size=10, flank=30)
    start = np.array([s for s, _ in reads], dtype=np.int64)
    end = np.array([s + n for s, n in reads], dtype=np.int64)
    lo = np.array(lo, dtype=np.int64)
    assert np.array_equal(count_overlaps(start, end, lo, layout), _brute_force(start, end, lo, layout))


def test_count_overlaps_in_small_chunks_gives_the_same(monkeypatch):
    rng = np.random.default_rng(0)
    layout = BinLayout(bin_size=10, flank=50)
    start = np.sort(rng.integers(0, 5000, 3000))
    end = start + rng.integers(1, 80, 3000)
    lo = np.sort(rng.integers(0, 5000, 40))
    whole = count_overlaps(start, end, lo, layout)
    monkeypatch.setattr(bins, "_MAX_PAIRS", 7)
    assert np.array_equal(count_overlaps(start, end, lo, layout), whole)
    assert whole.sum() > 0
