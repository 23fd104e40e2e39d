"""The cross-cell matrix: per-cell and pooled trainings scored on every cell; CLI."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from attentivechrome.config import TrainConfig
from attentivechrome.data import read_csv, write_csv
from attentivechrome.data.synthetic import write_simulation
from attentivechrome.experiments.cross_cell import run_cross_cell
from attentivechrome.experiments.runner import read_result

QUICK = TrainConfig(epochs=2, batch_size=32, lr=3e-3, transform="log1p", device="cpu")


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    """Three simulated cells; the third lacks H3K4me1 and is sequenced half as deep."""
    root = tmp_path_factory.mktemp("cells")
    for i, name in enumerate(("c1", "c2", "c3")):
        write_simulation(root / name, 180, 20, seed=i)
    for split in ("train", "valid", "test"):
        data = read_csv(root / "c3" / f"{split}.csv")
        keep = [0, 1, 3, 4]
        write_csv(dataclasses.replace(data, counts=np.floor(data.counts[:, :, keep] / 2), marks=tuple(data.marks[j] for j in keep)), root / "c3" / f"{split}.csv")
    return [root / "c1", root / "c2", root / "c3"]


def test_matrix_rows_columns_and_the_diagonal(cells, tmp_path):
    result = run_cross_cell(cells, tmp_path / "xc", config=QUICK, pooled=False)
    matrix = result.matrix
    assert list(matrix.index) == ["c1", "c2", "c3"] and list(matrix.columns) == ["c1", "c2", "c3"]
    for cell in ("c1", "c2", "c3"):  # the diagonal is the within-cell test score of that run
        assert matrix.loc[cell, cell] == pytest.approx(read_result(tmp_path / "xc" / "runs" / cell / "seed-1")["test_auroc"], abs=1e-6)
    # The five-mark models were not trained for missing marks: they cannot score c3, and say why.
    assert np.isnan(matrix.loc["c1", "c3"]) and np.isfinite(matrix.loc["c3", "c1"])
    note = result.scores.set_index(["trained_on", "test_cell"]).loc[("c1", "c3"), "note"]
    assert "lacks the marks H3K4me1" in note
    saved = pd.read_csv(tmp_path / "xc" / "matrix.csv", index_col=0)
    np.testing.assert_allclose(saved.to_numpy(), matrix.to_numpy(), rtol=1e-5)
    assert (tmp_path / "xc" / "matrix.png").stat().st_size > 1000 and "| c1 | **" in (tmp_path / "xc" / "matrix.md").read_text()


@pytest.mark.slow  # six trainings, then the resume
def test_pooled_rows_with_mark_dropout(cells, tmp_path):
    config = dataclasses.replace(QUICK, mark_dropout=0.2, normalize="depth")
    result = run_cross_cell(cells, tmp_path / "xc", config=config)
    assert list(result.matrix.index) == ["c1", "c2", "c3", "all-but-c1", "all-but-c2", "all-but-c3"]
    assert np.isfinite(result.matrix.to_numpy()).all()  # every model reads every cell now
    seen = result.scores.set_index(["trained_on", "test_cell"])["seen"]
    assert not seen[("all-but-c3", "c3")] and seen[("all-but-c3", "c1")]
    again = run_cross_cell(cells, tmp_path / "xc", config=config)  # resumes: nothing retrained
    pd.testing.assert_frame_equal(again.matrix, result.matrix)


@pytest.mark.slow
def test_cli_cross_cell_and_marks_by_name(cells, tmp_path):
    env = {**os.environ, "ATTENTIVECHROME_NO_PROGRESS": "1"}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "attentivechrome", *map(str, args)], capture_output=True, text=True, env=env)

    done = cli("benchmark", "--cross-cell", *cells[:2], "--out", tmp_path / "xc", "--models", "deepchrome", "--seeds", "1", "--epochs", "1",
               "--normalize", "depth", "--device", "cpu", "-q")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "| trained on | c1 | c2 |" in done.stdout
    run = tmp_path / "xc" / "runs" / "c1" / "seed-1"
    # evaluate with the cell's whole input as the normalisation source gives the matrix's number
    score = cli("evaluate", "--model", run, "--input", cells[1] / "test.csv", "--cell-input", cells[1], "--json")
    matrix = pd.read_csv(tmp_path / "xc" / "matrix.csv", index_col=0)
    assert json.loads(score.stdout)["auroc"] == pytest.approx(matrix.loc["c1", "c2"], abs=1e-6)
    # predict on the four-mark cell: marks matched by name; the missing one is named.
    missing = cli("predict", "--model", run, "--input", cells[2] / "test.csv", "--out", tmp_path / "p.tsv")
    assert missing.returncode == 2 and "lacks the marks H3K4me1 that the model reads" in missing.stderr
    # columns in another order, plus an extra mark: the same predictions, one warning.
    data = read_csv(cells[0] / "test.csv")
    order = [4, 3, 2, 1, 0]
    shuffled = dataclasses.replace(data, counts=np.concatenate([data.counts[:, :, order], data.counts[:, :, :1]], axis=2), marks=(*(data.marks[j] for j in order), "H3K27ac"))
    write_csv(shuffled, tmp_path / "shuffled.csv")
    first = cli("predict", "--model", run, "--input", cells[0] / "test.csv", "--out", tmp_path / "a.tsv")
    second = cli("predict", "--model", run, "--input", tmp_path / "shuffled.csv", "--out", tmp_path / "b.tsv")
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert second.stderr.count("H3K27ac") == 1 and "are ignored" in second.stderr
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a.tsv", sep="\t"), pd.read_csv(tmp_path / "b.tsv", sep="\t"))
