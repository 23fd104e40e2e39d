"""train-many: one run per cell, resumable, a summary table, failures reported per cell."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from attentivechrome.data import write_csv
from attentivechrome.data.synthetic import simulate
from attentivechrome.exceptions import InputFormatError, RunSettingsError
from attentivechrome.config import TrainConfig
from attentivechrome.experiments.train_many import RESULT_FILE, SUMMARY_FILE, summary_text, train_many

QUICK = dict(epochs=1, batch_size=32, lr=3e-3, transform="log1p", device="cpu")


def _cell(path, genes=90, seed=0, one_class_valid=False):
    """A small simulated cell directory (contiguous thirds), optionally with a one-class valid split."""
    data, _ = simulate(genes, 20, seed=seed)
    thirds = np.array_split(np.arange(genes), 3)
    path.mkdir(parents=True)
    for name, index in zip(("train", "valid", "test"), thirds):
        split = data.subset(index)
        if one_class_valid and name == "valid":
            split = type(split)(gene_ids=split.gene_ids, counts=split.counts, labels=np.zeros_like(split.labels), marks=split.marks)
        write_csv(split, path / f"{name}.csv")
    return path


@pytest.fixture
def cells(tmp_path):
    return [_cell(tmp_path / "cellA", seed=1), _cell(tmp_path / "cellB" / "classification", seed=2)]


def test_trains_each_cell_then_resumes(cells, tmp_path):
    out = tmp_path / "out"
    seen = []
    result = train_many(cells, out, TrainConfig(**QUICK), jobs=1, progress=False, on_cell=seen.append)
    assert (result.trained, result.skipped, result.failed) == (2, 0, [])
    assert list(result.summary["cell"]) == ["cellA", "cellB"]  # classification/ takes the parent's name
    assert [row["status"] for row in seen] == ["trained", "trained"]
    for name in ("cellA", "cellB"):
        assert {"config.json", "model.pt", "metrics.json", "test_predictions.tsv", RESULT_FILE} <= {p.name for p in (out / name).iterdir()}
    table = pd.read_csv(out / SUMMARY_FILE, sep="\t")
    assert list(table.columns[:7]) == ["cell", "status", "best_epoch", "valid_auroc", "test_auroc", "test_aupr", "minutes"]
    assert table["test_auroc"].between(0, 1).all()

    stamp = (out / "cellA" / "model.pt").stat().st_mtime_ns
    again = train_many(cells, out, TrainConfig(**QUICK), jobs=1, progress=False)
    assert (again.trained, again.skipped) == (0, 2)
    assert (out / "cellA" / "model.pt").stat().st_mtime_ns == stamp
    assert again.summary["test_auroc"].tolist() == pytest.approx(result.summary["test_auroc"].tolist())
    assert "mean" in summary_text(again.summary)

    with pytest.raises(RunSettingsError, match=r"other settings \(batch_size 32 -> 16\).*--restart"):
        train_many(cells, out, TrainConfig(**{**QUICK, "batch_size": 16}), jobs=1, progress=False)
    restarted = train_many(cells[:1], out, TrainConfig(**{**QUICK, "batch_size": 16}), jobs=1, restart=True, progress=False)
    assert restarted.trained == 1
    assert json.loads((out / "cellA" / "config.json").read_text())["train"]["batch_size"] == 16


def test_a_failing_cell_does_not_stop_the_others(tmp_path):
    good, bad = _cell(tmp_path / "good"), _cell(tmp_path / "bad", one_class_valid=True)
    result = train_many([bad, good], tmp_path / "out", TrainConfig(**QUICK), jobs=1, progress=False)
    assert [run.cell for run in result.failed] == ["bad"] and result.trained == 1
    row = result.summary.set_index("cell").loc["bad"]
    assert row["status"] == "failed" and "AUROC is undefined" in row["error"]
    assert not (tmp_path / "out" / "bad" / RESULT_FILE).exists()  # retried by the next call


def test_an_unexpected_error_fails_only_its_cell_and_is_reported_once(tmp_path, monkeypatch, caplog):
    from attentivechrome.training import trainer

    real_train = trainer.train

    def train_or_break(splits, config, *, out_dir, **kwargs):
        if out_dir.name == "bad":
            raise KeyError("a bug in one cell")
        return real_train(splits, config, out_dir=out_dir, **kwargs)

    monkeypatch.setattr(trainer, "train", train_or_break)
    seen = []
    result = train_many([_cell(tmp_path / "bad"), _cell(tmp_path / "good")], tmp_path / "out", TrainConfig(**QUICK),
                        jobs=1, progress=False, on_cell=seen.append)  # fmt: skip
    assert [run.cell for run in result.failed] == ["bad"] and result.trained == 1
    assert [(row["cell"], row["status"]) for row in seen] == [("bad", "failed"), ("good", "trained")]
    assert "KeyError: 'a bug in one cell'" in seen[0]["error"]
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # on_cell reports it; no second message


def test_bad_cell_lists_are_rejected_before_training(tmp_path, cells):
    with pytest.raises(ValueError, match="two cell directories are named 'cellA'"):
        train_many([cells[0], cells[0]], tmp_path / "out", jobs=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFormatError, match="missing train.csv"):
        train_many([cells[0], tmp_path / "empty"], tmp_path / "out", jobs=1)
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        train_many(cells, tmp_path / "out", jobs=0)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_command_line_in_parallel_processes(cells, tmp_path):
    second = shutil.copytree(cells[0], tmp_path / "cellC")
    out = tmp_path / "out"
    args = [sys.executable, "-m", "attentivechrome", "train-many", cells[0], second, "--out", out, "--jobs", "2"]
    args += ["--epochs", "1", "--batch-size", "32", "--lr", "3e-3", "--transform", "log1p", "--device", "cpu"]
    done = subprocess.run(list(map(str, args)), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "cellA" in done.stdout and "cellC" in done.stdout and "test_auroc" in done.stdout
    assert "trained 2, skipped 0 finished, failed 0" in done.stderr
    # Same seed, same data: the two processes trained the same model.
    a, c = (json.loads((out / name / RESULT_FILE).read_text()) for name in ("cellA", "cellC"))
    assert a["test_auroc"] == c["test_auroc"]
