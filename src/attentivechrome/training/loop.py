"""The epoch loop: batches, loss, gradient step, validation score and selection; everything else is a callback.

:func:`run_epochs` runs the epochs of a :class:`LoopState`. What varies between runs -- the
learning-rate schedule, weight averaging, the metrics and resume state written after each
epoch, the per-epoch lines and early stopping -- is a :class:`Callback`
(:mod:`attentivechrome.training.callbacks`), called at fixed points of the loop. Callbacks draw
no random numbers: a run is the same, bit for bit, whichever of them are present.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from ..config import TrainConfig
from ..tasks import Task


@dataclass
class LoopState:
    """What the loop and its callbacks share: the model, optimiser, shuffle generator, history and selection."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    generator: torch.Generator
    config: TrainConfig
    task: Task
    n_batches: int
    history: list[dict] = field(default_factory=list)
    #: The selected (best validation) record so far, and the weights it was scored with.
    best: dict | None = None
    best_state: dict[str, torch.Tensor] | None = None
    #: The epoch running (or last run).
    epoch: int = 0
    #: The weights each epoch is scored and kept by: the model's own, or a callback's average of them.
    scored: nn.Module | None = None
    #: Set by a callback to end the loop after this epoch (``patience``); ``epochs`` when every epoch ran.
    stop_reason: str | None = None

    def __post_init__(self) -> None:
        if self.scored is None:
            self.scored = self.model


class Callback:
    """Hooks of :func:`run_epochs`; each does nothing unless overridden."""

    def on_train_begin(self, state: LoopState) -> None:
        """Before the first epoch run (after a resumed state is restored)."""

    def on_step_begin(self, state: LoopState, step: int, total_steps: int) -> None:
        """Before optimisation step ``step`` (from 0) of ``total_steps`` takes its gradient step."""

    def on_step_end(self, state: LoopState) -> None:
        """After the optimiser's step."""

    def on_epoch_end(self, state: LoopState, record: dict) -> None:
        """After the epoch is scored and selected (``record["selected"]``); set ``state.stop_reason`` to stop."""


#: One epoch's training: the summed loss over the training genes for the epoch given.
EpochTrainer = Callable[[LoopState, int, Sequence[Callback]], torch.Tensor]
#: The validation scores of the weights :attr:`LoopState.scored` holds.
Scorer = Callable[[nn.Module], dict]


def run_epochs(state: LoopState, train_epoch: EpochTrainer, score: Scorer, n_train: int, callbacks: Sequence[Callback] = ()) -> None:
    """Run the epochs after ``state.history`` up to ``config.epochs``, or until a callback stops the loop.

    After each epoch the scored weights are scored on the valid split, the epoch's record joins
    the history and becomes the selection when it is better than the selection so far.
    ``state.stop_reason`` says why the loop ended.
    """
    state.epoch = len(state.history)
    for callback in callbacks:
        callback.on_train_begin(state)
    if state.stop_reason is not None:  # a resumed run that had already stopped
        return
    for epoch in range(len(state.history) + 1, state.config.epochs + 1):
        state.epoch = epoch
        started = time.perf_counter()
        loss_sum = train_epoch(state, epoch, callbacks)
        record = {"epoch": epoch, "train_loss": float(loss_sum) / n_train, **score(state.scored), "seconds": time.perf_counter() - started}
        state.history.append(record)
        improved = state.best is None or state.task.better(record, state.best)
        if improved:
            state.best = record
            state.best_state = {k: v.detach().clone() for k, v in state.scored.state_dict().items()}
        record["selected"] = improved
        for callback in callbacks:
            callback.on_epoch_end(state, record)
        if state.stop_reason is not None:
            return
    state.stop_reason = "epochs"
