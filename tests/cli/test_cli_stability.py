"""train --ensemble and interpret-stability from the command line, end to end."""

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
def test_train_ensemble_then_interpret_and_compare(tmp_path):
    data = tmp_path / "data"
    run("simulate", "--genes", 200, "--bins", 20, "--out", data, "--seed", 4)
    common = ("--model", "deepchrome", "--epochs", 2, "--lr", 3e-3, "--device", "cpu", "--quiet")
    trained = run("train", data, "--out", tmp_path / "ens", "--ensemble", 2, "--seed", 5, *common)
    assert "ensemble of 2 (seed 5 epoch" in trained.stderr
    metrics = json.loads((tmp_path / "ens" / "metrics.json").read_text())
    evaluation = json.loads(run("evaluate", "--model", tmp_path / "ens", "--input", data / "test.csv", "--json").stdout)
    assert evaluation["auroc"] == pytest.approx(metrics["test_auroc"], abs=1e-6)

    out = tmp_path / "interp"
    run("interpret", "--model", tmp_path / "ens", "--input", data / "test.csv", "--out", out, "--methods", "saliency,occlusion", "--max-gene-plots", 0, "--quiet")
    with np.load(out / "explanations.npz") as npz:
        assert {"spread_saliency", "spread_occlusion"} <= set(npz.files)
    assert "Spread across the ensemble's 2 members" in (out / "summary.md").read_text()

    run("train", data, "--out", tmp_path / "one", "--seed", 9, *common)
    compared = run("interpret-stability", "--model", tmp_path / "ens", "--model", tmp_path / "one", "--input", data / "test.csv",
                   "--out", tmp_path / "stab", "--max-genes", 30, "--methods", "saliency,integrated_gradients", "--quiet")  # fmt: skip
    table = pd.read_csv(tmp_path / "stab" / "stability.tsv", sep="\t")
    assert table["method"].tolist() == ["saliency", "integrated_gradients"] and (table["n_genes"] <= 30).all() and (table["n_pairs"] == 1).all()
    assert "| Saliency |" in compared.stdout

    refused = run("interpret-stability", "--model", tmp_path / "one", "--input", data / "test.csv", "--out", tmp_path / "x", check=False)
    assert refused.returncode == 2 and "at least two models" in refused.stderr
    refused = run("train", data, "--out", tmp_path / "bad", "--ensemble", 0, check=False)
    assert refused.returncode == 2 and "--ensemble must be an integer" in refused.stderr
