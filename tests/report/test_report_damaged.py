"""`report` on a damaged run directory: one line naming the file (and the field or line), exit 2, no page."""

from __future__ import annotations

import json
import shutil

import pytest

from attentivechrome.cli.main import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, one_torch_thread):
    """A one-epoch run on a tiny simulated cell."""
    from attentivechrome.config import TrainConfig
    from attentivechrome.data.layout import load_splits
    from attentivechrome.data.synthetic import write_simulation
    from attentivechrome.training.trainer import train

    root = tmp_path_factory.mktemp("damaged")
    write_simulation(root / "data", 60, 20, seed=0)
    train(load_splits(root / "data"), TrainConfig(preset="original", epochs=1, device="cpu"), out_dir=root / "run", data_source=str(root / "data"), progress=False)
    return root / "run"


def _report(capsys, run, tmp_path) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        main(["report", str(run), "--out", str(tmp_path / "page.html")])
    return stop.value.code or 0, capsys.readouterr().err


def _damaged(run_dir, tmp_path, name, text):
    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    (run / name).write_text(text)
    return run


def _truncated(run_dir, name):
    text = (run_dir / name).read_text()
    return text[: len(text) // 2]


@pytest.mark.parametrize(
    "name, content, says",
    [
        ("metrics.json", "[1, 2]", "metrics.json: holds a JSON list, expected an object of named fields"),
        ("metrics.json", '{"best_epoch": 1, "history": 5}', "metrics.json: field history: expected a list of epoch records, got 5"),
        ("metrics.json", '{"history": [{"epoch": "one"}]}', 'metrics.json: field history[0].epoch: expected a non-negative integer, got "one"'),
        ("metrics.json", '{"history": [{"epoch": 1, "valid_auroc": [0.5]}]}', "metrics.json: field history[0].valid_auroc: expected a number, got [0.5]"),
        ("metrics.json", "truncated", "not valid JSON ("),
        ("config.json", "truncated", "not valid JSON ("),
        ("config.json", '{"marks": "H3K4me3"}', 'config.json: field marks: expected a list of mark names, got "H3K4me3"'),
        ("config.json", '{"train": [1]}', "config.json: field train: expected an object of training settings, got [1]"),
        ("test_predictions.tsv", "gene_id\tscore\nA\t0.5\n", "test_predictions.tsv: lacks the column probability"),
        ("test_predictions.tsv", "gene_id\tprobability\tlabel\nA\t0.5\t1\nB\thigh\t0\n", "test_predictions.tsv:3: column probability: expected a number, got 'high'"),
    ],
)
def test_a_damaged_run_is_named_in_one_line(run_dir, tmp_path, capsys, name, content, says):
    if content == "truncated":
        content = _truncated(run_dir, name)
    run = _damaged(run_dir, tmp_path, name, content)
    code, err = _report(capsys, run, tmp_path)
    assert code == 2, err
    [line] = err.strip().splitlines()
    assert line.startswith(f"attentivechrome: error: {run / name}") and says in line, line
    assert not (tmp_path / "page.html").exists()


def test_a_truncated_file_names_its_line(run_dir, tmp_path, capsys):
    run = _damaged(run_dir, tmp_path, "metrics.json", _truncated(run_dir, "metrics.json"))
    code, err = _report(capsys, run, tmp_path)
    lines = (run / "metrics.json").read_text().count("\n") + 1
    assert code == 2 and f"{run / 'metrics.json'}:{lines}: not valid JSON (" in err, err


def test_the_intact_run_still_reports(run_dir, tmp_path, capsys):
    code, err = _report(capsys, run_dir, tmp_path)
    assert code == 0, err
    assert json.loads((run_dir / "metrics.json").read_text())["history"]
