"""The scikit-learn baselines' fit: once, instead of epochs (the model selects its own complexity on valid)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import torch

from ..inference import predict_tensor
from ..run_directory import RunDirectory
from ..trained import TrainedModel
from .callbacks import epoch_line
from .fitting import Fitted
from .pooling import PooledData
from .tensors import prior_tensor, to_device

logger = logging.getLogger(__name__)


class FitOnce:
    """Fits a model of :func:`~attentivechrome.models.classical.is_fitted_once` once and scores it like one epoch."""

    reuse = None
    resumable = False

    def __init__(self, trained: TrainedModel, pooled: PooledData, device: torch.device, started: float, on_epoch: Callable[[dict], None] | None) -> None:
        self.trained, self.pooled, self.device, self.started, self.on_epoch = trained, pooled, device, started, on_epoch

    def fit(self, stage: RunDirectory | None) -> Fitted:
        trained, device = self.trained, self.device
        model, config, task = trained.module, trained.config, trained.task_spec
        splits = self.pooled.splits
        train_data, valid_data, test_data = splits["train"], splits["valid"], splits["test"]
        encode = trained.target_scale.encode if trained.target_scale is not None else (lambda y: y)
        model.fit(
            train_data.counts, encode(train_data.labels), valid_data.counts, encode(valid_data.labels), task=task,
            seed=config.seed, prior=train_data.prior, valid_prior=valid_data.prior,
        )  # fmt: skip
        model.to(device).eval()
        logits = {
            name: predict_tensor(model, to_device(data, device)[0], batch_size=config.eval_batch_size, with_attention=False, prior=prior_tensor(data, device))[0].cpu().numpy()
            for name, data in splits.items()
        }
        y_train = encode(np.asarray(train_data.labels, dtype=np.float64))
        if task.binary:
            train_loss = float(np.mean(np.logaddexp(0.0, logits["train"]) - y_train * logits["train"]))  # binary cross-entropy on logits
        else:
            train_loss = float(np.mean((logits["train"] - y_train) ** 2))
        record = {
            "epoch": 1,
            "train_loss": train_loss,
            **task.scores("valid", valid_data.labels, trained.decode(logits["valid"]), valid_data.baseline),
            **task.scores("test", test_data.labels, trained.decode(logits["test"]), test_data.baseline),
            "seconds": time.perf_counter() - self.started,
            "selected": True,
        }
        if self.on_epoch is not None:
            self.on_epoch(record)
        logger.info(epoch_line(record, 1, task))
        return Fitted(best=record, history=[record], stop_reason="fitted once", test_predictions=trained.decode(logits["test"]))
