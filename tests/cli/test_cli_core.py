"""The installed command line, end to end, and its error handling (exit status 2, one line)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest


def run(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "attentivechrome", *map(str, args)], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stderr}")
    return result


@pytest.mark.slow
def test_simulate_train_evaluate_predict(tmp_path):
    data, run_dir = tmp_path / "data", tmp_path / "run"
    run("simulate", "--genes", 300, "--bins", 40, "--out", data, "--seed", 2)
    assert {p.name for p in data.iterdir()} >= {"train.csv", "valid.csv", "test.csv", "truth.npz", "expression.csv"}

    result = run("train", data, "--out", run_dir, "--epochs", 2, "--preset", "original", "--lr", 3e-3, "--transform", "log1p", "--device", "cpu")
    assert "epoch   2/2" in result.stderr and "best epoch" in result.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert {"best_epoch", "valid_auroc", "test_auroc", "test_aupr", "history", "epochs_run", "stop_reason"} <= set(metrics)
    settings = json.loads((run_dir / "config.json").read_text())["train"]
    # the options given win; the rest are the original's (batch 16, no early stopping)
    assert (settings["preset"], settings["lr"], settings["epochs"], settings["batch_size"], settings["patience"]) == ("original", 3e-3, 2, 16, 0)

    evaluation = json.loads(run("evaluate", "--model", run_dir, "--input", data / "test.csv", "--json").stdout)
    assert evaluation["n_genes"] == 100
    assert evaluation["auroc"] == pytest.approx(metrics["test_auroc"], abs=1e-6)

    out, attention = tmp_path / "pred.tsv", tmp_path / "att.npz"
    run("predict", "--model", run_dir / "model.pt", "--input", data / "test.csv", "--out", out, "--attention", attention)
    table = pd.read_csv(out, sep="\t")
    assert list(table.columns) == ["gene_id", "probability", "label"] and len(table) == 100
    with np.load(attention) as npz:
        assert npz["alpha"].shape == (100, 5, 40) and npz["beta"].shape == (100, 5)
        np.testing.assert_allclose(npz["alpha"].sum(-1), 1, atol=1e-5)
        assert list(npz["gene_ids"]) == list(table["gene_id"])
        assert list(npz["marks"])[3] == "H3K4me3"


@pytest.mark.slow  # a command-line process that loads PyTorch
def test_evaluate_reference_checkpoint(shared_data):
    result = run("evaluate", "--model", shared_data / "reference-checkpoint-E003.pt",
                 "--input", shared_data / "remc-e003" / "classification" / "test.csv")
    assert "AUROC     0.8972" in result.stdout and "genes     200" in result.stdout


@pytest.mark.slow  # a command-line process that loads PyTorch
def test_predict_unlabelled_input(shared_data, tmp_path):
    rows = (shared_data / "toy" / "classification" / "test.csv").read_text().splitlines()
    (tmp_path / "new.csv").write_text("\n".join(r.rsplit(",", 1)[0] for r in rows) + "\n")
    run("predict", "--model", shared_data / "reference-checkpoint-E003.pt", "--input", tmp_path / "new.csv", "--out", tmp_path / "p.tsv")
    table = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    assert list(table.columns) == ["gene_id", "probability"] and len(table) == 10


@pytest.mark.parametrize(
    "case,fragment",
    [
        # the command-line processes that load PyTorch (seconds each) are slow; the usage errors are not (test_startup)
        pytest.param("bad-csv", "bad.csv:2: expected 8 fields like line 1, got 3", marks=pytest.mark.slow),
        pytest.param("missing-model", "no such run directory or checkpoint file", marks=pytest.mark.slow),
        pytest.param("not-a-checkpoint", "not a PyTorch checkpoint", marks=pytest.mark.slow),
        pytest.param("missing-data-dir", "is not a directory", marks=pytest.mark.slow),
        pytest.param("one-class-input", "one.csv: AUROC is undefined: all 1 labels are 1", marks=pytest.mark.slow),
        pytest.param("zero-batch", "--batch-size must be at least 1, got 0", marks=pytest.mark.slow),
        ("unknown-option", "attentivechrome: error: No such option: --bogus"),
        ("missing-argument", "attentivechrome: error: Missing argument 'data_dir' (see `attentivechrome train --help`)"),
        ("unknown-command", "attentivechrome: error: No such command 'trian'"),
    ],
)
def test_errors_exit_2_with_one_line(tmp_path, shared_data, case, fragment):
    bad = tmp_path / "bad.csv"
    bad.write_text("g,1,0,0,0,0,0,1\ng,2,0\n")
    junk = tmp_path / "junk.pt"
    junk.write_text("junk")
    one_class = tmp_path / "one.csv"
    one_class.write_text("".join(f"g,{b},1,2,3,4,5,1\n" for b in range(1, 101)))
    ref = shared_data / "reference-checkpoint-E003.pt"
    out = tmp_path / "out.tsv"
    args = {
        "bad-csv": ("predict", "--model", ref, "--input", bad, "--out", out),
        "missing-model": ("predict", "--model", tmp_path / "nothing", "--input", bad, "--out", out),
        "not-a-checkpoint": ("evaluate", "--model", junk, "--input", bad),
        "missing-data-dir": ("train", tmp_path / "no-such-dir", "--out", tmp_path / "run"),
        "one-class-input": ("evaluate", "--model", ref, "--input", one_class),
        "zero-batch": ("predict", "--model", ref, "--input", one_class, "--out", out, "--batch-size", 0),
        "unknown-option": ("train", tmp_path, "--out", tmp_path / "run", "--bogus", 1),
        "missing-argument": ("train",),
        "unknown-command": ("trian", tmp_path),
    }[case]
    result = run(*args, check=False)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # usage errors too: no box
    assert not out.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc, where no file can be created")
@pytest.mark.slow  # a command-line process that loads PyTorch
def test_predict_writes_both_files_or_neither(shared_data, tmp_path):
    attention = tmp_path / "att.npz"
    result = run("predict", "--model", shared_data / "reference-checkpoint-E003.pt", "--input",
                 shared_data / "toy" / "classification" / "test.csv", "--out", "/proc/attentivechrome-p.tsv",
                 "--attention", attention, check=False)  # fmt: skip
    assert result.returncode == 2 and "/proc/attentivechrome-p.tsv: cannot write" in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []  # the attention NPZ was not put in place either


@pytest.mark.slow
def test_demo_runs_small(tmp_path):
    result = run("demo", "--out", tmp_path / "demo", "--genes", 240, "--epochs", 2)
    assert "demo finished" in result.stdout
    assert (tmp_path / "demo" / "test_attention.npz").is_file()
    assert (tmp_path / "demo" / "run" / "model.pt").is_file()


@pytest.mark.slow
def test_regression_run_evaluates_and_predicts_on_expression_scale(tmp_path):
    data, run_dir = tmp_path / "data", tmp_path / "run"
    run("simulate", "--genes", 240, "--bins", 30, "--out", data, "--seed", 3)
    run("train", data, "--out", run_dir, "--task", "regression", "--epochs", 2, "--batch-size", 32, "--lr", 3e-3,
        "--transform", "log1p", "--device", "cpu", "--quiet")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    report = json.loads(run("evaluate", "--model", run_dir, "--input", data / "test.csv", "--json").stdout)
    assert report["pearson"] == pytest.approx(metrics["test_pearson"], abs=1e-5)
    run("predict", "--model", run_dir, "--input", data / "test.csv", "--out", tmp_path / "p.tsv")
    table = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    assert list(table.columns) == ["gene_id", "log1p_expression", "label"]
    # Predictions are on the log1p(expression) scale, not probabilities squeezed into (0, 1).
    expression = pd.read_csv(data / "expression.csv", header=None, index_col=0)[1]
    targets = np.log1p(expression.reindex(table["gene_id"]).to_numpy())
    assert abs(table["log1p_expression"].mean() - targets.mean()) < 1.5 * targets.std()
    assert table["log1p_expression"].max() > 1.0


def test_models_lists_the_registry():
    from attentivechrome.models import MODEL_REGISTRY

    from attentivechrome.config import preset_settings

    names, defaults = run("models").stdout.split("\n\n")
    assert [line.split()[0] for line in names.splitlines()] == sorted(MODEL_REGISTRY)
    header, *rows = defaults.splitlines()[1:]  # after the line saying what the table is
    columns = header.split()
    assert columns[0] == "model" and {"lr", "batch_size", "epochs", "patience"} <= set(columns)
    table = {row.split()[0]: dict(zip(columns, row.split())) for row in rows}
    assert sorted(table) == sorted(MODEL_REGISTRY)
    from attentivechrome.model_catalog import MODEL_CATALOG

    for model, shown in table.items():  # each row is that model's preset, as TrainConfig fills it in
        settings = preset_settings(model)
        if MODEL_CATALOG[model].fitted_once:  # scikit-learn models run no epochs: no loop settings shown
            assert shown["lr"] == shown["epochs"] == "-" and shown["transform"] == settings["transform"], model
            continue
        assert float(shown["lr"]) == settings["lr"] and int(shown["epochs"]) == settings["epochs"], model
        assert int(shown["patience"]) == settings["patience"] and shown["transform"] == settings["transform"], model
