"""Workflows that take a trained model: write its interpretation, score its maps against a planted truth.

They go through :class:`~attentivechrome.trained.TrainedModel` -- its data checks, its
preparation of the input and its output scale -- and hand the module, the prepared input and the
output scale to the module-level core of :mod:`attentivechrome.interpret`. Explaining a model in
memory is :meth:`TrainedModel.explain <attentivechrome.trained.TrainedModel.explain>`.
"""

from .faithfulness import faithfulness
from .ground_truth import benchmark_model
from .interpretation import interpret_model
from .stability import model_stability

__all__ = ["benchmark_model", "faithfulness", "interpret_model", "model_stability"]
