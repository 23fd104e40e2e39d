"""The fit protocol: what the trainer asks of a way to fit a model (epochs of gradient steps, or one scikit-learn fit).

The trainer builds the model, stages the run directory and writes its files; a :class:`Fitter`
fits the model in between, leaves it holding the selected weights and says what it selected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..run_directory import RunDirectory


@dataclass
class Fitted:
    """What a fit selected: its record (with the test scores), the history, why it stopped, and its decoded test predictions."""

    best: dict
    history: list[dict]
    stop_reason: str
    test_predictions: np.ndarray


class Fitter(Protocol):
    #: The stage an interrupted fit of this run left, to take over (``None``: a new stage).
    reuse: RunDirectory | None
    #: Whether an interrupted fit keeps its stage for ``--resume``.
    resumable: bool

    def fit(self, stage: RunDirectory | None) -> Fitted:
        """Fit the model (writing what it keeps while it runs into ``stage``, when given) and leave it with the selected weights."""
        ...
