"""The report of each kind of result directory: what it holds, in the HTML, without a browser."""

from __future__ import annotations

import base64
import json
import re
import numpy as np
import pytest

from attentivechrome.report import detect_kind, report_command, write_report


def page_data(path) -> dict:
    """The JSON the page's script reads (figures and the gene explorer's arrays)."""
    text = path.read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S)
    assert match, "the page has no data block"
    return json.loads(match.group(1).replace("<\\/", "</"))


def decoded(b64: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<f4")


@pytest.mark.parametrize("kind", ["run", "train-many", "benchmark", "interpret"])
def test_each_kind_is_recognised_and_written_offline(report_dirs, kind, tmp_path):
    assert detect_kind(report_dirs[kind]) == kind
    out = write_report(report_dirs[kind], tmp_path / "page.html")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Plotly" in text[:6_000_000]
    assert not re.search(r"<script[^>]+src=", text), "every script is inlined: the page works without a network"
    assert "cdn." not in text.split('id="report-data"')[1]  # the page's own parts name no CDN
    assert page_data(out)["figures"], "no figure"


def test_run_report_holds_curves_and_the_test_genes(report_dirs, tmp_path):
    out = write_report(report_dirs["run"], tmp_path / "run.html", max_genes=5, genes=["SIM000045"])
    data = page_data(out)
    titles = [spec["layout"]["title"]["text"] for spec in data["figures"].values()]
    assert any(t.startswith("ROC curve") for t in titles) and any(t.startswith("learning curves") for t in titles)
    assert any(t.startswith("class-average alpha") for t in titles)
    genes = data["genes"]
    assert genes["ids"][0] == "SIM000045" and len(genes["ids"]) == 5  # the named gene first, then file order
    assert genes["ids"][1:] == ["SIM000040", "SIM000041", "SIM000042", "SIM000043"]
    assert genes["x"][0] == pytest.approx(-0.95) and genes["x"][-1] == pytest.approx(0.95)  # 20 bins of 100 bp, kb from the TSS
    alpha = decoded(genes["arrays"]["alpha"]).reshape(5, 5, 20)
    np.testing.assert_allclose(alpha.sum(axis=2), 1.0, atol=1e-4)


def test_interpret_report_holds_every_map_of_the_genes(report_dirs, tmp_path):
    out = write_report(report_dirs["interpret"], tmp_path / "interp.html")
    genes = page_data(out)["genes"]
    with np.load(report_dirs["interpret"] / "explanations.npz") as npz:
        assert genes["ids"] == npz["gene_ids"].tolist()
        for method in ("saliency", "integrated_gradients", "occlusion"):
            np.testing.assert_allclose(decoded(genes["arrays"][f"map_{method}"]), npz[method].reshape(-1), rtol=1e-6)
        np.testing.assert_allclose(decoded(genes["arrays"]["signal"]), np.log1p(npz["input"]).reshape(-1), rtol=1e-6)
        np.testing.assert_allclose(genes["values"], npz["probability"], atol=1e-5)
        assert genes["labels"] == npz["label"].tolist()
    signed = {m["name"]: m["signed"] for m in genes["methods"]}
    assert signed == {"saliency": False, "integrated_gradients": True, "occlusion": True}


def test_benchmark_axis_starts_at_no_skill(report_dirs, tmp_path):
    data = page_data(write_report(report_dirs["benchmark"], tmp_path / "bench.html"))
    bars = next(spec for spec in data["figures"].values() if spec["data"][0]["type"] == "bar")
    assert bars["layout"]["yaxis"]["range"][0] <= 0.5 and bars["layout"]["yaxis"]["range"][1] == 1.0
    assert all("error_y" in trace for trace in bars["data"])  # intervals drawn


def test_errors_name_what_is_wrong(tmp_path, report_dirs):
    with pytest.raises(ValueError, match=r"not a result directory of attentivechrome; expected one of explanations.npz \(interpret\)"):
        detect_kind(tmp_path)
    with pytest.raises(ValueError, match="1 requested gene\\(s\\) are not in the directory's genes: NOPE"):
        write_report(report_dirs["interpret"], tmp_path / "x.html", genes=["NOPE"])
    assert not (tmp_path / "x.html").exists()


def test_the_command_writes_the_page_and_other_commands_point_to_it(report_dirs, tmp_path, capsys):
    from attentivechrome.cli.main import main

    out = tmp_path / "cli.html"
    with pytest.raises(SystemExit) as stop:
        main(["report", str(report_dirs["benchmark"]), "--out", str(out)])
    assert stop.value.code == 0
    assert out.is_file() and "wrote the benchmark report" in capsys.readouterr().err
    assert report_command(report_dirs["run"]) == f"attentivechrome report {report_dirs['run']} --out {report_dirs['run'] / 'report.html'}"
    with pytest.raises(SystemExit) as stop:
        main(["report", str(tmp_path / "none")])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and "No such directory" in err


def test_learning_curves_show_validation_per_epoch_and_the_one_test_score():
    from attentivechrome.report._figures import learning_curves

    history = [{"epoch": 1, "train_loss": 0.6, "valid_auroc": 0.7}, {"epoch": 2, "train_loss": 0.5, "valid_auroc": 0.8, "test_auroc": 0.75},
               {"epoch": 3, "train_loss": 0.4, "valid_auroc": 0.78}]  # fmt: skip
    traces = {trace["name"]: trace for trace in learning_curves({"run": history})["data"]}
    assert traces["run: valid"]["x"] == [1, 2, 3] and traces["run: valid"]["y"] == [0.7, 0.8, 0.78]
    # the test split is scored once, for the selected epoch: one marker there, not a line of gaps
    assert traces["run: test"]["x"] == [2] and traces["run: test"]["y"] == [0.75] and traces["run: test"]["mode"] == "markers"
    assert traces["run: training loss"]["y"] == [0.6, 0.5, 0.4]
