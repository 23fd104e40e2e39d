"""The training optimiser skips torch._dynamo's import and updates the weights exactly as torch.optim does."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from torch import nn

from attentivechrome.training.build import eager_optimizer


def _steps(optimizer_class, steps: int = 4, **options):
    """A small net after ``steps`` updates, and the optimiser's state dict."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 1))
    optimizer = optimizer_class(net.parameters(), lr=1e-2, **options)
    x, y = torch.randn(32, 6), torch.randn(32, 1)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        optimizer.step()
    return [p.detach().clone() for p in net.parameters()], optimizer.state_dict()


@pytest.mark.parametrize("options", [{"fused": True}, {"fused": False}, {"weight_decay": 0.01}], ids=["fused", "unfused", "adamw"])
def test_eager_adam_is_torch_adam_to_the_bit(options):
    cls = torch.optim.AdamW if "weight_decay" in options else torch.optim.Adam
    expected, expected_state = _steps(cls, **options)
    got, state = _steps(eager_optimizer(cls), **options)
    assert all(torch.equal(a, b) for a, b in zip(expected, got))
    assert state["param_groups"] == expected_state["param_groups"]
    assert all(torch.equal(state["state"][0][k], expected_state["state"][0][k]) for k in ("step", "exp_avg", "exp_avg_sq"))
    assert eager_optimizer(cls) is eager_optimizer(cls) and issubclass(eager_optimizer(cls), cls)


def test_a_state_dict_loads_back_into_the_eager_optimiser():
    _, state = _steps(eager_optimizer(torch.optim.Adam))
    net = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 1))
    optimizer = eager_optimizer(torch.optim.Adam)(net.parameters(), lr=1e-2)
    optimizer.load_state_dict(state)
    assert torch.equal(optimizer.state_dict()["state"][0]["exp_avg"], state["state"][0]["exp_avg"])


_PROBE = """
import sys
from attentivechrome.config import TrainConfig
from attentivechrome.data.synthetic import simulate
from attentivechrome.training.trainer import train
data, _ = simulate(60, 20, seed=0)
splits = {"train": data.subset(range(30)), "valid": data.subset(range(30, 45)), "test": data.subset(range(45, 60))}
train(splits, TrainConfig(model="lstm", epochs=2, batch_size=16, device="cpu"), progress=False)
print("torch._dynamo" in sys.modules)
"""


@pytest.mark.slow  # a new interpreter that loads PyTorch and trains
def test_a_training_run_never_imports_torch_dynamo():
    """torch.optim imports torch._dynamo (1-2 s) on an optimiser's first call; the training loop's optimiser does not."""
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
