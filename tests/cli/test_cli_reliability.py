"""Faults and hostile usage at the command line: one line on stderr, exit status 2 (130 for Ctrl-C), nothing half-written."""

from __future__ import annotations

import errno
import json

import pytest

from attentivechrome.cli.main import main


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny simulated cell (60 genes x 10 bins) and a one-epoch run trained on it."""
    from attentivechrome.data.synthetic import write_simulation

    root = tmp_path_factory.mktemp("tiny")
    write_simulation(root / "data", 60, 10, seed=0)
    assert _cli("train", root / "data", "--out", root / "run", "--epochs", 1, "--device", "cpu", "-q") == 0
    return root


def _cli(*args) -> int:
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith("attentivechrome: error: ")
    return err


def test_predict_refuses_to_overwrite_its_input(tiny, tmp_path, capsys):
    source = tmp_path / "genes.csv"
    source.write_bytes((tiny / "data" / "test.csv").read_bytes())
    before = source.read_bytes()
    (tmp_path / "link.csv").symlink_to(source)
    for out in (source, tmp_path / "." / "genes.csv", tmp_path / "link.csv"):
        assert _cli("predict", "--model", tiny / "run", "--input", source, "--out", out) == 2
        assert "is the same file as" in _one_error_line(capsys)
    assert _cli("predict", "--model", tiny / "run", "--input", source, "--out", tmp_path / "p.tsv", "--attention", tmp_path / "p.tsv") == 2
    assert "p.tsv: is the same file as" in _one_error_line(capsys)
    assert source.read_bytes() == before and not (tmp_path / "p.tsv").exists()


def test_train_refuses_an_existing_run_unless_overwrite(tiny, capsys):
    run = tiny / "run"
    before = (run / "metrics.json").read_text()
    assert _cli("train", tiny / "data", "--out", run, "--epochs", 1, "--device", "cpu", "-q") == 2
    assert "holds a run already (config.json, model.pt, metrics.json, test_predictions.tsv); pass --overwrite" in _one_error_line(capsys)
    assert (run / "metrics.json").read_text() == before
    assert _cli("train", tiny / "data", "--out", run, "--epochs", 1, "--device", "cpu", "-q", "--seed", 2, "--overwrite") == 0
    assert json.loads((run / "config.json").read_text())["train"]["seed"] == 2


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_a_full_or_read_only_disk_is_one_line_and_exit_2(tiny, tmp_path, capsys, monkeypatch, code):
    import os

    import attentivechrome._io as io_module

    def refuse(*args):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(io_module.os, "replace", refuse)
    assert _cli("predict", "--model", tiny / "run", "--input", tiny / "data" / "test.csv", "--out", tmp_path / "p.tsv") == 2
    assert _one_error_line(capsys) == f"attentivechrome: error: {tmp_path / 'p.tsv'}: cannot write ({os.strerror(code)})"
    assert _cli("train", tiny / "data", "--out", tmp_path / "run", "--epochs", 1, "--device", "cpu", "-q") == 2
    assert f"{tmp_path / 'run'}/" in _one_error_line(capsys)
    assert list(tmp_path.iterdir()) == []  # no run, no stage, no temporary file


@pytest.mark.parametrize(
    "command,option,value",
    [("train", "--lr", "inf"), ("train", "--clip", "nan"), ("train-many", "--lr", "-inf"), ("benchmark", "--mark-dropout", "nan")],
)
def test_non_finite_settings_are_usage_errors_before_any_work(tiny, tmp_path, capsys, command, option, value):
    assert _cli(command, tiny / "data", "--out", tmp_path / "out", option, value) == 2
    assert _one_error_line(capsys).startswith(f"attentivechrome: error: {option} must be a finite number")
    assert not (tmp_path / "out").exists()


def test_demo_with_zero_epochs_writes_nothing(tmp_path, capsys):
    assert _cli("demo", "--out", tmp_path / "demo", "--epochs", 0) == 2
    assert _one_error_line(capsys) == "attentivechrome: error: --epochs must be an integer >= 1, got 0"
    assert list(tmp_path.iterdir()) == []


def test_another_bin_count_is_an_error_unless_allowed(tiny, tmp_path, capsys):
    from attentivechrome.data import write_csv
    from attentivechrome.data.synthetic import simulate

    longer, _ = simulate(6, 12, seed=1)
    write_csv(longer, tmp_path / "long.csv")
    args = ("predict", "--model", tiny / "run", "--input", tmp_path / "long.csv", "--out", tmp_path / "p.tsv")
    assert _cli(*args) == 2
    assert "long.csv: has 12 bins per gene but the model was trained on 10" in _one_error_line(capsys)
    assert not (tmp_path / "p.tsv").exists()
    assert _cli(*args, "--allow-bin-mismatch") == 0
    assert "warning: " in capsys.readouterr().err and (tmp_path / "p.tsv").is_file()
