"""A scikit-learn-shaped estimator over the model, the trainer and inference."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .config import DEFAULTS, TrainConfig
from .data.dataset import HistoneData
from .exceptions import NotFittedError
from .trained import TrainedModel
from .training.trainer import train

#: The constructor's parameters: the training settings a user sets (the rest keep TrainConfig's defaults).
_PARAMS = ("model", "preset", "lr", "batch_size", "epochs", "clip", "seed", "transform", "device")


class AttentiveChromeClassifier:
    """Train AttentiveChrome and query it like a scikit-learn classifier.

    The constructor only stores the training settings (see :class:`TrainConfig`; those left
    ``None`` take the model's ``preset`` defaults, see ``attentivechrome models``); :meth:`fit` validates them, trains, and sets
    ``trained_`` (the :class:`~attentivechrome.trained.TrainedModel`), ``model_``, ``marks_``
    and ``result_``.

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

    def __init__(self, *, model: str = DEFAULTS.model, preset: str = DEFAULTS.preset, lr: float | None = None, batch_size: int | None = None,
                 epochs: int | None = None, clip: float = DEFAULTS.clip, seed: int = DEFAULTS.seed,
                 transform: str | None = None, device: str = DEFAULTS.device) -> None:
        self.model = model
        self.preset = preset
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.clip = clip
        self.seed = seed
        self.transform = transform
        self.device = device

    def get_params(self) -> dict:
        """The constructor arguments."""
        return {k: getattr(self, k) for k in _PARAMS}

    def fit(self, train_data: HistoneData, valid_data: HistoneData, test_data: HistoneData | None = None,
            *, out_dir: str | Path | None = None, progress: bool | None = None) -> AttentiveChromeClassifier:
        """Train on ``train_data``, keep the epoch with the best AUROC on ``valid_data``.

        ``test_data`` is scored at every epoch when given (the validation set stands in otherwise).
        """
        config = TrainConfig(**self.get_params())
        splits = {"train": train_data, "valid": valid_data, "test": test_data if test_data is not None else valid_data}
        self._set_fitted(train(splits, config, out_dir=out_dir, progress=progress))
        return self

    def predict_proba(self, data: HistoneData) -> np.ndarray:
        """Probability of high expression, shape (genes,).

        Raises
        ------
        ValueError
            For a model trained with ``task='regression'`` (it predicts log1p expression, not a class).
        """
        trained = self._fitted()
        if trained.task != "classification":
            raise ValueError(f"{trained.source or 'this model'} is a regression model: it predicts log1p expression, not probabilities; use TrainedModel.predict")
        return trained.predict(data, with_attention=False).probabilities

    def predict(self, data: HistoneData) -> np.ndarray:
        """0/1 predictions at probability 0.5, shape (genes,)."""
        return (self.predict_proba(data) >= 0.5).astype(np.int64)

    def attention(self, data: HistoneData) -> tuple[np.ndarray, np.ndarray]:
        """alpha (genes, marks, bins) and beta (genes, marks)."""
        out = self._fitted().predict(data, with_attention=True)
        if out.alpha is None or out.beta is None:
            raise ValueError(f"model {self.model!r} has no alpha/beta attention")
        return out.alpha, out.beta

    def save(self, path: str | Path) -> None:
        """Write the fitted model to one checkpoint file."""
        self._fitted().save(path)

    @classmethod
    def load(cls, path: str | Path) -> AttentiveChromeClassifier:
        """A fitted classifier from a checkpoint file, run directory or original state_dict."""
        trained = TrainedModel.load(path)
        settings = trained.config.to_dict() if trained.config is not None else {"model": trained.model_name, "transform": trained.transform}
        clf = cls(**{k: v for k, v in settings.items() if k in _PARAMS})
        clf._set_fitted(trained)
        return clf

    def _set_fitted(self, trained: TrainedModel) -> None:
        self.trained_ = trained
        self.model_ = trained.module
        self.marks_ = trained.marks
        self.n_bins_ = trained.n_bins
        if trained.record is not None:
            self.result_ = trained

    def _fitted(self) -> TrainedModel:
        if not hasattr(self, "trained_"):
            raise NotFittedError("this AttentiveChromeClassifier is not fitted yet; call fit() or load() first")
        return self.trained_
