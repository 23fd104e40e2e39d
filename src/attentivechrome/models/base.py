"""The named output every model returns."""

from __future__ import annotations

from typing import NamedTuple

import torch


class ModelOutput(NamedTuple):
    """What a model's forward pass returns.

    Attributes
    ----------
    logits
        Shape (genes,): the log-odds of high expression (or the regression value).
    alpha
        Shape (genes, marks, bins): bin-level attention, summing to one over bins;
        ``None`` for models without bin attention.
    beta
        Shape (genes, marks): mark-level attention, summing to one over marks;
        ``None`` for models without mark attention.
    """

    logits: torch.Tensor
    alpha: torch.Tensor | None = None
    beta: torch.Tensor | None = None


def init_forget_gate_bias(model: torch.nn.Module, value: float) -> int:
    """Start the forget gate of every ``nn.LSTM`` in ``model`` at bias ``value``; return how many LSTMs there were.

    PyTorch orders each LSTM's gates input, forget, cell, output, and adds two biases
    (``bias_ih`` and ``bias_hh``); each gets half, so the forget gate starts at ``sigmoid(value)``.
    """
    lstms = [m for m in model.modules() if isinstance(m, torch.nn.LSTM)]
    with torch.no_grad():
        for lstm in lstms:
            for name, bias in lstm.named_parameters():
                if name.startswith("bias_"):
                    hidden = bias.shape[0] // 4
                    bias[hidden : 2 * hidden] = value / 2
    return len(lstms)


def apply_input_transform(x: torch.Tensor, transform: str) -> torch.Tensor:
    """The input transform inside the model, so attributions refer to raw counts."""
    if transform == "none":
        return x
    if transform == "log1p":
        return torch.log1p(x)
    raise ValueError(f"unknown input transform {transform!r}; choose none or log1p")
