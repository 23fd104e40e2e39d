"""`interpret` and `interpret-benchmark` end to end through the installed entry point, and their errors."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import attentivechrome as ac
from attentivechrome.interpret import ExplainOptions, explain_module



def run(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ATTENTIVECHROME_NO_PROGRESS": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, "-m", "attentivechrome", *map(str, args)], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise AssertionError(f"exit {result.returncode}\n{result.stderr}")
    return result


@pytest.mark.slow
def test_interpret_a_gene_list(sim_dir, tiny_checkpoint, tmp_path):
    out = tmp_path / "genes"
    methods = "attention,saliency,integrated_gradients,occlusion"
    result = run(
        "interpret", "--model", tiny_checkpoint, "--input", sim_dir / "test.csv", "--out", out,
        "--genes", "SIM000405,SIM000401", "--genes", "SIM000410", "--methods", methods, "--max-gene-plots", 2,
        "--n-steps", 4, "--window", 10, "--device", "cpu", "-q",
    )  # fmt: skip
    assert "explained 3 genes" in result.stderr
    assert result.stderr.splitlines()[-1] == f"see it as one page: attentivechrome report {out} --out {out / 'report.html'}"

    with np.load(out / "explanations.npz") as npz:
        assert npz["gene_ids"].tolist() == ["SIM000405", "SIM000401", "SIM000410"]  # the order asked for
        assert npz["methods"].tolist() == methods.split(",")
        for key in ("alpha", "saliency", "integrated_gradients", "occlusion"):
            assert npz[key].shape == (3, 5, 100), key
        np.testing.assert_allclose(npz["alpha"].sum(axis=2), 1.0, atol=1e-5)
        np.testing.assert_allclose(npz["beta"].sum(axis=1), 1.0, atol=1e-5)
        assert npz["delta_integrated_gradients"].shape == (3,)
        assert npz["probability"].shape == (3,) and npz["label"].shape == (3,)
        saliency = npz["saliency"]

    maps = pd.read_csv(out / "maps.tsv", sep="\t")
    assert list(maps.columns) == ["gene_id", "method", "mark", "bin", "value"]
    assert len(maps) == 3 * 4 * 5 * 100
    cell = maps[(maps.gene_id == "SIM000410") & (maps.method == "saliency") & (maps.mark == "H3K36me3") & (maps.bin == 7)]
    assert cell.value.item() == pytest.approx(saliency[2, 1, 6], rel=1e-5)
    scores = pd.read_csv(out / "mark_scores.tsv", sep="\t")
    assert len(scores) == 3 * 4 * 5
    np.testing.assert_allclose(scores.groupby(["gene_id", "method"]).value.sum(), 1.0, atol=1e-5)

    summary = (out / "summary.md").read_text()
    assert not (out / "figures" / "gene_SIM000410.png").exists()  # beyond --max-gene-plots
    for gene in ("SIM000405", "SIM000401"):
        for stem in (f"gene_{gene}", f"gene_{gene}_methods"):
            assert (out / "figures" / f"{stem}.png").is_file()  # per-gene figures are PNG only
            assert f"figures/{stem}.png" in summary
    assert "genes pictured (2, the first genes asked for): SIM000405, SIM000401" in summary
    assert (out / "figures" / "gene_SIM000401.png").read_bytes()[:4] == b"\x89PNG"
    assert "explanations.npz" in summary and "maps.tsv" in summary


@pytest.mark.slow
def test_interpret_benchmark_prints_the_table(sim_dir, tiny_checkpoint, tmp_path):
    out = tmp_path / "bench"
    result = run(
        "interpret-benchmark", "--data", sim_dir, "--model", tiny_checkpoint, "--out", out,
        "--methods", "attention,input_x_gradient", "--max-genes", 20, "--device", "cpu", "-q",
    )  # fmt: skip
    assert "| Random map (floor) |" in result.stdout and "| Attention (alpha) |" in result.stdout
    assert "scored 20 test genes" in result.stderr
    table = pd.read_csv(out / "benchmark.csv", index_col="method")
    assert list(table.index) == ["attention", "input_x_gradient", "random", "input_signal"]
    assert (out / "benchmark.png").is_file() and (out / "benchmark.svg").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["interpret", "--methods", "attention,lime"], "unknown method 'lime'; choose from attention"),
        (["interpret", "--genes", "SIM000401,NOPE"], "1 of 2 requested genes are not in"),
        (["interpret", "--by", "cluster"], "--by must be predicted, rank or label, got 'cluster'"),
        (["interpret-benchmark", "--split", "all"], "--split must be train, valid or test, got 'all'"),
    ],
    ids=["unknown-method", "unknown-gene", "bad-by", "bad-split"],
)
def test_usage_errors_exit_2_with_one_line(sim_dir, tiny_checkpoint, tmp_path, capsys, args, message):
    from attentivechrome.cli.main import main

    command, rest = args[0], args[1:]
    common = ["--model", str(tiny_checkpoint), "--out", str(tmp_path / "o")]
    common += ["--input", str(sim_dir / "test.csv")] if command == "interpret" else ["--data", str(sim_dir)]
    with pytest.raises(SystemExit) as exit_info:
        main([command, *common, *rest, "--device", "cpu", "-q"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("attentivechrome: error: ") and message in err[0]


def test_benchmark_needs_the_simulators_truth(tiny_checkpoint, tmp_path, sim_dir, capsys):
    from attentivechrome.cli.main import main

    plain = tmp_path / "plain"
    plain.mkdir()
    for split in ("train", "valid", "test"):
        (plain / f"{split}.csv").write_bytes((sim_dir / f"{split}.csv").read_bytes())
    with pytest.raises(SystemExit):
        main(["interpret-benchmark", "--data", str(plain), "--model", str(tiny_checkpoint), "--out", str(tmp_path / "b")])
    assert "has no truth.npz; the benchmark needs a directory written by `attentivechrome simulate`" in capsys.readouterr().err


def _cli(*args) -> int:
    from attentivechrome.cli.main import main

    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0


@pytest.mark.slow
def test_models_with_bin_attention_only(sim_dir, tmp_path, capsys):
    from attentivechrome.models import get_model
    from attentivechrome.models.checkpoint import save_checkpoint

    checkpoint = tmp_path / "lstm-alpha.pt"
    save_checkpoint(get_model("lstm-alpha"), checkpoint, n_bins=100)
    out = tmp_path / "out"
    assert _cli("interpret", "--model", checkpoint, "--input", sim_dir / "test.csv", "--out", out,
                "--methods", "attention,saliency", "--max-gene-plots", 1, "--by", "rank", "--device", "cpu", "-q") == 0  # fmt: skip
    with np.load(out / "explanations.npz") as npz:
        assert npz["alpha"].shape == (200, 5, 100) and "beta" not in npz
        np.testing.assert_allclose(npz["alpha"].sum(axis=2), 1.0, atol=1e-5)
    assert (out / "figures" / "class_profiles.png").is_file() and not (out / "figures" / "class_beta.png").exists()
    assert "`beta`" not in (out / "summary.md").read_text()
    scores = pd.read_csv(out / "mark_scores.tsv", sep="\t")
    np.testing.assert_allclose(scores[scores.method == "attention"].value, 0.2, atol=1e-6)  # no mark ranking without beta

    capsys.readouterr()
    assert _cli("interpret", "--model", checkpoint, "--input", sim_dir / "test.csv", "--out", tmp_path / "x",
                "--methods", "attention_x_beta", "--device", "cpu", "-q") == 2  # fmt: skip
    assert "LSTMAlpha has no mark-level attention (beta)" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_gradient_methods_on_trees_are_refused_and_regression_models_explained(sim_dir, tmp_path, capsys):
    trees = tmp_path / "gbt"
    assert _cli("train", sim_dir, "--out", trees, "--model", "gbt", "--transform", "log1p", "--device", "cpu", "-q") == 0
    capsys.readouterr()
    out = tmp_path / "out"
    assert _cli("interpret", "--model", trees, "--input", sim_dir / "test.csv", "--out", out, "--methods", "saliency,occlusion", "-q") == 2
    assert "gives no gradients with respect to its input, so saliency cannot explain it; use occlusion" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gbt"]  # nothing written, no staging left
    assert _cli("interpret", "--model", trees, "--input", sim_dir / "test.csv", "--out", out, "--methods", "occlusion", "--window", 20, "-q") == 0
    with np.load(out / "explanations.npz") as npz:
        assert npz["occlusion"].shape == (200, 5, 100) and np.abs(npz["occlusion"]).sum() > 0

    regression = tmp_path / "reg"
    assert _cli("train", sim_dir, "--out", regression, "--model", "linear", "--task", "regression", "--transform", "log1p", "-q") == 0
    capsys.readouterr()
    out = tmp_path / "r"
    assert _cli("interpret", "--model", regression, "--input", sim_dir / "test.csv", "--out", out, "--methods", "saliency,occlusion", "--window", 20, "-q") == 0
    # The maps explain the predicted log1p expression: the standardised output's maps times the target deviation.
    loaded = ac.load_model(regression)
    data = ac.read_csv(sim_dir / "test.csv")
    bare = explain_module(loaded.module, data, "occlusion", options=ExplainOptions(window=20))
    predictions = pd.read_csv(out / "predictions.tsv", sep="\t")
    assert list(predictions.columns[:2]) == ["gene_id", "log1p_expression"]
    np.testing.assert_allclose(predictions["log1p_expression"], loaded.predict(data).values, rtol=1e-4, atol=1e-4)
    with np.load(out / "explanations.npz") as npz:
        np.testing.assert_allclose(npz["occlusion"], bare["occlusion"] * loaded.target_scale.std, rtol=1e-4, atol=1e-5)
        assert "log1p_expression" in npz.files and "probability" not in npz.files
    summary = (out / "summary.md").read_text()
    assert "predicted log1p expression: median" in summary and "grouped by rank" in summary
    with np.load(out / "class_averages.npz") as averages:  # the higher and the lower half of the predictions
        assert averages["n_genes"].tolist() == [100, 100]
    assert "no gene fell" not in capsys.readouterr().err
