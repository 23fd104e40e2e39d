"""Pooled training over cells: marks by name, absent marks masked, per-cell scores; mark dropout."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch

import attentivechrome as ac
from attentivechrome.config import TrainConfig
from attentivechrome.data.layout import load_splits
from attentivechrome.exceptions import ModelDataMismatchError
from attentivechrome.training.tensors import mark_dropout_mask

QUICK = dict(epochs=2, batch_size=32, lr=3e-3, transform="log1p", device="cpu")
FOUR = ("H3K27me3", "H3K36me3", "H3K4me3", "H3K9me3")  # a cell without H3K4me1


def _without_h3k4me1(splits, scale=1.0):
    index = [ac.MARKS.index(m) for m in FOUR]
    return {k: dataclasses.replace(v, counts=np.ascontiguousarray(v.counts[:, :, index] * scale), marks=FOUR) for k, v in splits.items()}


@pytest.fixture(scope="module")
def two_cells(sim_dir):
    splits = load_splits(sim_dir)
    other, _ = ac.simulate(600, 100, seed=5)
    thirds = np.array_split(np.arange(600), 3)
    second = {name: other.subset(index) for name, index in zip(("train", "valid", "test"), thirds)}
    return {"full": splits, "four": _without_h3k4me1(second, scale=0.5)}


def test_cells_with_other_marks_pool_only_with_mark_dropout(two_cells):
    with pytest.raises(ModelDataMismatchError, match=r"cell four: has the marks H3K27me3, H3K36me3, H3K4me3, H3K9me3 and lacks H3K4me1 .*--mark-dropout"):
        ac.train(two_cells, TrainConfig(**QUICK), progress=False)


def test_pooled_training_reports_each_cell(two_cells, tmp_path):
    trained, record = ac.train(two_cells, TrainConfig(**QUICK, mark_dropout=0.2, normalize="depth"), out_dir=tmp_path / "run", progress=False)
    assert trained.marks == ac.MARKS and trained.handles_missing_marks and trained.normalization.kind == "depth"
    assert set(record.cell_scores) == {"full", "four"}
    for scores in record.cell_scores.values():
        assert 0.5 < scores["test_auroc"] <= 1.0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    for cell, scores in record.cell_scores.items():
        assert metrics["cells"][cell] == pytest.approx(scores)
    predictions = pd.read_csv(tmp_path / "run" / "test_predictions.tsv", sep="\t")
    assert list(predictions.columns) == ["cell", "gene_id", "probability", "label"]
    four = predictions[predictions["cell"] == "four"]
    assert ac.auroc(four["label"], four["probability"]) == pytest.approx(record.cell_scores["four"]["test_auroc"], abs=1e-3)  # TSV: 6 digits
    # The saved model reads the four-mark cell on its own, with that cell's own normalisation.
    loaded = ac.load_model(tmp_path / "run")
    assert loaded.normalization == trained.normalization
    test = two_cells["four"]["test"]
    out = loaded.predict(test, stats_from=list(two_cells["four"].values()))
    np.testing.assert_allclose(out.probabilities, four["probability"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out.beta[:, ac.MARKS.index("H3K4me1")], 0.0)


def test_pooled_regression(sim_dir):
    cells = {"a": load_splits(sim_dir, task="regression"), "b": load_splits(sim_dir, task="regression")}
    trained, record = ac.train(cells, TrainConfig(model="linear", task="regression", device="cpu"), progress=False)
    assert set(record.cell_scores) == {"a", "b"} and record.cell_scores["a"]["test_pearson"] > 0.3
    assert record.cell_scores["a"] == pytest.approx(record.cell_scores["b"])  # the same cell twice


def test_mark_dropout_hides_marks_but_keeps_one_per_gene():
    present = torch.ones(2000, 5, dtype=torch.bool)
    present[:5, 1] = False  # already absent: never hidden again
    present[5:10, 1:] = False  # a gene with one mark keeps it
    hide = mark_dropout_mask(present, 0.5, torch.Generator().manual_seed(0))
    assert hide.shape == present.shape and hide.dtype == torch.bool
    assert not (hide & ~present).any() and (present & ~hide).any(dim=1).all()
    assert not hide[5:10].any()
    assert 0.45 < hide[10:].float().mean() < 0.52  # about p, a little less for the genes kept with one mark
    again = mark_dropout_mask(present, 0.5, torch.Generator().manual_seed(0))
    assert torch.equal(hide, again)  # the generator alone decides: DDP ranks sharing it hide the same marks
    with pytest.raises(ValueError, match="mark_dropout needs a model that can be told a mark is absent"):
        TrainConfig(model="deepchrome", mark_dropout=0.1)


@pytest.fixture(scope="module")
def roadmap_slices(shared_data):
    """The first 300 genes of each split of the three full Roadmap cells (five, four and four marks, headers by name)."""
    from attentivechrome.data import read_csv_cached
    from attentivechrome.data.layout import split_paths

    cells = {}
    for name in ("roadmap-e012", "roadmap-e028", "roadmap-e087"):
        cells[name] = {split: read_csv_cached(path).subset(slice(0, 300)) for split, path in split_paths(shared_data / name).items()}
    return cells


@pytest.mark.slow  # reads nine full Roadmap files (its fixture) and trains on them
def test_real_cells_pool_with_masked_marks_and_depth_normalisation(roadmap_slices):
    config = TrainConfig(epochs=2, batch_size=32, lr=3e-3, transform="log1p", device="cpu", mark_dropout=0.2, normalize="depth")
    trained, record = ac.train({"e028": roadmap_slices["roadmap-e028"], "e087": roadmap_slices["roadmap-e087"]}, config, progress=False)
    assert trained.marks == ac.MARKS  # the union of the two panels, in the standard order
    assert record.cell_scores["e028"]["test_auroc"] > 0.7 and record.cell_scores["e087"]["test_auroc"] > 0.7
    # The five-mark cell it never saw, normalised from its own input: every mark present, a useful prediction.
    e012 = roadmap_slices["roadmap-e012"]
    out = trained.predict(e012["test"], stats_from=list(e012.values()))
    assert ac.auroc(out.labels, out.values) > 0.7 and (out.beta > 0).all()
    # Depth normalisation moved E012's deeper H3K27me3 onto the training cells' scale.
    prepared = trained.prepare(e012["test"], stats_from=list(e012.values()))
    j = ac.MARKS.index("H3K27me3")
    assert abs(np.nanmean(prepared.counts[:, :, j]) - trained.normalization.reference_mean[j]) < 0.25 * trained.normalization.reference_mean[j]
