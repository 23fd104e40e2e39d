"""Marks matched by name, and per-cell normalisation towards the training cells."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from attentivechrome.data import HistoneData
from attentivechrome.data.marks import absent_marks, align_marks, union_marks
from attentivechrome.data.normalize import Normalization
from attentivechrome.data.synthetic import simulate


def _cell(seed=0, scale=1.0, marks=None):
    data, _ = simulate(40, 10, seed=seed)
    counts = data.counts * scale
    if marks is not None:
        index = [data.marks.index(m) for m in marks]
        return dataclasses.replace(data, counts=np.ascontiguousarray(counts[:, :, index]), marks=tuple(marks))
    return dataclasses.replace(data, counts=counts)


def test_align_reorders_by_name_and_marks_missing_and_extra():
    data = _cell(marks=("H3K9me3", "H3K4me3", "H3K27me3"))
    data = dataclasses.replace(data, counts=np.concatenate([data.counts, data.counts[:, :, :1]], axis=2), marks=(*data.marks, "H3K27ac"))
    match = align_marks(data, ("h3k27ME3", "H3K4me1", "H3K4me3", "H3K9me3"))
    assert match.missing == ("H3K4me1",) and match.extra == ("H3K27ac",)
    assert match.data.marks == ("h3k27ME3", "H3K4me1", "H3K4me3", "H3K9me3")
    np.testing.assert_array_equal(match.data.counts[:, :, 0], data.counts[:, :, 2])
    np.testing.assert_array_equal(match.data.counts[:, :, 3], data.counts[:, :, 0])
    assert absent_marks(match.data.counts).all(axis=0).tolist() == [False, True, False, False]
    assert union_marks([("H3K9me3", "H3K27ac"), ("H3K27me3", "h3k27AC")]) == ("H3K27me3", "H3K9me3", "H3K27ac")


def test_depth_moves_a_shallow_cell_onto_the_training_depth():
    train = _cell(seed=0)
    shallow = _cell(seed=1, scale=0.25)
    norm = Normalization.fit("depth", [train.counts], train.marks)
    np.testing.assert_allclose(norm.apply(train).counts, train.counts, rtol=1e-5)  # the training cell is unchanged
    moved = norm.apply(shallow)
    np.testing.assert_allclose(moved.counts.mean(axis=(0, 1)), train.counts.mean(axis=(0, 1)), rtol=1e-4)
    # A part of a cell is moved with the whole cell's statistics.
    part = shallow.subset(slice(0, 5))
    np.testing.assert_allclose(norm.apply(part, stats_from=shallow).counts, moved.counts[:5], rtol=1e-6)


def test_quantile_gives_every_cell_the_training_distribution():
    train = _cell(seed=0)
    other = _cell(seed=1, scale=3.0)
    other = dataclasses.replace(other, counts=other.counts ** 1.5)  # another scale and shape
    norm = Normalization.fit("quantile", [train.counts], train.marks)
    moved = norm.apply(other)
    for j in range(len(train.marks)):
        a, b = np.sort(train.counts[:, :, j].ravel()), np.sort(moved.counts[:, :, j].ravel())
        assert abs(np.median(a) - np.median(b)) <= 0.5 * (np.quantile(a, 0.75) - np.quantile(a, 0.25) + 1e-6)
        # ranks are kept within the cell
        assert (np.diff(moved.counts[:, :, j].ravel()[np.argsort(other.counts[:, :, j].ravel(), kind="stable")]) >= -1e-5).all()
    restored = Normalization.from_dict(norm.to_dict())
    np.testing.assert_array_equal(restored.apply(other).counts, moved.counts)


def test_absent_marks_stay_absent_and_unknown_names_are_refused():
    train = _cell(seed=0)
    norm = Normalization.fit("depth", [train.counts], train.marks)
    fewer = align_marks(_cell(seed=2, marks=("H3K27me3", "H3K4me3")), train.marks).data
    moved = norm.apply(fewer)
    assert np.isnan(moved.counts[:, :, 1]).all() and np.isfinite(moved.counts[:, :, 0]).all()
    with pytest.raises(ValueError, match="no reference for mark 'H3K27ac'"):
        norm.apply(HistoneData(gene_ids=np.array(["g"]), counts=np.ones((1, 10, 1), np.float32), labels=None, marks=("H3K27ac",)))
    with pytest.raises(ValueError, match="normalize must be one of none, depth, quantile"):
        Normalization.fit("zscore", [train.counts], train.marks)
