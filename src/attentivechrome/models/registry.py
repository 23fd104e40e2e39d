"""The registry: model names (:data:`attentivechrome.model_catalog.MODEL_CATALOG`) to classes."""

from __future__ import annotations

import inspect

from torch import nn

from ..model_catalog import MODEL_CATALOG, check_model_name
from .attentive_chrome import AttentiveChrome
from .base import ModelOutput
from .classical import GradientBoostingBaseline, LinearBaseline, PriorBaseline
from .cnn import CNNAlphaBeta, CNNAttention, DeepChrome
from .lstm import LSTMAlpha, LSTMBaseline
from .reference import ReferenceInformed
from .transformer import TransformerBaseline

#: Every model class by its class name (the catalog's ``cls``).
MODEL_CLASSES: dict[str, type[nn.Module]] = {
    cls.__name__: cls
    for cls in (AttentiveChrome, CNNAlphaBeta, CNNAttention, DeepChrome, GradientBoostingBaseline, LinearBaseline, LSTMAlpha, LSTMBaseline, PriorBaseline, TransformerBaseline)
}

#: Every model the package can build, by name. The CLI, checkpoints and benchmarks read this.
MODEL_REGISTRY: dict[str, type[nn.Module]] = {name: MODEL_CLASSES[entry.cls] for name, entry in MODEL_CATALOG.items()}


def get_model(name: str, **params) -> nn.Module:
    """Build the model registered as ``name`` with constructor ``params``.

    ``n_prior`` > 0 builds it reference-informed: models that read the prior themselves
    (AttentiveChrome, the scikit-learn ones) take it as a parameter; any other is wrapped in a
    :class:`~attentivechrome.models.reference.ReferenceInformed`.
    """
    cls = MODEL_REGISTRY[check_model_name(name)]
    n_prior = params.pop("n_prior", 0)
    if not n_prior:
        return cls(**params)
    if "n_prior" in inspect.signature(cls).parameters:
        return cls(**params, n_prior=n_prior)
    return ReferenceInformed(cls(**params), n_prior)


def model_name_of(model: nn.Module) -> str:
    """The registry name of a model instance."""
    if isinstance(model, ReferenceInformed):
        model = model.network
    for name, cls in MODEL_REGISTRY.items():
        if type(model) is cls:
            return name
    raise ValueError(f"{type(model).__name__} is not a registered model")


__all__ = ["MODEL_CLASSES", "MODEL_REGISTRY", "ModelOutput", "get_model", "model_name_of", *MODEL_CLASSES]
