"""train --distributed under torchrun: 2 CPU processes (gloo) give the weights of 1 process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from attentivechrome.data.synthetic import write_simulation

# Mark dropout on: its draws for each global batch must be the same on every rank, as in one process.
ARGS = ["--epochs", "2", "--batch-size", "33", "--lr", "3e-3", "--transform", "log1p", "--device", "cpu", "--mark-dropout", "0.3", "-q"]


@pytest.mark.slow
def test_two_ranks_train_the_weights_of_one_process(tmp_path, free_port):
    write_simulation(tmp_path / "sim", 301, 20, seed=3)  # 100 training genes: batches of 33 leave a short last batch of 1
    env = {**os.environ, "ATTENTIVECHROME_NO_PROGRESS": "1"}
    one = subprocess.run([sys.executable, "-m", "attentivechrome", "train", str(tmp_path / "sim"), "--out", str(tmp_path / "one"), *ARGS], capture_output=True, text=True, env=env)
    assert one.returncode == 0, one.stderr
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port", str(free_port)]
    two = subprocess.run(
        [*torchrun, "-m", "attentivechrome", "train", str(tmp_path / "sim"), "--out", str(tmp_path / "two"), "--distributed", *ARGS],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr
    a = torch.load(tmp_path / "one" / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "two" / "model.pt", weights_only=True)
    assert a["epoch"] == b["epoch"]  # the same epoch selected
    for name, tensor in a["state_dict"].items():
        torch.testing.assert_close(b["state_dict"][name], tensor, rtol=0, atol=1e-5, msg=name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "sim", "two"]  # rank 1 wrote nothing, no staging left


@pytest.mark.slow  # a command-line process
def test_distributed_outside_torchrun_is_a_usage_error(tmp_path):
    write_simulation(tmp_path / "sim", 60, 20, seed=3)
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    done = subprocess.run([sys.executable, "-m", "attentivechrome", "train", str(tmp_path / "sim"), "--out", str(tmp_path / "o"), "--distributed", *ARGS],
                          capture_output=True, text=True, env=env)  # fmt: skip
    assert done.returncode == 2 and "--distributed needs the variables torchrun sets" in done.stderr
    assert not (tmp_path / "o").exists()
