"""A run's report finds its test split from any folder, for one cell and for a pooled run: attention figures and a gene search."""

from __future__ import annotations

import json
import os

import pytest

from attentivechrome.cli.main import main

TINY = ["--preset", "original", "--epochs", "1", "--batch-size", "16", "--device", "cpu", "-q"]


def _cli(*args) -> int:
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0


@pytest.fixture(scope="module")
def runs(tmp_path_factory, one_torch_thread):
    """A single-cell and a pooled run, trained from inside their folder with relative paths."""
    from attentivechrome.data.synthetic import write_simulation

    root = tmp_path_factory.mktemp("finds")
    for seed, name in enumerate(("cellA", "cellB")):
        write_simulation(root / "data" / name, 60, 20, seed=seed)
    here = os.getcwd()
    os.chdir(root)
    try:
        assert _cli("train", "data/cellA", "--out", "single", *TINY) == 0
        assert _cli("train", "data/cellA", "data/cellB", "--out", "pooled", *TINY) == 0
    finally:
        os.chdir(here)
    return root


def _page_data(html: str) -> dict:
    start = html.index('<script type="application/json" id="report-data">') + len('<script type="application/json" id="report-data">')
    return json.loads(html[start : html.index("</script>", start)])


@pytest.mark.parametrize("run", ["single", "pooled"])
def test_the_report_from_another_folder_has_attention_and_the_gene_search(runs, tmp_path, monkeypatch, run):
    monkeypatch.chdir(tmp_path)  # neither the folder the run was trained in nor beside it
    config = json.loads((runs / run / "config.json").read_text())
    assert all(os.path.isabs(part) for part in config["data"].split(", "))
    assert _cli("report", runs / run, "--out", tmp_path / "page.html") == 0
    html = (tmp_path / "page.html").read_text()
    assert "was not found from here" not in html and "Class-average attention" in html
    ids = _page_data(html)["genes"]["ids"]
    if run == "pooled":
        assert len(ids) == 40 and ids[0].endswith(" (cellA)") and ids[-1].endswith(" (cellB)")  # each cell's 20 test genes
    else:
        assert len(ids) == 20
