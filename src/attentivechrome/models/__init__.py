"""Model classes and the registry that names them."""

from __future__ import annotations

from torch import nn

from .attentive_chrome import AttentiveChrome
from .base import ModelOutput
from .classical import GradientBoostingBaseline, LinearBaseline
from .cnn import CNNAlphaBeta, CNNAttention, DeepChrome
from .lstm import LSTMAlpha, LSTMBaseline
from .transformer import TransformerBaseline

#: Every model the package can build, by name. The CLI, checkpoints and benchmarks read this.
MODEL_REGISTRY: dict[str, type[nn.Module]] = {
    "attentivechrome": AttentiveChrome,
    "lstm": LSTMBaseline,
    "lstm-alpha": LSTMAlpha,
    "cnn-attn": CNNAttention,
    "cnn-alpha-beta": CNNAlphaBeta,
    "deepchrome": DeepChrome,
    "transformer": TransformerBaseline,
    "linear": LinearBaseline,
    "gbt": GradientBoostingBaseline,
}


def available_models() -> list[str]:
    """Names accepted by :func:`get_model`."""
    return sorted(MODEL_REGISTRY)


def get_model(name: str, **params) -> nn.Module:
    """Build the model registered as ``name`` with constructor ``params``."""
    try:
        cls = MODEL_REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(available_models())}") from None
    return cls(**params)


def model_name_of(model: nn.Module) -> str:
    """The registry name of a model instance."""
    for name, cls in MODEL_REGISTRY.items():
        if type(model) is cls:
            return name
    raise ValueError(f"{type(model).__name__} is not a registered model")


__all__ = ["AttentiveChrome", "MODEL_REGISTRY", "ModelOutput", "available_models", "get_model", "model_name_of"]
