"""No command writes over a file it reads: the model, its inputs, its reference tables (one line, exit 2, nothing changed)."""

from __future__ import annotations

import pytest

from attentivechrome.cli.main import main

TINY = ["--preset", "original", "--epochs", "1", "--batch-size", "16", "--device", "cpu", "-q"]


def _cli(capsys, *args) -> tuple[int, str]:
    capsys.readouterr()  # what fixtures said before
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0, capsys.readouterr().err


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, one_torch_thread):
    """A simulated cell (60 genes, 20 bins) and a one-epoch run on it."""
    from attentivechrome.data.synthetic import write_simulation

    root = tmp_path_factory.mktemp("guarded")
    write_simulation(root / "data", 60, 20, seed=0)
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in ("train", root / "data", "--out", root / "run", *TINY)])
    assert stop.value.code == 0
    return root


@pytest.mark.parametrize("how", ["out", "attention"])
@pytest.mark.parametrize("model", ["run directory", "checkpoint file"])
def test_predict_refuses_to_write_over_its_model(tiny_run, capsys, how, model):
    run = tiny_run / "run"
    before = (run / "model.pt").read_bytes()
    reference = run if model == "run directory" else run / "model.pt"
    outputs = ["--out", run / "model.pt"] if how == "out" else ["--out", tiny_run / "p.tsv", "--attention", run / "model.pt"]
    code, err = _cli(capsys, "predict", "--model", reference, "--input", tiny_run / "data" / "test.csv", *outputs)
    assert code == 2
    [line] = err.strip().splitlines()
    assert f"{run / 'model.pt'}: is the same file as {run / 'model.pt'}" in line
    assert (run / "model.pt").read_bytes() == before and not (tiny_run / "p.tsv").exists()


def test_predict_refuses_to_write_over_a_cell_input_file(tiny_run, capsys):
    valid = tiny_run / "data" / "valid.csv"
    before = valid.read_bytes()
    code, err = _cli(capsys, "predict", "--model", tiny_run / "run", "--input", tiny_run / "data" / "test.csv", "--out", valid, "--cell-input", tiny_run / "data")
    assert code == 2 and f"{valid}: is the same file as {valid}" in err
    assert valid.read_bytes() == before


def test_train_refuses_an_out_another_train_is_writing(tiny_run, tmp_path, capsys):
    import os
    import subprocess
    import sys

    out = tmp_path / "run"
    # Another process holds --out as a running `train` does (it takes the same lock).
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from attentivechrome._io import exclusive_lock\n"
         f"with exclusive_lock({str(out)!r}, 'train', beside=True):\n    print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        code, err = _cli(capsys, "train", tiny_run / "data", "--out", out, *TINY)
        assert code == 2
        [line] = err.strip().splitlines()
        assert line == f"attentivechrome: error: {out}: another train is writing here (pid {holder.pid}); wait for it to finish, or use another --out"
        assert not out.exists()
    finally:
        holder.communicate("", timeout=30)
    assert _cli(capsys, "train", tiny_run / "data", "--out", out, *TINY)[0] == 0  # released: the next train runs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # and leaves no lock behind


def test_cell_input_is_refused_by_a_model_that_does_not_normalise(tiny_run, capsys):
    test = tiny_run / "data" / "test.csv"
    for command in (["predict", "--out", tiny_run / "p.tsv"], ["evaluate"]):
        code, err = _cli(capsys, command[0], "--model", tiny_run / "run", "--input", test, "--cell-input", tiny_run / "data", *command[1:])
        assert code == 2
        assert err.strip() == (
            f"attentivechrome: error: --cell-input: {tiny_run / 'run'} does not normalise its input (trained with --normalize none), "
            "so it reads no cell statistics; drop --cell-input"
        )
    assert not (tiny_run / "p.tsv").exists()


@pytest.mark.parametrize("command", ["train-many", "benchmark", "interpret", "interpret-benchmark"])
def test_ctrl_c_says_what_was_kept(tiny_run, tmp_path, monkeypatch, capsys, command):
    import json

    import attentivechrome.experiments.benchmark as benchmark
    import attentivechrome.experiments.train_many as train_many
    import attentivechrome.workflows as workflows

    out = tmp_path / "out"

    def interrupted(*args, **kwargs):
        (out / "runs" / "data").mkdir(parents=True)
        (out / "runs" / "data" / "result.json").write_text(json.dumps({"status": "trained"}))  # one run finished before Ctrl-C
        raise KeyboardInterrupt

    def interrupted_early(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_many, "train_many", interrupted)
    monkeypatch.setattr(benchmark, "run_benchmark", interrupted)
    monkeypatch.setattr(workflows, "interpret_model", interrupted_early)
    monkeypatch.setattr(workflows, "benchmark_model", interrupted_early)
    data, run = tiny_run / "data", tiny_run / "run"
    args = {
        "train-many": ["train-many", data, "--out", out, "--epochs", 1],
        "benchmark": ["benchmark", data, "--out", out, "--models", "linear", "--seeds", 1],
        "interpret": ["interpret", "--model", run, "--input", data / "test.csv", "--out", out, "--methods", "attention"],
        "interpret-benchmark": ["interpret-benchmark", "--data", data, "--model", run, "--out", out, "--methods", "attention"],
    }[command]
    code, err = _cli(capsys, *args)
    assert code == 130
    line = err.strip().splitlines()[-1]  # the last line (train-many first says what it starts)
    if command.startswith("interpret"):
        assert line == f"attentivechrome: interrupted, nothing written to {out}"
    else:
        assert line == (
            f"attentivechrome: interrupted, 1 finished run(s) kept in {out} (a run cut off mid-way starts over); "
            "rerun the same command to continue, finished runs are skipped"
        )
