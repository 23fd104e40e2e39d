"""Resumable training: a run killed (or interrupted) mid-way and resumed ends bit-identical to an uninterrupted run on CPU."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
import torch

from attentivechrome.cli.main import main

EPOCHS = 16
SETTINGS = ["--epochs", EPOCHS, "--batch-size", 16, "--lr", 3e-3, "--transform", "log1p", "--device", "cpu", "--seed", 3]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A tiny cell and the uninterrupted run on it."""
    from attentivechrome.data.synthetic import write_simulation

    root = tmp_path_factory.mktemp("resume")
    write_simulation(root / "data", 90, 20, seed=0)
    assert _cli("train", root / "data", "--out", root / "reference", *SETTINGS, "-q") == 0
    return root


def _cli(*args) -> int:
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0


def _start_and_stop(data, out, how) -> subprocess.CompletedProcess:
    """``train`` in a subprocess, sent ``how`` as soon as its second epoch is reported."""
    process = subprocess.Popen([sys.executable, "-m", "attentivechrome", "train", data, "--out", out, *map(str, SETTINGS)],
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith(f"epoch   2/{EPOCHS}"):
            process.send_signal(how)
            break
    lines += process.stderr.readlines()
    process.wait(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, "", "".join(lines))


def _same_run(a, b) -> None:
    weights = [torch.load(run / "model.pt", weights_only=True)["state_dict"] for run in (a, b)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0]), "weights differ"

    def timeless(run):
        metrics = json.loads((run / "metrics.json").read_text())
        return {**metrics, "history": [{k: v for k, v in r.items() if k != "seconds"} for r in metrics["history"]]}

    assert timeless(a) == timeless(b)
    assert (a / "test_predictions.tsv").read_bytes() == (b / "test_predictions.tsv").read_bytes()


@pytest.mark.slow  # trains in a command-line process it signals
def test_killed_run_resumes_bit_identical(reference, tmp_path, capsys):
    out = tmp_path / "run"
    stopped = _start_and_stop(reference / "data", out, signal.SIGKILL)
    assert stopped.returncode == -signal.SIGKILL, stopped.stderr
    assert not out.exists() and list(tmp_path.glob(".run.*.staging"))  # nothing written; the state is staged
    assert _cli("train", reference / "data", "--out", out, *SETTINGS, "--lr", 1e-3, "--resume", "-q") == 2
    assert "the interrupted run had other settings (lr 0.003 -> 0.001)" in capsys.readouterr().err
    assert _cli("train", reference / "data", "--out", out, *SETTINGS, "--resume") == 0
    assert "resuming from" in capsys.readouterr().err
    _same_run(reference / "reference", out)
    assert list(tmp_path.iterdir()) == [out] and "resume.pt" not in {p.name for p in out.iterdir()}


@pytest.mark.slow  # trains in a command-line process it signals
def test_ctrl_c_says_what_was_kept(reference, tmp_path):
    out = tmp_path / "run"
    stopped = _start_and_stop(reference / "data", out, signal.SIGINT)
    assert stopped.returncode == 130
    last = stopped.stderr.strip().splitlines()[-1]
    assert last.startswith("attentivechrome: interrupted in epoch ") and f"nothing written to {out}; the state after epoch " in last
    assert last.endswith("is kept: rerun with --resume to continue") and not out.exists()
    [stage] = tmp_path.glob(".run.*.staging")
    assert (stage / "resume.pt").is_file()
