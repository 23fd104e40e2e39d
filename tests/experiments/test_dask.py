"""The runner on Dask: a local cluster, and a real scheduler with two workers on loopback, one killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from attentivechrome.config import TrainConfig
from attentivechrome.data.synthetic import write_simulation
from attentivechrome.experiments.runner import RESULT_FILE, read_result
from attentivechrome.experiments.train_many import train_many

pytest.importorskip("distributed")

CONFIG = TrainConfig(epochs=3, batch_size=32, lr=3e-3, transform="log1p", device="cpu")
SCORES = ["best_epoch", "valid_auroc", "test_auroc", "test_aupr"]


@pytest.fixture(scope="module")
def cells(tmp_path_factory):
    root = tmp_path_factory.mktemp("cells")
    for i, name in enumerate(("cellA", "cellB", "cellC")):
        write_simulation(root / name, 600, 40, seed=i)
    return [root / "cellA", root / "cellB", root / "cellC"]


@pytest.fixture(scope="module")
def serial(cells, tmp_path_factory):
    return train_many(cells, tmp_path_factory.mktemp("serial") / "out", CONFIG, jobs=1, progress=False).summary


def _results(out, cells) -> list[dict]:
    """The scores of each cell's result.json (full precision)."""
    return [{k: v for k, v in read_result(out / c.name).items() if k in SCORES} for c in cells]


@pytest.mark.slow  # starts a Dask cluster and trains on it
def test_a_local_cluster_gives_the_serial_results(cells, serial, tmp_path):
    on_cluster = train_many(cells, tmp_path / "out", CONFIG, jobs=2, progress=False)
    assert on_cluster.failed == [] and on_cluster.trained == 3
    pd.testing.assert_frame_equal(on_cluster.summary[SCORES], serial[SCORES], check_exact=True)  # bit-identical metrics


def _start(*args, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dask", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_a_remote_cluster_survives_a_killed_worker(cells, serial, tmp_path, free_port):
    from distributed import Client

    env = {**os.environ, "ATTENTIVECHROME_NO_PROGRESS": "1"}
    address = f"tcp://127.0.0.1:{free_port}"
    processes = [_start("scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], "--no-dashboard", env=env)]
    try:
        for name in ("worker-a", "worker-b"):  # no nanny: killing the process kills the worker for good
            processes.append(_start("worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--name", name, env=env))
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            names = {addr: info["name"] for addr, info in client.scheduler_info()["workers"].items()}
            out = tmp_path / "out"
            run = subprocess.Popen(
                [sys.executable, "-m", "attentivechrome", "train-many", *map(str, cells), "--out", str(out), "--scheduler", address,
                 "--epochs", "3", "--batch-size", "32", "--lr", "3e-3", "--transform", "log1p", "--device", "cpu"],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            victim = None
            deadline = time.monotonic() + 120
            while victim is None and time.monotonic() < deadline and run.poll() is None:
                busy = [addr for addr, keys in client.processing().items() if keys and names.get(addr) == "worker-a"]
                if busy:
                    victim = processes[1]
                    time.sleep(0.5)  # well inside the unit: it is training
                    victim.send_signal(signal.SIGKILL)
                time.sleep(0.05)
            stdout, stderr = run.communicate(timeout=300)
        assert victim is not None, "worker-a never got a unit"
        assert run.returncode == 0, stderr
        assert "trained 3, skipped 0 finished, failed 0" in stderr
        assert _results(out, cells) == serial[SCORES].to_dict("records")  # bit-identical, the retried unit too
        # no staging left behind: the only hidden file is the record of the command that wrote the folder
        assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [".attentivechrome-output.json"]
        assert all((out / c.name / RESULT_FILE).is_file() for c in cells)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
