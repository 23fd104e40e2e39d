"""The benchmark: summary arithmetic, per-cell statistics, resume, settings guard, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from attentivechrome.exceptions import RunSettingsError
from attentivechrome.experiments.benchmark import (
    RESULT_FILE,
    cell_name,
    cell_table,
    resolve_models,
    run_benchmark,
    run_directory,
    summary_table,
)
from attentivechrome.config import TrainConfig

TINY = TrainConfig(epochs=1, batch_size=32, lr=1e-3, transform="log1p", device="cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_cells(two_cells):
    return two_cells


def test_summary_arithmetic_on_a_hand_made_table():
    per_cell = pd.DataFrame(
        {
            "cell": ["c1", "c1", "c1", "c2", "c2", "c2", "c3", "c3"],
            "model": ["ac", "deepchrome", "lr", "ac", "deepchrome", "lr", "ac", "deepchrome"],
            "auroc_mean": [0.80, 0.78, 0.78, 0.70, 0.72, 0.90, 0.60, 0.50],
        }
    )
    summary = summary_table(per_cell, "auroc_mean").set_index("model")
    assert summary.loc["ac", "cells"] == 3
    assert summary.loc["ac", "mean"] == pytest.approx(0.70)
    assert summary.loc["ac", "median"] == pytest.approx(0.70)
    assert (summary.loc["ac", "max"], summary.loc["ac", "min"]) == (0.80, 0.60)
    assert (summary.loc["ac", "wins"], summary.loc["ac", "compared"]) == (2, 3)  # c1 and c3; not c2
    # lr ran in two cells; a tie (c1) is not a win; the median of two values is their mean.
    assert (summary.loc["lr", "wins"], summary.loc["lr", "compared"]) == (1, 2)
    assert summary.loc["lr", "median"] == pytest.approx(0.84)
    assert np.isnan(summary.loc["deepchrome", "wins"])
    assert summary.loc["deepchrome", "median"] == pytest.approx(0.72)


def test_cell_table_means_deviations_and_paired_difference():
    runs = pd.DataFrame(
        {
            "cell": ["c"] * 4,
            "model": ["m", "m", "deepchrome", "deepchrome"],
            "seed": [1, 2, 1, 2],
            "test_auroc": [0.9, 0.7, 0.6, 0.6],
            "test_aupr": [0.5, 0.5, 0.4, 0.6],
            "best_epoch": [2, 4, 1, 1],
            "seconds": [1.0, 3.0, 2.0, 2.0],
        }
    )
    labels = np.array([0, 1] * 20)
    perfect = labels + 0.0
    predictions = {("c", "m"): (labels, np.stack([perfect, perfect])), ("c", "deepchrome"): (labels, np.stack([1 - perfect, perfect]))}
    table = cell_table(runs, predictions, "classification", n_bootstrap=50).set_index("model")
    assert table.loc["m", "auroc_mean"] == pytest.approx(0.8)
    assert table.loc["m", "auroc_std"] == pytest.approx(np.std([0.9, 0.7], ddof=1))
    assert table.loc["m", "aupr_mean"] == pytest.approx(0.5)
    assert (table.loc["m", "best_epoch"], table.loc["m", "seconds"], table.loc["m", "seeds"]) == (3.0, 2.0, 2)
    assert table.loc["m", "delta_ref"] == pytest.approx(0.2)
    # Bootstrap of the predictions: m is perfect on every resample, deepchrome averages 0 and 1.
    assert table.loc["m", "auroc_low"] == table.loc["m", "auroc_high"] == 1.0
    assert table.loc["m", "delta_low"] == pytest.approx(0.5) and table.loc["m", "delta_high"] == pytest.approx(0.5)
    assert np.isnan(table.loc["deepchrome", "delta_ref"])
    # m has the higher mean: it is the cell's best, and deepchrome's paired difference to it is the mirror image
    assert set(table["best_model"]) == {"m"} and np.isnan(table.loc["m", "delta_best_low"])
    assert table.loc["deepchrome", "delta_best"] == pytest.approx(-0.2)
    assert table.loc["deepchrome", "delta_best_low"] == pytest.approx(-0.5) and table.loc["deepchrome", "delta_best_high"] == pytest.approx(-0.5)


def test_resume_skips_finished_runs_and_redoes_only_missing_ones(tiny_cells, tmp_path):
    out = tmp_path / "bench"
    events = []
    first = run_benchmark(tiny_cells, out, models="linear,deepchrome", seeds=2, config=TINY, n_bootstrap=50, on_run=events.append)
    assert (first.trained, first.skipped) == (8, 0)
    assert {e["status"] for e in events} == {"trained"}
    for name in ("runs.csv", "per_cell.csv", "summary.csv", "benchmark.md", "benchmark.png", "benchmark.json"):
        assert (out / name).is_file(), name
    assert len(first.per_cell) == 4 and set(first.summary["model"]) == {"linear", "deepchrome"}
    markdown = (out / "benchmark.md").read_text()
    assert "beats deepchrome" in markdown and "cellA" in markdown

    stamps = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("model.pt")}
    events.clear()
    again = run_benchmark(tiny_cells, out, models="linear,deepchrome", seeds=2, config=TINY, n_bootstrap=50, on_run=events.append)
    assert (again.trained, again.skipped) == (0, 8)
    assert {e["status"] for e in events} == {"done earlier"}  # the runner's vocabulary: one for rows, tables and callbacks
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("model.pt")} == stamps
    pd.testing.assert_frame_equal(again.runs, first.runs)

    # An interrupted run (no result.json) is trained again; nothing else is.
    (run_directory(out, "cellB", "deepchrome", 2) / RESULT_FILE).unlink()
    events.clear()
    resumed = run_benchmark(tiny_cells, out, models="linear,deepchrome", seeds=2, config=TINY, n_bootstrap=50, on_run=events.append)
    assert [(e["cell"], e["model"], e["seed"]) for e in events if e["status"] == "trained"] == [("cellB", "deepchrome", 2)]
    assert resumed.trained == 1

    with pytest.raises(RunSettingsError, match="epochs 1 -> 2"):
        run_benchmark(tiny_cells, out, models="linear", seeds=1, config=TrainConfig(**{**TINY.to_dict(), "epochs": 2}))


def test_regression_benchmark(tiny_cells, tmp_path):
    config = TrainConfig(**{**TINY.to_dict(), "task": "regression"})
    result = run_benchmark(tiny_cells[:1], tmp_path / "reg", models=["linear", "cnn-attn"], seeds=1, config=config, n_bootstrap=50)
    assert {"pearson_mean", "spearman_mean", "mse_mean", "pearson_low", "pearson_high"} <= set(result.per_cell.columns)
    assert np.isnan(result.per_cell["pearson_std"]).all()  # one seed: no deviation
    linear = result.per_cell.set_index("model").loc["linear"]
    assert linear["pearson_mean"] > 0.3  # the simulated expression follows the planted marks
    assert linear["pearson_low"] <= linear["pearson_mean"] <= linear["pearson_high"]
    result_json = json.loads((run_directory(tmp_path / "reg", "cellA", "linear", 1) / RESULT_FILE).read_text())
    assert result_json["task"] == "regression" and "test_mse" in result_json


def test_names_and_model_lists(tmp_path):
    assert cell_name(tmp_path / "remc-e123" / "classification") == "remc-e123"
    assert cell_name(tmp_path / "simA") == "simA"
    assert resolve_models("all")[0] == "attentivechrome" and "gbt" in resolve_models(None)
    assert resolve_models("lstm, gbt,lstm") == ["lstm", "gbt"]
    with pytest.raises(ValueError, match="unknown model 'svm'; choose 'all' or from attentivechrome"):
        resolve_models("svm,lstm")


def test_duplicate_cell_names_are_refused(tiny_cells, tmp_path):
    with pytest.raises(ValueError, match="two cell directories are named 'cellA'"):
        run_benchmark([tiny_cells[0], tiny_cells[0]], tmp_path / "o", models="linear", seeds=1, config=TINY)


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ATTENTIVECHROME_NO_PROGRESS="1", OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "attentivechrome", *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.slow
def test_cli_benchmark_runs_and_reports_errors_in_one_line(tiny_cells, tmp_path):
    done = _cli("benchmark", str(tiny_cells[0]), "--models", "linear", "--seeds", "1", "--bootstrap", "20", "--out", str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr
    assert "| linear | 1 |" in done.stdout and "[1/1] cellA linear seed 1: test AUROC" in done.stderr
    bad = _cli("benchmark", str(tiny_cells[0]), "--models", "svm", "--out", str(tmp_path / "c"))
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "unknown model 'svm'" in bad.stderr


@pytest.mark.parametrize(
    "content,message",
    [("", r"test_predictions.tsv: cannot be read as a table"), ("gene_id\tscore\ng1\t0.5\n", r"test_predictions.tsv:1: lacks the column\(s\) probability, label"),
     ("gene_id\tprobability\tlabel\ng1\t0.5\t1\ng2\thigh\t0\n", r"test_predictions.tsv:3: probability is not a number: 'high'")],
)  # fmt: skip
def test_damaged_test_predictions_name_the_file(tmp_path, content, message):
    from attentivechrome.exceptions import InputFormatError
    from attentivechrome.experiments.benchmark import load_test_predictions

    (tmp_path / "test_predictions.tsv").write_text(content)
    with pytest.raises(InputFormatError, match=message + ".*; delete .* to have that run trained again"):
        load_test_predictions([tmp_path], "classification")
