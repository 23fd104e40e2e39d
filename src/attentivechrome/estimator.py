"""A scikit-learn-shaped estimator over the model, the trainer and inference."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data.dataset import HistoneData
from .exceptions import NotFittedError
from .inference import predict
from .models.checkpoint import load_checkpoint, save_checkpoint
from .training.config import TrainConfig
from .training.trainer import train


class AttentiveChromeClassifier:
    """Train AttentiveChrome and query it like a scikit-learn classifier.

    The constructor only stores the training settings (see :class:`TrainConfig`);
    :meth:`fit` validates them, trains, and sets ``model_``, ``marks_``, ``result_``.

    Examples
    --------
    >>> import attentivechrome as ac
    >>> data, _ = ac.simulate(90, 20, seed=0)
    >>> clf = ac.AttentiveChromeClassifier(epochs=1, device="cpu")
    >>> clf = clf.fit(data.subset(slice(0, 30)), data.subset(slice(30, 60)), data.subset(slice(60, 90)), progress=False)
    >>> clf.predict_proba(data.subset(slice(0, 4))).shape
    (4,)
    >>> clf.attention(data.subset(slice(0, 4)))[0].shape
    (4, 5, 20)
    """

    def __init__(self, *, model: str = "attentivechrome", lr: float = 2e-4, batch_size: int = 16, epochs: int = 30,
                 clip: float = 1.0, seed: int = 1, transform: str = "none", device: str = "auto") -> None:
        self.model = model
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.clip = clip
        self.seed = seed
        self.transform = transform
        self.device = device

    def get_params(self) -> dict:
        """The constructor arguments."""
        return {k: getattr(self, k) for k in ("model", "lr", "batch_size", "epochs", "clip", "seed", "transform", "device")}

    def fit(self, train_data: HistoneData, valid_data: HistoneData, test_data: HistoneData | None = None,
            *, out_dir: str | Path | None = None, progress: bool | None = None) -> AttentiveChromeClassifier:
        """Train on ``train_data``, keep the epoch with the best AUROC on ``valid_data``.

        ``test_data`` is scored at every epoch when given (the validation set stands in otherwise).
        """
        config = TrainConfig(**self.get_params())
        splits = {"train": train_data, "valid": valid_data, "test": test_data if test_data is not None else valid_data}
        self.result_ = train(splits, config, out_dir=out_dir, progress=progress)
        self.model_ = self.result_.model
        self.marks_ = train_data.marks
        self.n_bins_ = train_data.n_bins
        return self

    def predict_proba(self, data: HistoneData) -> np.ndarray:
        """Probability of high expression, shape (genes,)."""
        return predict(self._fitted(), data, with_attention=False).probabilities

    def predict(self, data: HistoneData) -> np.ndarray:
        """0/1 predictions at probability 0.5, shape (genes,)."""
        return (self.predict_proba(data) >= 0.5).astype(np.int64)

    def attention(self, data: HistoneData) -> tuple[np.ndarray, np.ndarray]:
        """alpha (genes, marks, bins) and beta (genes, marks)."""
        out = predict(self._fitted(), data, with_attention=True)
        if out.alpha is None or out.beta is None:
            raise ValueError(f"model {self.model!r} has no alpha/beta attention")
        return out.alpha, out.beta

    def save(self, path: str | Path) -> None:
        """Write the fitted model to one checkpoint file."""
        save_checkpoint(self._fitted(), path, marks=self.marks_, n_bins=self.n_bins_)

    @classmethod
    def load(cls, path: str | Path) -> AttentiveChromeClassifier:
        """A fitted classifier from a checkpoint file, run directory or original state_dict."""
        loaded = load_checkpoint(path)
        clf = cls(model=loaded.model_name, transform=getattr(loaded.model, "transform", "none"))
        clf.model_, clf.marks_, clf.n_bins_ = loaded.model, loaded.marks, loaded.n_bins
        return clf

    def _fitted(self):
        if not hasattr(self, "model_"):
            raise NotFittedError("this AttentiveChromeClassifier is not fitted yet; call fit() or load() first")
        return self.model_
