"""Classical baselines fitted by scikit-learn behind the same module contract: ``linear`` and ``gbt``.

Both read the same per-mark features of log1p counts (:func:`histone_features`): every bin,
plus five summaries per mark (mean over the left flank, the central TSS window and the right
flank, the mean over the whole window, and the maximum). The REMC files list bins in genomic
order, not flipped for minus-strand genes, so the flanks are "left" and "right" rather than
upstream and gene body.

The estimators are fitted by scikit-learn (imported by ``fit``, so that loading this module, as
every training run does, costs no scikit-learn import), then their learned numbers are copied into
buffers, so a fitted baseline is an ``nn.Module`` like the others: ``forward`` maps raw
counts (genes, bins, marks) to :class:`ModelOutput` logits in torch, checkpoints hold tensors
only, and ``predict``/``evaluate`` work unchanged. The trainer calls :meth:`fit` once in place
of its epochs (see :func:`is_fitted_once`).

- :class:`LinearBaseline` (``linear``): standardised features, then L2-regularised logistic
  regression (classification) or ridge regression (regression). The strength is chosen on
  the validation split.
- :class:`GradientBoostingBaseline` (``gbt``): scikit-learn's gradient-boosted trees
  (depth 3, learning rate 0.05, 80% row subsampling, sqrt(features) per split); the number of
  trees is chosen on the validation split. Its forward pass walks the copied trees.
"""

from __future__ import annotations

import logging

import numpy as np
import torch
from torch import nn

from ..exceptions import NotFittedError
from ..tasks import Task, get_task
from .base import ModelOutput, apply_input_transform

logger = logging.getLogger(__name__)

#: Names of the five per-mark summary features, in column order.
SUMMARY_FEATURES: tuple[str, ...] = ("left_mean", "tss_mean", "right_mean", "window_mean", "window_max")
#: Regularisation strengths tried on the validation split.
_LOGISTIC_C = (1e-3, 1e-2, 1e-1, 1.0)
_RIDGE_ALPHA = (1.0, 10.0, 100.0, 1000.0, 10000.0)


def tss_window(n_bins: int) -> tuple[int, int]:
    """First and one-past-last bin of the central window: +/- ``n_bins // 10`` bins around the centre.

    For 100 bins of 100 bp that is bins 40..59 (0-based), the TSS +/- 1 kb.
    """
    if n_bins < 4:
        raise ValueError(f"the classical features need at least 4 bins per gene, got {n_bins}")
    centre, half = n_bins // 2, max(1, n_bins // 10)
    return centre - half, centre + half


def histone_features(x: torch.Tensor) -> torch.Tensor:
    """Per-mark features of raw counts, computed on log1p counts.

    Parameters
    ----------
    x
        Raw counts of shape (genes, bins, marks).

    Returns
    -------
    torch.Tensor
        Float32 of shape (genes, marks * bins + marks * 5): the log1p count of every bin
        (mark-major: all bins of the first mark, then the next mark), then the five
        :data:`SUMMARY_FEATURES` of each mark (mark-major). See :func:`feature_names`.
    """
    logc = torch.log1p(x.float())  # (genes, bins, marks)
    genes, bins, marks = logc.shape
    lo, hi = tss_window(bins)
    per_bin = logc.transpose(1, 2).reshape(genes, marks * bins)  # (genes, marks, bins) -> (genes, marks*bins)
    parts = [logc[:, :lo].mean(dim=1), logc[:, lo:hi].mean(dim=1), logc[:, hi:].mean(dim=1), logc.mean(dim=1), logc.amax(dim=1)]
    summary = torch.stack(parts, dim=2)  # 5 x (genes, marks) -> (genes, marks, 5)
    return torch.cat([per_bin, summary.reshape(genes, marks * len(SUMMARY_FEATURES))], dim=1)


def feature_names(marks: tuple[str, ...] | list[str], n_bins: int) -> list[str]:
    """Column names of :func:`histone_features`, e.g. ``H3K4me3:bin50`` and ``H3K4me3:tss_mean``."""
    names = [f"{mark}:bin{b + 1}" for mark in marks for b in range(n_bins)]
    return names + [f"{mark}:{name}" for mark in marks for name in SUMMARY_FEATURES]


def is_fitted_once(model: nn.Module) -> bool:
    """True for models fitted by one call to ``fit`` (scikit-learn) rather than by gradient epochs."""
    return isinstance(model, _ClassicalBaseline)


class _ClassicalBaseline(nn.Module):
    """Shared checks of the scikit-learn baselines."""

    n_features: int

    def fit(
        self,
        counts: np.ndarray,
        targets: np.ndarray,
        valid_counts: np.ndarray,
        valid_targets: np.ndarray,
        *,
        task: str | Task = "classification",
        seed: int = 0,
        prior: np.ndarray | None = None,
        valid_prior: np.ndarray | None = None,
    ):
        """Fit on the training genes, choosing the complexity on the validation genes; returns ``self``.

        Parameters
        ----------
        counts, valid_counts
            Raw counts of shape (genes, bins, marks) of the training and validation genes.
        targets, valid_targets
            Labels 0/1 (classification) or real targets (regression), shape (genes,).
        task
            The task (name or :class:`~attentivechrome.tasks.Task`): a binary one fits a
            classifier, the others a regressor; its primary metric selects. Default ``classification``.
        seed
            Random state of the estimator. Default 0.
        prior, valid_prior
            Reference-prior features (genes, ``n_prior``) of the training and validation genes,
            for a model built with ``n_prior`` > 0 (see :mod:`attentivechrome.data.reference`).
        """
        task = get_task(task)  # an unknown name raises, listing the known ones
        features = self._features(counts, prior)
        valid_features = self._features(valid_counts, valid_prior)
        self.n_features = features.shape[1]
        self._fit_features(features, np.asarray(targets), valid_features, np.asarray(valid_targets), task, seed)
        return self

    #: Reference-prior features read beside the marks (0: none); set by the constructors.
    n_prior: int = 0
    #: Whether the histone features are read at all (the ``prior`` model reads the prior alone).
    reads_marks: bool = True

    def _features(self, counts: np.ndarray, prior: np.ndarray | None) -> np.ndarray:
        x = torch.as_tensor(np.asarray(counts, dtype=np.float32))
        p = None if prior is None else torch.as_tensor(np.asarray(prior, dtype=np.float32))
        return self._feature_matrix(x, p).numpy()

    def _feature_matrix(self, x: torch.Tensor, prior: torch.Tensor | None) -> torch.Tensor:
        """The columns the estimator reads: histone features (unless the prior alone), then the prior's."""
        if self.n_prior and (prior is None or prior.shape[-1] != self.n_prior):
            got = "none" if prior is None else f"{prior.shape[-1]} features"
            raise ValueError(f"{type(self).__name__} reads {self.n_prior} reference-prior features beside the marks, got {got} (pass the reference-expression table)")
        parts = [histone_features(x)] if self.reads_marks else []
        if self.n_prior:
            parts.append(prior.float())
        if not parts:
            raise ValueError(f"{type(self).__name__} reads the reference prior alone and needs one (pass --reference-expression)")
        return torch.cat(parts, dim=1)

    def _fit_features(self, features, targets, valid_features, valid_targets, task, seed) -> None:  # pragma: no cover
        raise NotImplementedError

    def _check_input(self, x: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
        if not self.n_features:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(...) or load a checkpoint first")
        apply_input_transform(torch.zeros(1), self.transform)
        features = self._feature_matrix(x, prior).to(torch.float64)
        if features.shape[1] != self.n_features:
            raise ValueError(
                f"{type(self).__name__} was fitted on {self.n_features} features; {tuple(x.shape)} counts give {features.shape[1]} "
                "(a different number of bins or marks)"
            )
        return features


def _selection_score(task: Task, targets: np.ndarray, scores: np.ndarray) -> float:
    """The task's primary metric on validation (AUROC or Pearson correlation); -inf when undefined."""
    try:
        value = task.primary_score(targets, scores)
    except ValueError:
        return float("-inf")
    return value if np.isfinite(value) else float("-inf")


class LinearBaseline(_ClassicalBaseline):
    """Logistic regression (classification) or ridge regression (regression) on :func:`histone_features`.

    Parameters
    ----------
    n_marks
        Number of histone marks. Default 5.
    transform
        Accepted for the common model signature and validated; the features always use
        log1p of the raw counts, so it has no effect. Default ``none``.
    n_features
        Number of features; 0 until fitted (set by :meth:`fit`, saved in checkpoints).

    Attributes
    ----------
    selection_
        After :meth:`fit`: ``(strength, validation score)`` of each strength tried.
    strength_
        The chosen inverse strength ``C`` (logistic) or ridge ``alpha``.

    Examples
    --------
    >>> from attentivechrome.data.synthetic import simulate
    >>> data, _ = simulate(120, 20, seed=0)
    >>> model = LinearBaseline(5).fit(data.counts[:80], data.labels[:80], data.counts[80:], data.labels[80:])
    >>> model(torch.from_numpy(data.counts[80:])).logits.shape
    torch.Size([40])
    """

    def __init__(self, n_marks: int = 5, *, transform: str = "none", n_features: int = 0, n_prior: int = 0) -> None:
        super().__init__()
        self.n_marks = n_marks
        self.transform = transform
        self.n_features = n_features
        self.n_prior = n_prior
        apply_input_transform(torch.zeros(1), transform)
        self._set_buffers(np.zeros(n_features), np.ones(n_features), np.zeros(n_features), np.zeros(1))

    def init_params(self) -> dict:
        """The constructor arguments, as saved in checkpoints."""
        params = {"n_marks": self.n_marks, "transform": self.transform, "n_features": self.n_features}
        return {**params, "n_prior": self.n_prior} if self.n_prior else params

    def _set_buffers(self, center, scale, coef, intercept) -> None:
        device = self.coef.device if hasattr(self, "coef") else None
        for name, value in (("center", center), ("scale", scale), ("coef", coef), ("intercept", intercept)):
            self.register_buffer(name, torch.as_tensor(np.asarray(value, dtype=np.float64), device=device))

    def _fit_features(self, features, targets, valid_features, valid_targets, task, seed) -> None:
        from sklearn.linear_model import LogisticRegression, Ridge  # here, not at import: a run of another model never loads them
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(features)
        x, xv = scaler.transform(features), scaler.transform(valid_features)
        best = None
        self.selection_ = []
        for strength in _LOGISTIC_C if task.binary else _RIDGE_ALPHA:
            if task.binary:
                estimator = LogisticRegression(C=strength, max_iter=5000).fit(x, targets)
                scores = estimator.decision_function(xv)
            else:
                estimator = Ridge(alpha=strength).fit(x, targets)
                scores = estimator.predict(xv)
            score = _selection_score(task, valid_targets, scores)
            self.selection_.append((strength, score))
            if best is None or score > best[0]:
                best = (score, strength, estimator)
        _, self.strength_, estimator = best
        logger.info("linear: chose strength %g of %s", self.strength_, self.selection_)
        coef = np.ravel(estimator.coef_)
        intercept = np.ravel(np.asarray(estimator.intercept_, dtype=np.float64))[:1]
        self._set_buffers(scaler.mean_, scaler.scale_, coef, intercept)

    def forward(self, x: torch.Tensor, prior: torch.Tensor | None = None) -> ModelOutput:
        features = self._check_input(x, prior)  # (genes, features) float64
        logits = ((features - self.center) / self.scale) @ self.coef + self.intercept
        return ModelOutput(logits=logits.to(torch.float32))


class GradientBoostingBaseline(_ClassicalBaseline):
    """scikit-learn gradient-boosted trees on :func:`histone_features`, evaluated in torch.

    Parameters
    ----------
    n_marks
        Number of histone marks. Default 5.
    transform
        Accepted and validated; no effect (the features use log1p counts). Default ``none``.
    n_estimators
        Most trees fitted; the validation split chooses how many are kept. Default 300.
    learning_rate
        Shrinkage of each tree. Default 0.05.
    max_depth
        Depth of each tree. Default 3.
    subsample
        Fraction of training genes drawn for each tree. Default 0.8.
    n_features, n_trees, max_nodes
        Sizes of the fitted ensemble; 0 until fitted (set by :meth:`fit`, saved in checkpoints).

    Attributes
    ----------
    selection_
        After :meth:`fit`: the validation score after each number of trees.

    Examples
    --------
    >>> from attentivechrome.data.synthetic import simulate
    >>> data, _ = simulate(120, 20, seed=0)
    >>> model = GradientBoostingBaseline(5, n_estimators=20)
    >>> model = model.fit(data.counts[:80], data.labels[:80], data.counts[80:], data.labels[80:])
    >>> model(torch.from_numpy(data.counts[80:])).logits.shape
    torch.Size([40])
    """

    def __init__(
        self,
        n_marks: int = 5,
        *,
        transform: str = "none",
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        max_depth: int = 3,
        subsample: float = 0.8,
        n_features: int = 0,
        n_trees: int = 0,
        max_nodes: int = 0,
        n_prior: int = 0,
    ) -> None:
        super().__init__()
        self.n_prior = n_prior
        self.n_marks = n_marks
        self.transform = transform
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.subsample = subsample
        self.n_features = n_features
        self.n_trees = n_trees
        self.max_nodes = max_nodes
        apply_input_transform(torch.zeros(1), transform)
        shape = (n_trees, max_nodes)
        self._set_buffers(np.zeros(shape, np.int64), np.zeros(shape), np.zeros(shape, np.int64), np.zeros(shape, np.int64), np.zeros(shape), 0.0)

    def init_params(self) -> dict:
        """The constructor arguments, as saved in checkpoints."""
        prior = {"n_prior": self.n_prior} if self.n_prior else {}
        return {
            **prior,
            "n_marks": self.n_marks,
            "transform": self.transform,
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "max_depth": self.max_depth,
            "subsample": self.subsample,
            "n_features": self.n_features,
            "n_trees": self.n_trees,
            "max_nodes": self.max_nodes,
        }

    def _set_buffers(self, feature, threshold, left, right, value, offset) -> None:
        device = self.value.device if hasattr(self, "value") else None
        arrays = {
            "feature": np.asarray(feature, np.int64),
            "threshold": np.asarray(threshold, np.float64),
            "left": np.asarray(left, np.int64),
            "right": np.asarray(right, np.int64),
            "value": np.asarray(value, np.float64),
            "offset": np.asarray([offset], np.float64),
        }
        for name, array in arrays.items():
            self.register_buffer(name, torch.as_tensor(array, device=device))

    def _fit_features(self, features, targets, valid_features, valid_targets, task, seed) -> None:
        from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor  # here: a run of another model never loads them

        kind = GradientBoostingClassifier if task.binary else GradientBoostingRegressor
        estimator = kind(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            subsample=self.subsample,
            max_features="sqrt",
            random_state=seed,
        ).fit(features, targets)
        staged = estimator.staged_decision_function(valid_features) if task.binary else estimator.staged_predict(valid_features)
        self.selection_ = [_selection_score(task, valid_targets, np.ravel(scores)) for scores in staged]
        n_keep = int(np.argmax(self.selection_)) + 1  # the first of the best
        logger.info("gbt: kept %d of %d trees", n_keep, len(self.selection_))
        self._pack(estimator, features, n_keep, task)

    def _pack(self, estimator, features: np.ndarray, n_keep: int, task: Task) -> None:
        """Copy the first ``n_keep`` trees into padded (trees, nodes) arrays; leaves point to themselves."""
        trees = [estimator.estimators_[i, 0].tree_ for i in range(n_keep)]
        nodes = max(tree.node_count for tree in trees)
        feature = np.zeros((n_keep, nodes), np.int64)
        threshold = np.full((n_keep, nodes), np.inf)
        left = np.tile(np.arange(nodes), (n_keep, 1))
        right = left.copy()
        value = np.zeros((n_keep, nodes))
        for i, tree in enumerate(trees):
            n = tree.node_count
            split = tree.children_left != -1  # -1 marks a leaf
            feature[i, :n] = np.where(split, tree.feature, 0)
            threshold[i, :n] = np.where(split, tree.threshold, np.inf)
            left[i, :n] = np.where(split, tree.children_left, np.arange(n))
            right[i, :n] = np.where(split, tree.children_right, np.arange(n))
            value[i, :n] = tree.value[:, 0, 0] * self.learning_rate
        # The constant the ensemble starts from (its prior), read back through the public API.
        sample = features[: min(len(features), 64)]
        full = estimator.decision_function(sample) if task.binary else estimator.predict(sample)
        summed = sum(estimator.estimators_[i, 0].predict(sample) * self.learning_rate for i in range(len(estimator.estimators_)))
        offset = float(np.mean(np.ravel(full) - summed))
        self.n_trees, self.max_nodes = n_keep, nodes
        self._set_buffers(feature, threshold, left, right, value, offset)

    def forward(self, x: torch.Tensor, prior: torch.Tensor | None = None) -> ModelOutput:
        features = self._check_input(x, prior)  # (genes, features) float64
        genes = features.shape[0]
        base = torch.arange(self.n_trees, device=features.device) * self.max_nodes  # (trees,) offset of each tree in the flat arrays
        node = torch.zeros(genes, self.n_trees, dtype=torch.long, device=features.device)  # (genes, trees), all at the root
        feature, threshold = self.feature.reshape(-1), self.threshold.reshape(-1)
        left, right = self.left.reshape(-1), self.right.reshape(-1)
        for _ in range(self.max_depth):  # leaves point to themselves, so extra steps are harmless
            flat = node + base  # (genes, trees)
            values = features.gather(1, feature[flat])  # (genes, trees): the split feature of each gene's current node
            node = torch.where(values <= threshold[flat], left[flat], right[flat])
        logits = self.offset + self.value.reshape(-1)[node + base].sum(dim=1)
        return ModelOutput(logits=logits.to(torch.float32))


class PriorBaseline(GradientBoostingBaseline):
    """The gene prior alone: gradient-boosted trees on the reference-prior features, no histone data.

    The baseline every histone model is read against (Schreiber et al., Genome Biology 2020): what
    the expression of each gene in other cell types predicts. It is fitted on the training genes
    like ``gbt`` (the number of trees chosen on validation) and ignores the marks it is given.
    It needs a reference-expression table (``n_prior`` > 0).
    """

    reads_marks = False
