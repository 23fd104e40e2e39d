"""The reference-expression options from the command line: train, predict, evaluate, interpret --contrast, --model prior."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

TABLE = "roadmap-expression/rpkm.tsv.gz"

pytestmark = pytest.mark.slow  # each test starts the command line (PyTorch's import) a few times


def run(*args, check=True):
    result = subprocess.run([sys.executable, "-m", "attentivechrome", *map(str, args)], capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def deviation_run(shared_data, tmp_path_factory):
    """AttentiveChrome trained for the deviation from the prior on remc-e123 (2 epochs)."""
    out = tmp_path_factory.mktemp("deviation") / "run"
    result = run(
        "train", shared_data / "remc-e123", "--out", out, "--task", "deviation", "--reference-expression", shared_data / TABLE,
        "--preset", "original", "--epochs", 2, "--device", "cpu",
    )  # fmt: skip
    assert "the prior of remc-e123 reads 53 of 54 columns (left out: E123)" in result.stderr
    assert "expression rebuilt with the prior: test Pearson" in result.stderr
    return out


def test_train_predict_evaluate_a_deviation_model(shared_data, deviation_run, tmp_path):
    metrics = json.loads((deviation_run / "metrics.json").read_text())
    assert {"test_pearson", "test_spearman", "test_mse", "test_expression_pearson"} <= set(metrics)
    config = json.loads((deviation_run / "config.json").read_text())
    assert config["train"]["reference"] == "new-cell" and config["reference"]["cells"] == ["remc-e123"] and "E123" not in config["reference"]["columns"]
    run_table = pd.read_csv(deviation_run / "test_predictions.tsv", sep="\t")
    assert list(run_table.columns) == ["gene_id", "deviation", "prior", "log1p_expression", "target"]
    np.testing.assert_allclose(run_table["deviation"] + run_table["prior"], run_table["log1p_expression"], atol=1e-4)
    test = shared_data / "remc-e123" / "classification" / "test.csv"
    # No table given: the one the model recorded is read again.
    run("predict", "--model", deviation_run, "--input", test, "--out", tmp_path / "p.tsv")
    table = pd.read_csv(tmp_path / "p.tsv", sep="\t")
    assert list(table.columns) == ["gene_id", "deviation", "prior", "log1p_expression", "label"]
    np.testing.assert_allclose(table["deviation"], run_table["deviation"], atol=2e-4)
    evaluation = json.loads(run("evaluate", "--model", deviation_run, "--input", test, "--json").stdout)
    assert evaluation["pearson"] == pytest.approx(metrics["test_pearson"], abs=1e-4)
    assert evaluation["expression_pearson"] == pytest.approx(metrics["test_expression_pearson"], abs=1e-4)


def test_a_bad_table_or_a_missing_one_is_one_line_exit_2(shared_data, deviation_run, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("gene_id\tE001\nENSG1\t1.0\nENSG1\t2.0\n")
    result = run("train", shared_data / "remc-e123", "--out", tmp_path / "r", "--reference-expression", bad, check=False)
    assert result.returncode == 2 and result.stderr.strip() == f"attentivechrome: error: {bad}:3: gene 'ENSG1' is listed twice"
    assert not (tmp_path / "r").exists()
    result = run("train", shared_data / "remc-e123", "--out", tmp_path / "r", "--model", "prior", check=False)
    assert result.returncode == 2 and "needs a reference-expression table" in result.stderr
    other = tmp_path / "other.tsv"
    other.write_text("gene_id\tE001\tE002\nENSG00000000003\t1\t2\n")
    test = shared_data / "remc-e123" / "classification" / "test.csv"
    result = run("predict", "--model", deviation_run, "--input", test, "--out", tmp_path / "p.tsv", "--reference-expression", other, check=False)
    assert result.returncode == 2 and "is not the reference-expression table the model was trained with" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_prior_model_and_fitted_mode(shared_data, tmp_path):
    table = shared_data / TABLE
    result = run("train", shared_data / "remc-e123", "--out", tmp_path / "prior", "--model", "prior", "--reference-expression", table)
    assert "best epoch 1: valid AUROC" in result.stderr
    prior_metrics = json.loads((tmp_path / "prior" / "metrics.json").read_text())
    run("train", shared_data / "remc-e123", "--out", tmp_path / "fitted", "--model", "linear", "--reference-expression", table,
        "--reference-mode", "fitted", "--reference-exclude", "es")  # fmt: skip
    reference = json.loads((tmp_path / "fitted" / "config.json").read_text())["reference"]
    assert reference["mode"] == "fitted" and not {"E123", "E003", "E012"} & set(reference["columns"]) and len(reference["columns"]) == 54 - 1 - 9
    assert 0.5 < prior_metrics["test_auroc"] <= 1.0


def test_interpret_contrast_explains_the_difference(shared_data, deviation_run, tmp_path):
    a = shared_data / "remc-e123" / "classification" / "test.csv"
    b = shared_data / "remc-e003" / "classification" / "test.csv"
    run("interpret", "--model", deviation_run, "--contrast", a, b, "--out", tmp_path / "c", "--n-steps", 16)
    frame = pd.read_csv(tmp_path / "c" / "contrast.tsv", sep="\t")
    assert len(frame) == 200 and {"difference", "marks_part", "prior_part", "top_mark", "H3K4me3_part"} <= set(frame.columns)
    parts = frame[[c for c in frame.columns if c.endswith("_part") and c not in ("marks_part", "prior_part")]].sum(axis=1)
    np.testing.assert_allclose(parts, frame["marks_part"], atol=2e-3)  # completeness: the maps add up to the marks' part
    np.testing.assert_allclose(frame["marks_part"] + frame["prior_part"], frame["difference"], atol=1e-4)
    assert (tmp_path / "c" / "contrast_profiles.png").stat().st_size > 0 and "remc-e123 and remc-e003" in (tmp_path / "c" / "contrast.md").read_text()
    result = run("interpret", "--model", deviation_run, "--out", tmp_path / "x", check=False)
    assert result.returncode == 2 and "--contrast" in result.stderr
    run("report", tmp_path / "c", "--out", tmp_path / "c.html")
    page = (tmp_path / "c.html").read_text()
    assert "Contrast: remc-e123 against remc-e003" in page and "genes that differ most" in page and str(frame.loc[frame["difference"].abs().idxmax(), "gene_id"]) in page


def test_interpret_a_deviation_model_shows_prior_prediction_and_observed(shared_data, deviation_run, tmp_path):
    test = shared_data / "remc-e123" / "classification" / "test.csv"
    run("interpret", "--model", deviation_run, "--input", test, "--out", tmp_path / "i", "--methods", "attention,saliency", "--genes", "ENSG00000000003,ENSG00000000005")
    table = pd.read_csv(tmp_path / "i" / "predictions.tsv", sep="\t")
    assert list(table.columns) == ["gene_id", "deviation", "prior", "log1p_expression", "observed_log1p_expression", "observed_deviation", "label"]
    np.testing.assert_allclose(table["observed_log1p_expression"] - table["prior"], table["observed_deviation"], atol=1e-4)
    run("report", tmp_path / "i", "--out", tmp_path / "i.html")
    assert "reference prior" in (tmp_path / "i.html").read_text()
