"""What a training run writes into its run directory (where each file lies is :class:`~attentivechrome.run_directory.RunDirectory`'s)."""

from __future__ import annotations

import numpy as np
from torch import nn

from .._version import __version__
from ..config import TrainConfig
from ..data.dataset import HistoneData
from ..inference import write_prediction_table
from ..run_directory import RunDirectory
from ..tasks import Task
from .pooling import PooledData


def metric_fields(record: dict) -> dict[str, float]:
    """The validation and test metrics of a record."""
    return {k: v for k, v in record.items() if k.startswith(("valid_", "test_"))}


def write_metrics(
    run: RunDirectory, best: dict, history: list[dict], cell_scores: dict | None = None, *, stop_reason: str | None = None, members: list[dict] | None = None
) -> None:
    """``metrics.json``: the selected epoch's scores, how many epochs ran and why they stopped (once known), the history.

    An ensemble's (``members``: each member's seed, selected epoch, scores and history) has no history of its own.
    """
    metrics = {"best_epoch": best["epoch"], **metric_fields(best), "epochs_run": len(history)}
    if stop_reason is not None:
        metrics["stop_reason"] = stop_reason
    metrics["history"] = history
    if cell_scores:
        metrics["cells"] = cell_scores
    if members:
        metrics["members"] = members
    run.write_json(run.metrics, metrics)


def write_test_predictions(run: RunDirectory, data: HistoneData, values: np.ndarray, *, task: Task, cells: np.ndarray | None = None) -> None:
    """The test predictions (decoded ``values``), in the task's columns; with ``cells`` (a pooled run), a ``cell`` column first."""
    write_prediction_table(run.predictions, data.gene_ids, task.prediction_columns(values, data.labels, data.baseline), cells=cells)


def write_config(run: RunDirectory, config: TrainConfig, model: nn.Module, pooled: PooledData, data_source: str, trained_reference: dict | None = None) -> None:
    """``config.json``: the settings, the model's parameters, the marks and bins, the data and its gene counts."""
    splits = pooled.splits
    train_data = splits["train"]
    config_record = {
        "train": config.to_dict(),
        "model_name": config.model,
        "model_params": model.init_params(),
        "marks": list(train_data.marks),
        "n_bins": train_data.n_bins,
        "data": data_source,
        "genes": {name: split.n_genes for name, split in splits.items()},
        "package_version": __version__,
    }
    if trained_reference is not None:
        config_record["reference"] = trained_reference
    if len(pooled.cells) > 1:
        config_record["cells"] = list(pooled.cells)
    run.write_json(run.config, config_record)
