"""Batched inference: probabilities and attention for a data set, without gradients."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from ._io import atomic_open, atomic_path
from .data.dataset import HistoneData
from .tasks import get_task

#: Default genes per forward pass at inference.
INFERENCE_BATCH_SIZE = 256


@dataclass(frozen=True)
class Predictions:
    """Model outputs for a set of genes (arrays on the CPU).

    ``alpha`` is (genes, marks, bins) and ``beta`` (genes, marks), or ``None`` when the model
    has no such attention or when attention was not asked for.
    """

    gene_ids: np.ndarray
    logits: np.ndarray
    labels: np.ndarray | None
    alpha: np.ndarray | None = None
    beta: np.ndarray | None = None
    #: The model's task (see :mod:`attentivechrome.tasks`): ``regression`` and ``deviation`` models
    #: give decoded values (log1p expression, or its deviation from the prior) instead of log-odds.
    task: str = "classification"
    #: Deviation models: each gene's prior, log(RPKM + 1) (adds to the deviation to give the expression).
    baseline: np.ndarray | None = None

    @property
    def probabilities(self) -> np.ndarray:
        """Shape (genes,): the probability of high expression (classification models only)."""
        if not get_task(self.task).binary:
            raise ValueError(f"a {self.task} model predicts {get_task(self.task).meaning}, not probabilities; use .values")
        return get_task(self.task).shown(self.logits)

    @property
    def values(self) -> np.ndarray:
        """Shape (genes,): what the model predicts, on its task's scale.

        The probability of high expression for a classification model; log1p expression for a
        regression model; the deviation from the prior for a deviation model.
        """
        return get_task(self.task).shown(self.logits)


def predict_tensor(
    model: nn.Module,
    x: torch.Tensor,
    *,
    batch_size: int = INFERENCE_BATCH_SIZE,
    with_attention: bool = True,
    prior: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """Run ``model`` over ``x`` (genes, bins, marks), already on the model's device, in batches.

    ``prior``: the genes' reference-prior features (genes, features), for a reference-informed model.
    Returns logits (genes,), alpha and beta (or ``None``), on the device of ``x``.
    """
    was_training = model.training
    model.eval()
    logits, alphas, betas = [], [], []
    try:
        with torch.inference_mode():
            for start in range(0, x.shape[0], batch_size):
                batch = x[start : start + batch_size]
                out = model(batch) if prior is None else model(batch, prior[start : start + batch_size])
                logits.append(out.logits)
                if with_attention and out.alpha is not None:
                    alphas.append(out.alpha)
                if with_attention and out.beta is not None:
                    betas.append(out.beta)
    finally:
        model.train(was_training)
    if not logits:
        return torch.empty(0, device=x.device), None, None
    return (
        torch.cat(logits),
        torch.cat(alphas) if alphas else None,
        torch.cat(betas) if betas else None,
    )


def predict_module(
    model: nn.Module,
    data: HistoneData,
    *,
    batch_size: int = INFERENCE_BATCH_SIZE,
    device: str | torch.device = "cpu",
    with_attention: bool = True,
) -> Predictions:
    """Run a bare module over every gene of ``data``: raw logits, labels if known, attention maps.

    The module's outputs are not decoded: for a regression model they are standardised values.
    :meth:`attentivechrome.trained.TrainedModel.predict` checks the data and decodes the outputs
    for the model's task; use it for anything loaded from a checkpoint.
    """
    device = torch.device(device)
    model = model.to(device)
    x = torch.from_numpy(np.ascontiguousarray(data.counts)).to(device)
    prior = None if data.prior is None else torch.from_numpy(np.ascontiguousarray(data.prior, dtype=np.float32)).to(device)
    logits, alpha, beta = predict_tensor(model, x, batch_size=batch_size, with_attention=with_attention, prior=prior)
    return Predictions(
        gene_ids=data.gene_ids,
        logits=logits.float().cpu().numpy(),
        labels=data.labels,
        alpha=None if alpha is None else alpha.float().cpu().numpy(),
        beta=None if beta is None else beta.float().cpu().numpy(),
    )


def write_predictions(predictions: Predictions, path: str | Path) -> None:
    """Write a TSV of the predictions, atomically: ``gene_id``, then the task's columns.

    See :meth:`attentivechrome.tasks.Task.prediction_columns`: ``probability`` (classification),
    ``log1p_expression`` (regression) or ``deviation, prior, log1p_expression`` (deviation); then
    the file's ``label`` when it has one.
    """
    columns = get_task(predictions.task).prediction_columns(predictions.logits, None, predictions.baseline)
    if predictions.labels is not None:  # the file's own 0/1 labels, whatever the task
        columns["label"] = predictions.labels
    write_prediction_table(path, predictions.gene_ids, columns)


def write_prediction_table(path: str | Path, gene_ids: np.ndarray, columns: dict[str, np.ndarray], *, cells: np.ndarray | None = None) -> None:
    """The one prediction-TSV writer: ``[cell,] gene_id`` then ``columns``, atomically."""
    frame = pd.DataFrame({"gene_id": gene_ids, **columns})
    if cells is not None:
        frame.insert(0, "cell", cells)
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        frame.to_csv(handle, sep="\t", index=False, float_format="%.6g")


def write_attention(predictions: Predictions, marks: tuple[str, ...], path: str | Path) -> None:
    """Write an NPZ with ``gene_ids``, ``alpha`` (genes, marks, bins), ``beta`` (genes, marks; when the model has it), ``marks``."""
    if predictions.alpha is None:
        raise ValueError("this model has no attention to write (models with attention: see `attentivechrome models`)")
    arrays = {"gene_ids": np.asarray(predictions.gene_ids, dtype=str), "alpha": predictions.alpha.astype(np.float32), "marks": np.array(marks)}
    if predictions.beta is not None:
        arrays["beta"] = predictions.beta.astype(np.float32)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
