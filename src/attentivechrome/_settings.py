"""The one place that touches global state: seeds, devices, threads, progress bars."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

#: Show progress bars (the CLI turns this off with --quiet; tests may too).
SHOW_PROGRESS = os.environ.get("ATTENTIVECHROME_NO_PROGRESS", "") == ""


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator for data shuffling."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def resolve_device(device: str = "auto") -> torch.device:
    """Map ``auto`` to CUDA when available, else CPU; validate other names."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device {device!r}: use auto, cpu or cuda[:N]") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available on this machine")
    return resolved


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` PyTorch intra-op threads, then restore the previous count.

    Training on a CPU uses this with ``n=1``: the model's operations outside the compiled
    encoder kernel are small, and OpenMP threads waiting for each other at every operation cost
    more than they gain (on a busy 2-core machine, 2 threads made the reference LSTM 20x slower).
    The encoder kernel chooses its own threads (:func:`attentivechrome.models._fast_lstm.get_num_threads`).
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
