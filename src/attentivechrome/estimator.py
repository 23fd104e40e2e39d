"""A scikit-learn estimator over the model, the trainer and inference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets

from .config import DEFAULTS, TrainConfig
from .data.dataset import HistoneData
from .exceptions import NotFittedError
from .interpret.explain import as_histone_data
from .trained import TrainedModel, load_model
from .training.trainer import train

#: The constructor's parameters that are training settings (the rest keep TrainConfig's defaults).
_TRAIN_SETTINGS = ("model", "preset", "lr", "batch_size", "epochs", "clip", "seed", "transform", "device")


class AttentiveChromeClassifier(ClassifierMixin, BaseEstimator):
    """Train AttentiveChrome and query it as a scikit-learn classifier.

    The constructor only stores its arguments, so :func:`sklearn.base.clone`, ``set_params``
    and :class:`~sklearn.model_selection.GridSearchCV` work. The training settings are those of
    :class:`~attentivechrome.config.TrainConfig`; those left ``None`` take the model's
    ``preset`` defaults (see ``attentivechrome models``). :meth:`fit` validates them, trains,
    and sets ``trained_`` (the :class:`~attentivechrome.trained.TrainedModel`), ``classes_``,
    ``model_``, ``marks_``, ``n_bins_`` and, after :meth:`fit`, ``result_`` (the training record).

    Parameters
    ----------
    validation_fraction
        Share of the genes :meth:`fit` holds out (stratified, drawn with ``seed``) to select the
        epoch, when it is given no validation genes. Default 0.2.

    Examples
    --------
    >>> import attentivechrome as ac
    >>> data, _ = ac.simulate(90, 20, seed=0)
    >>> clf = ac.AttentiveChromeClassifier(epochs=1, device="cpu")
    >>> clf = clf.fit(data.subset(slice(0, 30)), data.subset(slice(30, 60)), data.subset(slice(60, 90)), progress=False)
    >>> clf.predict_proba(data.subset(slice(0, 4))).shape
    (4, 2)
    >>> clf.classes_
    array([0, 1])
    >>> clf.attention(data.subset(slice(0, 4)))[0].shape
    (4, 5, 20)

    Plain arrays of counts (genes, bins, marks) and labels work too:

    >>> clf = ac.AttentiveChromeClassifier(epochs=1, device="cpu").fit(data.counts, data.labels, progress=False)
    >>> clf.predict(data.counts[:4]).shape
    (4,)
    """

    def __init__(self, *, model: str = DEFAULTS.model, preset: str = DEFAULTS.preset, lr: float | None = None, batch_size: int | None = None,
                 epochs: int | None = None, clip: float = DEFAULTS.clip, seed: int = DEFAULTS.seed,
                 transform: str | None = None, device: str = DEFAULTS.device, validation_fraction: float = 0.2) -> None:  # fmt: skip
        self.model = model
        self.preset = preset
        self.lr = lr
        self.batch_size = batch_size
        self.epochs = epochs
        self.clip = clip
        self.seed = seed
        self.transform = transform
        self.device = device
        self.validation_fraction = validation_fraction

    def fit(self, X, y=None, test_data: HistoneData | None = None, *, out_dir: str | Path | None = None,
            progress: bool | None = None) -> AttentiveChromeClassifier:  # fmt: skip
        """Train, keeping the epoch with the best validation AUROC.

        Two forms:

        - ``fit(X, y)``: ``X`` holds the counts of the training genes (an array of shape
          (genes, bins, marks), or a :class:`HistoneData`), ``y`` their labels (any two
          classes; default: the labels of ``X``). ``validation_fraction`` of the genes are held
          out to select the epoch.
        - ``fit(train_data, valid_data, test_data=None)``: three :class:`HistoneData` with 0/1
          labels; the epoch is selected on ``valid_data``. ``test_data`` is scored once, for the
          selected epoch (``result_.scores``); the validation genes stand in when it is absent.

        ``out_dir``: a run directory to write (see :func:`attentivechrome.train`).

        Raises
        ------
        ValueError
            When the labels do not hold exactly two classes, or a setting is not valid.
        TypeError
            In the split form, when the training genes are not :class:`HistoneData`.
        """
        config = TrainConfig(**{name: getattr(self, name) for name in _TRAIN_SETTINGS})
        if isinstance(y, HistoneData):
            if not isinstance(X, HistoneData):
                raise TypeError(f"fit(train_data, valid_data): both must be HistoneData, got {type(X).__name__} for the training genes")
            train_data, valid_data, classes = X, y, np.array([0, 1])
        else:
            train_data, valid_data, classes = self._split(X, y)
        splits = {"train": train_data, "valid": valid_data, "test": test_data if test_data is not None else valid_data}
        result = train(splits, config, out_dir=out_dir, progress=progress)
        self._set_fitted(result.model, classes)
        self.result_ = result.record
        return self

    def _split(self, X, y) -> tuple[HistoneData, HistoneData, np.ndarray]:
        """Labelled training and validation genes from ``X`` and ``y``, and the classes of ``y``."""
        data = as_histone_data(X)
        labels = data.labels if y is None else np.asarray(y)
        if labels is None:
            raise ValueError("fit needs labels: pass y, or HistoneData with labels")
        check_classification_targets(labels)
        classes, encoded = np.unique(labels, return_inverse=True)
        if len(classes) != 2:
            raise ValueError(f"AttentiveChromeClassifier needs labels of exactly two classes, got {len(classes)}: {classes[:5]}")
        data = HistoneData(gene_ids=data.gene_ids, counts=data.counts, labels=encoded.astype(np.float32), marks=data.marks, source=data.source)
        train_index, valid_index = train_test_split(
            np.arange(data.n_genes), test_size=self.validation_fraction, random_state=self.seed, stratify=encoded
        )
        return data.subset(np.sort(train_index)), data.subset(np.sort(valid_index)), classes

    def predict_proba(self, X) -> np.ndarray:
        """Probability of each class (columns in the order of ``classes_``), shape (genes, 2).

        ``X``: :class:`HistoneData`, counts of shape (genes, bins, marks), or a CSV path.

        Raises
        ------
        ValueError
            For a regression model (it predicts log1p expression, not a class).
        """
        trained = self._fitted()
        if not trained.task_spec.binary:
            raise ValueError(f"{trained.source or 'this model'} is a regression model: it predicts log1p expression, not probabilities; use TrainedModel.predict")
        high = trained.predict(X, with_attention=False).probabilities
        return np.column_stack([1 - high, high])

    def predict(self, X) -> np.ndarray:
        """The more probable class of each gene, shape (genes,)."""
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(np.int64)]

    def attention(self, X) -> tuple[np.ndarray, np.ndarray]:
        """alpha (genes, marks, bins) and beta (genes, marks)."""
        out = self._fitted().predict(X, with_attention=True)
        if out.alpha is None or out.beta is None:
            raise ValueError(f"model {self.model!r} has no alpha/beta attention")
        return out.alpha, out.beta

    def save(self, path: str | Path) -> None:
        """Write the fitted model to one checkpoint file (``classes_`` are not kept: a loaded model predicts 0/1)."""
        self._fitted().save(path)

    @classmethod
    def load(cls, path: str | Path) -> AttentiveChromeClassifier:
        """A fitted classifier from a checkpoint file, run directory or original state_dict."""
        trained = load_model(path)
        settings = trained.config.to_dict() if trained.config is not None else {"model": trained.model_name, "transform": trained.transform}
        clf = cls(**{k: v for k, v in settings.items() if k in _TRAIN_SETTINGS})
        clf._set_fitted(trained, np.array([0, 1]))
        return clf

    def _set_fitted(self, trained: TrainedModel, classes: np.ndarray) -> None:
        self.trained_ = trained
        if trained.task_spec.binary:
            self.classes_ = classes
        self.model_ = trained.module
        self.marks_ = trained.marks
        self.n_bins_ = trained.n_bins

    def _fitted(self) -> TrainedModel:
        if not hasattr(self, "trained_"):
            raise NotFittedError("this AttentiveChromeClassifier is not fitted yet; call fit() or load() first")
        return self.trained_
