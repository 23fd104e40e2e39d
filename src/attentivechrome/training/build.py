"""What a config builds before training: the untrained model, its optimiser, the averaged copy of its weights."""

from __future__ import annotations

import functools
import inspect
import logging

import torch
from torch import nn

from ..config import TrainConfig
from ..models.base import init_forget_gate_bias
from ..models.classical import is_fitted_once
from ..models.registry import MODEL_REGISTRY, get_model

logger = logging.getLogger(__name__)


def build_model(config: TrainConfig, n_marks: int, n_prior: int = 0) -> nn.Module:
    """The untrained model a config describes (weights drawn from the config's seed); ``n_prior`` reference-prior features beside the marks."""
    extra = {"missing_marks": True} if config.missing_marks else {}
    if n_prior:
        extra["n_prior"] = n_prior
    if config.dropout is not None:
        if "dropout" not in inspect.signature(MODEL_REGISTRY[config.model]).parameters:
            raise ValueError(f"{config.model} has no dropout to set (drop --dropout)")
        extra["dropout"] = config.dropout
    if config.attention != "states":
        extra.update(attention=config.attention, attention_window=config.attention_window)
    model = get_model(config.model, n_marks=n_marks, transform=config.transform, **extra)
    if config.forget_bias is not None and not init_forget_gate_bias(model, config.forget_bias) and not is_fitted_once(model):
        logger.warning("%s has no LSTM: forget_bias %g changes nothing", config.model, config.forget_bias)
    return model


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam, or AdamW (decoupled weight decay) when the config asks for weight decay (both eager: see :func:`eager_optimizer`)."""
    fused = _fused_adam_applies(model)
    if config.weight_decay > 0:
        return eager_optimizer(torch.optim.AdamW)(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=fused)
    return eager_optimizer(torch.optim.Adam)(model.parameters(), lr=config.lr, fused=fused)


#: The methods of ``torch.optim.Optimizer`` wrapped by ``torch._disable_dynamo``.
_DYNAMO_WRAPPED = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")


@functools.lru_cache(maxsize=None)
def eager_optimizer(optimizer_class: type[torch.optim.Optimizer]) -> type[torch.optim.Optimizer]:
    """``optimizer_class`` without the ``torch._dynamo`` import of its first call: the same arithmetic, eager only.

    Every ``torch.optim`` optimiser's ``__init__`` (through ``add_param_group``), ``zero_grad``,
    ``state_dict`` and ``load_state_dict`` are wrapped by ``torch._disable_dynamo``, and its ``step``
    by ``_use_grad_for_differentiable``: both import ``torch._dynamo`` (1-2 s, once per process)
    only to keep ``torch.compile`` out of them. The package never compiles the optimiser, so the
    subclass calls the wrapped functions themselves, under the grad mode ``step`` sets
    (``torch/optim/optimizer.py``, PyTorch 2.13); step hooks, state and state dicts are the
    class's own, and the updates are the same to the bit.
    """
    methods = {name: inspect.unwrap(getattr(torch.optim.Optimizer, name)) for name in _DYNAMO_WRAPPED}
    step = inspect.unwrap(optimizer_class.step)  # under the profiling hook torch.optim may have added

    def eager_step(self, closure=None):
        with torch.set_grad_enabled(self.defaults["differentiable"]):  # as _use_grad_for_differentiable does
            return step(self, closure)

    eager_step.__doc__ = step.__doc__
    return type(optimizer_class.__name__, (optimizer_class,), {**methods, "step": eager_step, "__module__": __name__})


def weight_average(model: nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel | None:
    """An exponential moving average of the weights, updated after every step (``None`` for ``decay`` 0).

    With it, each epoch is scored, selected and saved with the averaged weights: a smoother
    estimate of the weights than the last step's.
    """
    if decay <= 0:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def uses_kernel(model: nn.Module, device: torch.device) -> bool:
    """Whether the model's heavy work runs in the compiled CPU encoder kernel (AttentiveChrome's bin-level LSTMs)."""
    return device.type == "cpu" and getattr(model, "encoder", None) == "fast"


def _fused_adam_applies(model: nn.Module) -> bool:
    """Whether Adam can update all parameters in one fused kernel (float parameters on CPU or CUDA)."""
    params = list(model.parameters())
    return bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
