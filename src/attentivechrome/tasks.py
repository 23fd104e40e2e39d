"""What a model predicts, in one object per task: its loss, metrics, decoding and output columns.

- ``classification``: the 0/1 label (expression above the cell's median); log-odds out, binary
  cross-entropy, selected on validation AUROC, scored by AUROC and AUPR.
- ``regression``: log(expression + 1); standardised targets, mean squared error, selected on
  validation Pearson correlation, scored by Pearson, Spearman and MSE.
- ``deviation``: the cell-specific part, log(RPKM + 1) minus the gene's prior from the
  reference-expression table (:mod:`attentivechrome.data.reference`); like regression, plus the
  Pearson correlation of the full log expression rebuilt from it (``*_expression_pearson``).
  It needs a reference.

Every place that depends on the task asks :func:`get_task` for its :class:`Task` instead of
testing the name. This module imports no heavy library (not even numpy) at import time, so
settings can be checked at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: What a model without skill scores on a ranking metric: figures' axes start there (or below).
CHANCE_LEVEL: dict[str, float] = {"auroc": 0.5, "pearson": 0.0}
#: How tables and messages name each metric.
METRIC_LABELS: dict[str, str] = {"auroc": "AUROC", "aupr": "AUPR", "pearson": "Pearson", "spearman": "Spearman", "mse": "MSE", "expression_pearson": "expression Pearson"}


@dataclass(frozen=True)
class Task:
    """One prediction task (see the module docstring)."""

    name: str
    #: The validation metric that selects the epoch (a record key).
    selection_metric: str
    #: The metrics of a split, in the order records and tables list them.
    metrics: tuple[str, ...]
    #: Whether the network's outputs are log-odds (else values of a standardised real target).
    binary: bool
    #: Whether the targets are the deviation from the reference prior (a reference is required).
    needs_reference: bool = False
    #: What a prediction TSV calls the prediction and the target.
    value_column: str = "probability"
    target_column: str = "label"
    #: What the decoded output is, in words.
    meaning: str = "the log-odds of high expression"

    @property
    def regresses(self) -> bool:
        """Whether the target is a real value (standardised for training, decoded after)."""
        return not self.binary

    @property
    def primary_metric(self) -> str:
        """The metric that selects and ranks models, without its split: ``auroc`` or ``pearson`` (higher is better)."""
        return self.selection_metric.removeprefix("valid_")

    @property
    def primary_label(self) -> str:
        """How tables and messages name :attr:`primary_metric`: ``AUROC`` or ``Pearson``."""
        return METRIC_LABELS[self.primary_metric]

    @property
    def score_columns(self) -> tuple[str, ...]:
        """A finished run's scores as summaries list them: the selection metric, then every test metric."""
        return (self.selection_metric, *(f"test_{m}" for m in self.metrics))

    def primary_score(self, targets: np.ndarray, values: np.ndarray) -> float:
        """The :attr:`primary_metric` alone of decoded predictions: AUROC of log-odds or probabilities, else Pearson.

        Raises
        ------
        UndefinedMetricError
            When it is undefined (one class only; constant values).
        """
        from .metrics.classification import auroc
        from .metrics.regression import pearson

        return {"auroc": auroc, "pearson": pearson}[self.primary_metric](targets, values)

    def loss(self):
        """The training loss on the network's raw outputs: BCE with logits, or MSE on standardised targets."""
        from torch import nn

        return nn.BCEWithLogitsLoss() if self.binary else nn.MSELoss()

    def scores(self, split: str, targets: np.ndarray, values: np.ndarray, baseline: np.ndarray | None = None) -> dict[str, float]:
        """The metrics of one split, named ``<split>_<metric>``; ``values`` are decoded predictions (log-odds when binary).

        ``baseline`` (deviation): each gene's prior, to rebuild and score the full log expression.

        Raises
        ------
        UndefinedMetricError
            For classification, when the split holds one class only (AUROC is undefined).
        """
        import numpy as np

        from .exceptions import UndefinedMetricError
        from .metrics.classification import aupr, auroc
        from .metrics.regression import mse, pearson, spearman

        if self.binary:
            return {f"{split}_auroc": auroc(targets, values), f"{split}_aupr": aupr(targets, values)}
        pairs = [("pearson", pearson, targets, values), ("spearman", spearman, targets, values), ("mse", mse, targets, values)]
        if self.needs_reference and baseline is not None:
            pairs.append(("expression_pearson", pearson, np.asarray(targets) + baseline, np.asarray(values) + baseline))
        scores = {}
        for name, metric, y, p in pairs:
            try:
                scores[f"{split}_{name}"] = metric(y, p)
            except UndefinedMetricError:  # constant predictions early in training
                scores[f"{split}_{name}"] = float("nan")
        return scores

    def targets(self, log_expression: np.ndarray, baseline: np.ndarray | None) -> np.ndarray:
        """What the task predicts, from log1p expression and each gene's prior: the deviation for ``deviation``, else unchanged."""
        import numpy as np

        if not self.needs_reference or baseline is None:
            return log_expression
        return np.asarray(log_expression, dtype=np.float64) - baseline

    def better(self, record: dict, best: dict) -> bool:
        """Whether ``record`` beats ``best`` on the selection metric (a defined value beats NaN)."""
        import numpy as np

        key = self.selection_metric
        return bool(record[key] > best[key] or (np.isnan(best[key]) and not np.isnan(record[key])))

    def shown(self, values: np.ndarray) -> np.ndarray:
        """Decoded outputs as users read them: probabilities (classification) or the predicted values."""
        import numpy as np

        values = np.asarray(values, dtype=np.float64)
        return 1.0 / (1.0 + np.exp(-values)) if self.binary else values

    def prediction_columns(self, values: np.ndarray, targets: np.ndarray | None, baseline: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The columns of a prediction TSV after ``gene_id``: the prediction, then the target when known.

        Deviation predictions also carry the gene's prior and the rebuilt log expression.
        """
        import numpy as np

        columns = {self.value_column: self.shown(values)}
        if self.needs_reference and baseline is not None:
            columns["prior"] = np.asarray(baseline, dtype=np.float64)
            columns["log1p_expression"] = columns[self.value_column] + baseline
        if targets is not None:
            columns[self.target_column] = targets
        return columns

    def read_predictions(self, frame) -> tuple[np.ndarray, np.ndarray]:
        """(targets, decoded predictions) from a run's ``test_predictions.tsv`` frame (log-odds back from probabilities).

        Runs written before 0.2 called the regression prediction ``prediction``.
        """
        import numpy as np

        column = self.value_column if self.value_column in frame or "prediction" not in frame else "prediction"
        values = frame[column].to_numpy(dtype=np.float64)
        if self.binary:
            values = np.log(np.clip(values, 1e-12, 1.0)) - np.log(np.clip(1.0 - values, 1e-12, 1.0))
        return frame[self.target_column].to_numpy(), values

    def epoch_scores(self, record: dict) -> str:
        """The validation part of an epoch's line."""
        if self.binary:
            return f"valid AUROC {record['valid_auroc']:.4f}  AUPR {record['valid_aupr']:.4f}"
        text = f"valid Pearson {record['valid_pearson']:.4f}  Spearman {record['valid_spearman']:.4f}  MSE {record['valid_mse']:.4f}"
        if "valid_expression_pearson" in record:
            text += f"  (expression Pearson {record['valid_expression_pearson']:.4f})"
        return text

    def summary(self, scores: dict) -> str:
        """The selected model's scores in one phrase, for the end of ``train``."""
        if self.binary:
            return f"valid AUROC {scores['valid_auroc']:.4f}, test AUROC {scores['test_auroc']:.4f}, test AUPR {scores['test_aupr']:.4f}"
        text = f"valid Pearson {scores['valid_pearson']:.4f}, test Pearson {scores['test_pearson']:.4f}, Spearman {scores['test_spearman']:.4f}, MSE {scores['test_mse']:.4f}"
        if "test_expression_pearson" in scores:
            text += f"; expression rebuilt with the prior: test Pearson {scores['test_expression_pearson']:.4f}"
        return text


CLASSIFICATION = Task("classification", "valid_auroc", ("auroc", "aupr"), binary=True)
REGRESSION = Task(
    "regression", "valid_pearson", ("pearson", "spearman", "mse"), binary=False, value_column="log1p_expression", target_column="target",
    meaning="log1p expression",
)  # fmt: skip
DEVIATION = Task(
    "deviation", "valid_pearson", ("pearson", "spearman", "mse", "expression_pearson"), binary=False, needs_reference=True,
    value_column="deviation", target_column="target", meaning="the deviation of log1p expression from the reference prior",
)  # fmt: skip

#: Every task by name.
TASK_OBJECTS: dict[str, Task] = {task.name: task for task in (CLASSIFICATION, REGRESSION, DEVIATION)}
#: The task names, in order (also :data:`attentivechrome.data.schema.TASKS`).
TASKS: tuple[str, ...] = tuple(TASK_OBJECTS)


def get_task(task: str | Task) -> Task:
    """The :class:`Task` named ``task`` (a Task passes through).

    Raises
    ------
    ValueError
        For an unknown name, listing the known ones.
    """
    if isinstance(task, Task):
        return task
    if task not in TASK_OBJECTS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    return TASK_OBJECTS[task]
