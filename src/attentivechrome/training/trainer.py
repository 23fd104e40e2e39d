"""The training loop: Adam, gradient clipping, model selection on validation AUROC.

A run directory receives, each written atomically:

- ``config.json``: the training settings, model parameters and data;
- ``model.pt``: the selected (best validation AUROC) model, a self-describing checkpoint;
- ``metrics.json``: ``best_epoch``, ``valid_auroc``, ``test_auroc``, ``test_aupr`` and the history;
- ``test_predictions.tsv``: ``gene_id``, ``probability``, ``label`` of the selected model.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import _settings
from .._io import atomic_open, write_text_atomic
from .._progress import progress_bar
from .._version import __version__
from ..data.dataset import HistoneData
from ..evaluation.metrics import aupr, auroc
from ..inference import predict_tensor
from ..models import get_model
from ..models.checkpoint import RUN_MODEL_FILE, save_checkpoint
from .config import TrainConfig

logger = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a run produced: the selected model and its scores."""

    model: nn.Module
    best_epoch: int
    valid_auroc: float
    test_auroc: float
    test_aupr: float
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    out_dir: Path | None = None


def build_model(config: TrainConfig, n_marks: int) -> nn.Module:
    """The untrained model a config describes (weights drawn from the config's seed)."""
    return get_model(config.model, n_marks=n_marks, transform=config.transform)


def train(
    splits: dict[str, HistoneData],
    config: TrainConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    data_source: str = "",
    on_epoch: Callable[[dict], None] | None = None,
    progress: bool | None = None,
) -> TrainResult:
    """Train a model on ``splits['train']``, select it on ``splits['valid']``, score ``splits['test']``.

    Parameters
    ----------
    splits
        ``train``, ``valid`` and ``test`` :class:`HistoneData` with labels.
    config
        Hyper-parameters; default :class:`TrainConfig()` (the original's).
    out_dir
        Run directory to write (see the module docstring); nothing is written when ``None``.
    on_epoch
        Called after each epoch with that epoch's record (epoch, loss, AUROCs, seconds).
    progress
        Show a progress bar per epoch; default: the package setting.
    """
    config = config or TrainConfig()
    started = time.perf_counter()
    device = _settings.resolve_device(config.device)
    generator = _settings.seed_everything(config.seed)
    train_data, valid_data, test_data = splits["train"], splits["valid"], splits["test"]
    marks = train_data.marks

    model = build_model(config, train_data.n_marks).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    loss_fn = nn.BCEWithLogitsLoss()

    # Whole splits live on the device once; batches are index slices (no per-batch host work).
    x_train, y_train = _to_device(train_data, device)
    x_valid, y_valid_np = _to_device(valid_data, device)[0], valid_data.labels
    x_test, y_test_np = _to_device(test_data, device)[0], test_data.labels

    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        run_config = {
            "train": config.to_dict(),
            "model_name": config.model,
            "model_params": model.init_params(),
            "marks": list(marks),
            "n_bins": train_data.n_bins,
            "data": data_source,
            "genes": {name: split.n_genes for name, split in splits.items()},
            "package_version": __version__,
        }
        write_text_atomic(out / "config.json", json.dumps(run_config, indent=2) + "\n")

    history: list[dict] = []
    best: dict | None = None
    best_state: dict[str, torch.Tensor] | None = None
    n_train = x_train.shape[0]
    n_batches = (n_train + config.batch_size - 1) // config.batch_size
    for epoch in range(1, config.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(n_train, generator=generator).to(device)
        loss_sum = torch.zeros((), device=device)
        with progress_bar(n_batches, f"epoch {epoch}/{config.epochs}", enabled=progress) as advance:
            for b in range(n_batches):
                index = order[b * config.batch_size : (b + 1) * config.batch_size]
                logits = model(x_train[index]).logits
                loss = loss_fn(logits, y_train[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), config.clip)
                optimizer.step()
                loss_sum += loss.detach() * index.shape[0]
                advance(1)

        valid_logits = predict_tensor(model, x_valid, batch_size=config.eval_batch_size, with_attention=False)[0].cpu().numpy()
        test_logits = predict_tensor(model, x_test, batch_size=config.eval_batch_size, with_attention=False)[0].cpu().numpy()
        record = {
            "epoch": epoch,
            "train_loss": float(loss_sum) / n_train,
            "valid_auroc": auroc(y_valid_np, valid_logits),
            "valid_aupr": aupr(y_valid_np, valid_logits),
            "test_auroc": auroc(y_test_np, test_logits),
            "test_aupr": aupr(y_test_np, test_logits),
            "seconds": time.perf_counter() - epoch_start,
        }
        history.append(record)
        improved = best is None or record["valid_auroc"] > best["valid_auroc"]
        if improved:
            best = record
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            if out is not None:
                save_checkpoint(model, out / RUN_MODEL_FILE, marks=marks, n_bins=train_data.n_bins, extra={"epoch": epoch})
                _write_predictions(out / "test_predictions.tsv", test_data.gene_ids, test_logits, y_test_np)
        record["selected"] = improved
        if out is not None:
            _write_metrics(out / "metrics.json", best, history)
        if on_epoch is not None:
            on_epoch(record)
        logger.info(_epoch_line(record, config.epochs))

    assert best is not None and best_state is not None  # epochs >= 1 is validated in TrainConfig
    model.load_state_dict(best_state)
    model.eval()
    return TrainResult(
        model=model,
        best_epoch=best["epoch"],
        valid_auroc=best["valid_auroc"],
        test_auroc=best["test_auroc"],
        test_aupr=best["test_aupr"],
        history=history,
        seconds=time.perf_counter() - started,
        out_dir=out,
    )


def epoch_summary(record: dict, epochs: int) -> str:
    """One line describing an epoch, for logs and the CLI."""
    return _epoch_line(record, epochs)


def _epoch_line(record: dict, epochs: int) -> str:
    mark = " *" if record.get("selected") else ""
    return (
        f"epoch {record['epoch']:>3}/{epochs}  loss {record['train_loss']:.4f}  "
        f"valid AUROC {record['valid_auroc']:.4f}  test AUROC {record['test_auroc']:.4f}  "
        f"AUPR {record['test_aupr']:.4f}  {record['seconds']:.1f}s{mark}"
    )


def _to_device(data: HistoneData, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    x = torch.from_numpy(np.ascontiguousarray(data.counts, dtype=np.float32)).to(device)
    y = None if data.labels is None else torch.from_numpy(data.labels.astype(np.float32)).to(device)
    return x, y


def _write_predictions(path: Path, gene_ids: np.ndarray, logits: np.ndarray, labels: np.ndarray | None) -> None:
    frame = pd.DataFrame({"gene_id": gene_ids, "probability": 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))})
    if labels is not None:
        frame["label"] = labels
    with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
        frame.to_csv(handle, sep="\t", index=False, float_format="%.6g")


def _write_metrics(path: Path, best: dict, history: list[dict]) -> None:
    metrics = {
        "best_epoch": best["epoch"],
        "valid_auroc": best["valid_auroc"],
        "valid_aupr": best["valid_aupr"],
        "test_auroc": best["test_auroc"],
        "test_aupr": best["test_aupr"],
        "epochs_run": len(history),
        "history": history,
    }
    write_text_atomic(path, json.dumps(metrics, indent=2) + "\n")
