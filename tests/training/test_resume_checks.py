"""--resume continues only the run it was made for: same data, and a state that fits; anything else is refused in one line, keeping the state."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
import torch

from attentivechrome._io import STAGE_OWNER
from attentivechrome.cli.main import main
from attentivechrome.config import TrainConfig
from attentivechrome.data import load_splits
from attentivechrome.data.csv_io import write_csv
from attentivechrome.data.schema import SPLITS
from attentivechrome.data.synthetic import write_simulation
from attentivechrome.run_directory import RunDirectory
from attentivechrome.training.trainer import TrainingInterrupted, train

RESUME_FILE = RunDirectory.RESUME

#: The CLI options of every run here, and the same settings as a TrainConfig.
OPTIONS = ["--preset", "original", "--epochs", "3", "--batch-size", "16", "--device", "cpu", "--seed", "5"]
CONFIG = TrainConfig(preset="original", epochs=3, batch_size=16, device="cpu", seed=5)


@pytest.fixture(scope="module")
def cells(tmp_path_factory, one_torch_thread):
    """Cell A, and cells that differ from it: other values (B), 50 bins, four marks."""
    root = tmp_path_factory.mktemp("cells")
    write_simulation(root / "A", 60, 20, seed=0)
    write_simulation(root / "B", 60, 20, seed=1)
    write_simulation(root / "bins50", 60, 50, seed=0)
    splits = load_splits(root / "A")
    for split in SPLITS:
        data = splits[split]
        fewer = type(data)(gene_ids=data.gene_ids, counts=data.counts[:, :, :4], labels=data.labels, marks=data.marks[:4])
        write_csv(fewer, root / "marks4" / f"{split}.csv")
    return root


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _interrupted_run(cell, out):
    """A run of ``cell`` into ``out`` stopped after its first epoch, its stage left as a killed process leaves it; the stage."""

    def stop(record):
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted):
        train({cell.name: load_splits(cell)}, CONFIG, out_dir=out, data_source=str(cell), on_epoch=stop, progress=False)  # named as the CLI names it
    [stage] = out.parent.glob(f".{out.name}.*.staging")
    (stage / STAGE_OWNER).write_text(json.dumps({"host": socket.gethostname(), "pid": _dead_pid()}) + "\n")
    assert (stage / RESUME_FILE).is_file()
    return stage


def _cli(capsys, *args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0, capsys.readouterr().err


@pytest.mark.parametrize("other", ["B", "bins50", "marks4"])
def test_resume_on_other_data_is_refused_and_keeps_the_state(cells, tmp_path, capsys, other):
    out = tmp_path / "run"
    stage = _interrupted_run(cells / "A", out)
    before = (stage / RESUME_FILE).read_bytes()
    code, err = _cli(capsys, "train", cells / other, "--out", out, *OPTIONS, "--resume", "-q")
    assert code == 2, err
    [line] = err.strip().splitlines()
    assert line.startswith(f"attentivechrome: error: {stage / RESUME_FILE}: the interrupted run trained on other data ({cells / 'A'})")
    expected = {"B": "other train values", "bins50": "bins 20 -> 50", "marks4": "marks H3K27me3, H3K36me3, H3K4me1, H3K4me3, H3K9me3 -> H3K27me3, H3K36me3, H3K4me1, H3K4me3"}
    assert expected[other] in line and "the state is kept" in line
    assert (stage / RESUME_FILE).read_bytes() == before and not out.exists()
    # The state still resumes on its own data.
    code, err = _cli(capsys, "train", cells / "A", "--out", out, *OPTIONS, "--resume", "-q")
    assert code == 0, err
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 3
    assert json.loads((out / "config.json").read_text())["n_bins"] == 20


def _edit_state(path, edit) -> None:
    state = torch.load(path, weights_only=True)
    edit(state)
    torch.save(state, path)


def _wrong_shape(state):
    name = next(k for k, v in state["model"].items() if v.dim() == 2)
    state["model"][name] = torch.zeros(3, 3)


def _wrong_best_shape(state):
    name = next(k for k, v in state["best_state"].items() if v.dim() == 2)
    state["best_state"][name] = torch.zeros(3, 3)


def _wrong_optimizer_shape(state):
    first = next(iter(state["optimizer"]["state"].values()))
    first["exp_avg"] = torch.zeros(2)


def _best_not_in_history(state):
    state["best"] = dict(state["best"], epoch=7)  # torch.save kept best as one of the history's records


def _history_too_long(state):
    state["history"] = [dict(state["history"][0], epoch=e) for e in range(1, 5)]


@pytest.mark.parametrize(
    "edit, says",
    [
        (_wrong_shape, "RuntimeError: Error(s) in loading state_dict"),
        (_wrong_best_shape, "RuntimeError: Error(s) in loading state_dict"),
        (_wrong_optimizer_shape, "optimiser exp_avg of shape (2,)"),
        (_best_not_in_history, "its selected epoch 7 is not in its history"),
        (_history_too_long, "it ran 4 epochs, more than --epochs 3"),
    ],
)
def test_a_state_that_does_not_fit_is_refused_and_kept(cells, tmp_path, capsys, edit, says):
    out = tmp_path / "run"
    stage = _interrupted_run(cells / "A", out)
    _edit_state(stage / RESUME_FILE, edit)
    before = (stage / RESUME_FILE).read_bytes()
    code, err = _cli(capsys, "train", cells / "A", "--out", out, *OPTIONS, "--resume", "-q")
    assert code == 2, err
    [line] = err.strip().splitlines()
    assert line.startswith(f"attentivechrome: error: {stage / RESUME_FILE}: does not fit this run (") and says in line, line
    assert line.endswith("the state is kept; train without --resume to start again")
    assert (stage / RESUME_FILE).read_bytes() == before and not out.exists()


def test_a_damaged_state_is_refused_and_kept(cells, tmp_path, capsys):
    out = tmp_path / "run"
    stage = _interrupted_run(cells / "A", out)
    (stage / RESUME_FILE).write_bytes(b"not a state")
    code, err = _cli(capsys, "train", cells / "A", "--out", out, *OPTIONS, "--resume", "-q")
    assert code == 2 and f"{stage / RESUME_FILE}: cannot resume from it" in err and len(err.strip().splitlines()) == 1
    assert (stage / RESUME_FILE).read_bytes() == b"not a state"
