"""The callbacks of the epoch loop: schedule, weight averaging, run files, epoch lines, resume state, early stopping.

Each has one job and draws no random numbers (see :mod:`attentivechrome.training.loop`). The
trainer lists them in the order their effects must happen after an epoch: the metrics so far
are written, the epoch is reported, the loop state is saved for ``--resume``, and only then may
early stopping end the run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import torch

from ..config import TrainConfig
from ..run_directory import RunDirectory
from ..tasks import Task
from ..trained import TrainedModel
from .loop import Callback, LoopState
from .resume import save_resume_state
from .run_files import write_metrics

logger = logging.getLogger(__name__)


def scheduled_lr(config: TrainConfig, step: int, total_steps: int) -> float:
    """The learning rate of optimisation step ``step`` (from 0) of ``total_steps``, by ``config.schedule``.

    A function of the step alone, so a resumed run continues the schedule without saving it.
    """
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))
    return config.lr


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate (Adam's and AdamW's ``lr`` is read at each step)."""
    for group in optimizer.param_groups:
        group["lr"] = lr


class LearningRateSchedule(Callback):
    """Sets each step's learning rate by ``config.schedule`` (a constant rate is left to the optimiser)."""

    def on_step_begin(self, state: LoopState, step: int, total_steps: int) -> None:
        set_learning_rate(state.optimizer, scheduled_lr(state.config, step, total_steps))


class WeightAveraging(Callback):
    """Keeps an exponential moving average of the weights; each epoch is scored, selected and saved with it."""

    def __init__(self, averaged: torch.optim.swa_utils.AveragedModel) -> None:
        self.averaged = averaged

    def on_train_begin(self, state: LoopState) -> None:
        state.scored = self.averaged.module

    def on_step_end(self, state: LoopState) -> None:
        self.averaged.update_parameters(state.model)


class MetricsSoFar(Callback):
    """Writes ``metrics.json`` of the run's stage after each epoch: the selection and history so far."""

    def __init__(self, stage: RunDirectory) -> None:
        self.stage = stage

    def on_epoch_end(self, state: LoopState, record: dict) -> None:
        write_metrics(self.stage, state.best, state.history)


class EpochReport(Callback):
    """Hands each epoch's record to ``on_epoch`` (the command line's epoch lines) and logs its line."""

    def __init__(self, on_epoch: Callable[[dict], None] | None) -> None:
        self.on_epoch = on_epoch

    def on_epoch_end(self, state: LoopState, record: dict) -> None:
        if self.on_epoch is not None:
            self.on_epoch(record)
        logger.info(epoch_line(record, state.config.epochs, state.task))


class ResumeState(Callback):
    """Saves everything the next epoch depends on into the stage's ``resume.pt`` after each epoch, for ``--resume``."""

    def __init__(self, stage: RunDirectory, trained: TrainedModel, fingerprint: dict, averaging: WeightAveraging | None) -> None:
        self.stage, self.trained, self.fingerprint, self.averaging = stage, trained, fingerprint, averaging

    def on_epoch_end(self, state: LoopState, record: dict) -> None:
        averaged = None if self.averaging is None else self.averaging.averaged
        save_resume_state(
            self.stage.resume_state, self.trained, state.optimizer, state.generator, state.history, state.best, state.best_state, averaged, data=self.fingerprint
        )


class EarlyStopping(Callback):
    """Stops the loop when ``patience`` epochs have passed without a better validation score (never after the last epoch)."""

    def __init__(self, patience: int) -> None:
        self.patience = patience

    def _due(self, state: LoopState, epoch: int) -> bool:
        return epoch - state.best["epoch"] >= self.patience and epoch < state.config.epochs

    def on_train_begin(self, state: LoopState) -> None:
        if state.history and self._due(state, len(state.history)):  # the interrupted run had already stopped early
            state.stop_reason = "patience"

    def on_epoch_end(self, state: LoopState, record: dict) -> None:
        if self._due(state, record["epoch"]):
            logger.info("no better validation score in %d epochs: stopped after epoch %d, kept epoch %d", self.patience, record["epoch"], state.best["epoch"])
            state.stop_reason = "patience"


def epoch_line(record: dict, epochs: int, task: Task) -> str:
    """The epoch's loss and validation scores (the test split is scored once, for the selected epoch).

    An ensemble announces each member with a record of its own (``member``, ``members``, ``seed``).
    """
    if "member" in record:
        return f"member {record['member']}/{record['members']} (seed {record['seed']})"
    mark = " *" if record.get("selected") else ""
    scores = task.epoch_scores(record)
    return f"epoch {record['epoch']:>3}/{epochs}  loss {record['train_loss']:.4f}  {scores}  {record['seconds']:.1f}s{mark}"
