"""What :func:`attentivechrome.train` returns: the trained model, and beside it the record of how it was trained.

The record is kept apart from :class:`~attentivechrome.trained.TrainedModel`: a loaded model and a
trained one are the same object, and the scores of a run live in its run directory (``metrics.json``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..trained import TrainedModel


@dataclass
class TrainingRecord:
    """How a model came out of :func:`attentivechrome.train`: the selected epoch, its scores and the history."""

    best_epoch: int
    scores: dict[str, float] = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    out_dir: Path | None = None
    #: For a model pooled over cells: each cell's test metrics.
    cell_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    #: Why training ended: ``epochs`` (every epoch ran), ``patience`` (early stopping), ``fitted once``, or ``ensemble``.
    stop_reason: str = "epochs"
    #: For an ensemble (``stop_reason`` ``ensemble``): each member's seed, selected epoch, scores and history.
    members: list[dict] = field(default_factory=list)

    @property
    def valid_auroc(self) -> float:
        return self.scores.get("valid_auroc", float("nan"))

    @property
    def test_auroc(self) -> float:
        return self.scores.get("test_auroc", float("nan"))

    @property
    def test_aupr(self) -> float:
        return self.scores.get("test_aupr", float("nan"))


@dataclass(frozen=True)
class TrainingResult:
    """The selected model and its training record; unpacks as ``model, record = train(...)``."""

    model: TrainedModel
    record: TrainingRecord

    def __iter__(self) -> Iterator:
        return iter((self.model, self.record))
