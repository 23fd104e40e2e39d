"""Attribution methods behind one contract, wrapping Captum.

Every method answers the same question: how much does each (bin, mark) cell of a gene's
input move the model's log-odds of high expression? :func:`attribute` returns an array
shaped like its input, (genes, bins, marks), as Captum's ``attribute`` does. The model's
input transform (e.g. ``log1p``) runs inside its ``forward``, so attributions refer to raw
counts.

The methods, by registry name (:data:`METHODS` describes them):

==========================  ==========================================================
``saliency``                absolute gradient of the logit (Simonyan et al. 2014)
``input_x_gradient``        input times gradient
``integrated_gradients``    path integral of gradients from a baseline (Sundararajan et al. 2017)
``deeplift``                DeepLift rescale rule (Shrikumar et al. 2017). The LSTM gates run
                            inside one fused operator that Captum cannot hook, so on
                            AttentiveChrome it reduces to (x - baseline) times the gradient
                            at x, i.e. ``input_x_gradient`` for a zero baseline.
``occlusion``               drop in the logit when a window of bins of one mark is set to
                            the baseline (Zeiler & Fergus 2014); each cell gets the mean
                            over the windows that cover it
==========================  ==========================================================

Attention (``attention``, ``attention_x_beta``) is computed by :func:`~attentivechrome.interpret.explain_module`
from the model's own output; it shares the registry so every method is scored the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

Family = Literal["attention", "gradient", "perturbation", "reference"]

#: Default number of steps of the integrated-gradients path (Gauss-Legendre nodes).
DEFAULT_IG_STEPS = 32
#: Default occlusion window (bins of one mark) and stride.
DEFAULT_WINDOW = 5
#: Most examples (genes x integration steps) per forward and backward pass of integrated
#: gradients. The backward pass keeps every LSTM gate of every example; at 256 examples that is
#: about 0.3 GB for AttentiveChrome on 100 bins, and larger passes are no faster on a CPU
#: (1024 took 1.9 GB and longer on the shared 2-core machine).
DEFAULT_GRADIENT_BATCH = 256


@dataclass(frozen=True)
class MethodInfo:
    """What a method is: its registry name, display label, family and whether its maps carry a sign.

    ``signed`` maps say in which direction a cell moves the prediction; scoring against a
    planted truth uses their magnitude.
    """

    name: str
    label: str
    family: Family
    signed: bool
    description: str


#: Every explanation method, by name. ``explain_module`` and the CLI accept these names.
METHODS: dict[str, MethodInfo] = {
    m.name: m
    for m in (
        MethodInfo("attention", "Attention (alpha)", "attention", False, "bin-level attention alpha; mark scores are beta"),
        MethodInfo(
            "attention_x_beta", "Attention (alpha x beta)", "attention", False, "alpha of each mark weighted by that mark's beta; sums to 1 per gene"
        ),
        MethodInfo("saliency", "Saliency", "gradient", False, "absolute gradient of the logit"),
        MethodInfo("input_x_gradient", "Input x gradient", "gradient", True, "input times gradient of the logit"),
        MethodInfo("integrated_gradients", "Integrated gradients", "gradient", True, "gradients integrated from the baseline to the input"),
        MethodInfo("deeplift", "DeepLift", "gradient", True, "DeepLift rescale rule (on LSTMs: (x - baseline) x gradient)"),
        MethodInfo("occlusion", "Occlusion", "perturbation", True, "logit drop when a window of bins of one mark is set to the baseline"),
    )
}

#: Methods computed with Captum by :func:`attribute`.
ATTRIBUTION_METHODS: tuple[str, ...] = tuple(name for name, m in METHODS.items() if m.family in ("gradient", "perturbation"))

#: What ``interpret`` computes unless told otherwise: the two methods that found the planted signal
#: best on the simulator (integrated gradients and occlusion), and attention, which users expect.
#: Saliency scored below the random floor there, and DeepLift equals input x gradient on these
#: models (no hookable nonlinearity modules in the LSTMs); both stay available by name.
DEFAULT_METHODS: tuple[str, ...] = ("attention", "integrated_gradients", "occlusion")


def check_methods(methods: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Normalise a method name, a comma-separated string or a sequence to a tuple of known names.

    Raises
    ------
    ValueError
        For an unknown or repeated name, listing the valid ones.
    """
    if isinstance(methods, str):
        methods = [m for m in methods.split(",")]
    names = tuple(m.strip() for m in methods if m.strip())
    if not names:
        raise ValueError(f"no method given; choose from {', '.join(METHODS)}")
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}")
    repeated = sorted({m for m in names if names.count(m) > 1})
    if repeated:
        raise ValueError(f"method {repeated[0]!r} given twice")
    return names


class LogitModule(nn.Module):
    """Wrap a model whose forward returns :class:`~attentivechrome.models.ModelOutput` (or a tensor)
    so that it returns the logits (genes,) Captum attributes.

    Captum's DeepLift needs an ``nn.Module`` rather than a function, hence a module.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
        out = self.model(x) if prior is None else self.model(x, prior)
        logits = out.logits if hasattr(out, "logits") else out
        if logits.ndim == 2 and logits.shape[1] == 1:
            logits = logits[:, 0]
        if logits.ndim != 1:
            raise ValueError(f"the model must return one logit per gene, got output of shape {tuple(logits.shape)}")
        return logits


def attribute(
    model: nn.Module,
    inputs: torch.Tensor | np.ndarray,
    method: str,
    *,
    baseline: float = 0.0,
    n_steps: int = DEFAULT_IG_STEPS,
    window: int = DEFAULT_WINDOW,
    stride: int | None = None,
    internal_batch_size: int = 512,
    gradient_batch_size: int = DEFAULT_GRADIENT_BATCH,
    return_convergence_delta: bool = False,
    prior: torch.Tensor | np.ndarray | None = None,
) -> torch.Tensor | np.ndarray | tuple[torch.Tensor | np.ndarray, torch.Tensor | np.ndarray]:
    """Attribute the logit of each gene to its input cells with one Captum method.

    Parameters
    ----------
    model
        Maps counts (genes, bins, marks) to a ``ModelOutput`` (or a logits tensor (genes,)).
        It is put in eval mode; its parameters are not changed.
    inputs
        Raw counts of shape (genes, bins, marks), a tensor (on the model's device) or an array.
    method
        One of :data:`ATTRIBUTION_METHODS`.
    baseline
        The reference input ("no reads") for ``integrated_gradients``, ``deeplift`` and
        ``occlusion``: a number for every cell, or a tensor shaped like ``inputs`` (another
        cell's reads of the same genes, to attribute the difference between two cells). Default 0.
    n_steps
        Integration steps of ``integrated_gradients``. Default 32.
    window
        Bins per occlusion window (one mark at a time). Default 5.
    stride
        Occlusion stride in bins. Default: ``window`` (non-overlapping windows).
    internal_batch_size
        Most examples per forward pass inside occlusion. Default 512.
    gradient_batch_size
        Most examples (genes x steps, at least one step per gene) per forward and backward pass
        inside integrated gradients; bounds its memory. Default 256.
    return_convergence_delta
        Also return, per gene, the completeness gap ``sum(attribution) - (f(x) - f(baseline))``
        (``integrated_gradients`` and ``deeplift`` only). Default False.
    prior
        A reference-informed model's prior features of the genes (genes, features): held fixed,
        so the maps say what the marks add to the prior. Default ``None``.

    Returns
    -------
    attributions
        Same shape and kind (tensor or array) as ``inputs``; with ``return_convergence_delta``,
        a pair ``(attributions, delta)`` with ``delta`` of shape (genes,).

    Raises
    ------
    ValueError
        For an unknown method, a non-3-D input, or a convergence delta asked of a method without one.

    Examples
    --------
    >>> import numpy as np
    >>> from attentivechrome import get_model
    >>> from attentivechrome.interpret import attribute
    >>> model = get_model("attentivechrome", bin_hidden=4, mark_hidden=2)
    >>> attribute(model, np.ones((3, 20, 5), dtype=np.float32), "saliency").shape
    (3, 20, 5)
    """
    if method not in ATTRIBUTION_METHODS:
        raise ValueError(f"unknown attribution method {method!r}; choose from {', '.join(ATTRIBUTION_METHODS)}")
    if return_convergence_delta and method not in ("integrated_gradients", "deeplift"):
        raise ValueError(f"{method} has no convergence delta; only integrated_gradients and deeplift do")
    as_numpy = isinstance(inputs, np.ndarray)
    x = torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.float32)) if as_numpy else inputs
    if x.ndim != 3:
        raise ValueError(f"inputs must have shape (genes, bins, marks), got {tuple(x.shape)}")
    if n_steps < 2:
        raise ValueError(f"n_steps must be at least 2, got {n_steps}")
    if not 1 <= window <= x.shape[1]:
        raise ValueError(f"window must be between 1 and the {x.shape[1]} bins, got {window}")
    stride = window if stride is None else stride
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")

    wrapped = LogitModule(model)
    was_training = model.training
    model.eval()
    x = x.detach().float().clone()
    try:
        with torch.enable_grad(), _gradients_through_rnn(x.device), _frozen(model):
            extra = None if prior is None else (torch.as_tensor(np.asarray(prior, dtype=np.float32) if isinstance(prior, np.ndarray) else prior).to(x.device),)
            attributions, delta = _run_captum(
                wrapped, x, method, baseline, n_steps, window, stride, internal_batch_size, gradient_batch_size, return_convergence_delta, extra
            )
    finally:
        model.train(was_training)
    attributions = attributions.detach()
    if as_numpy:
        attributions = attributions.cpu().numpy()
        delta = None if delta is None else delta.detach().cpu().numpy()
    if return_convergence_delta:
        return attributions, delta
    return attributions


def _run_captum(
    wrapped: LogitModule,
    x: torch.Tensor,
    method: str,
    baseline: float,
    n_steps: int,
    window: int,
    stride: int,
    internal_batch_size: int,
    gradient_batch_size: int,
    with_delta: bool,
    extra: tuple | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    from captum.attr import DeepLift, InputXGradient, IntegratedGradients, Occlusion, Saliency

    absent = torch.isnan(x)
    if absent.any():  # absent marks (NaN) stay absent in the baseline, so no path makes them "no reads"
        baseline = torch.where(absent, x, baseline if torch.is_tensor(baseline) else torch.full_like(x, baseline)).detach()
    x.requires_grad_(True)  # captum warns when it has to set this itself
    if method == "saliency":
        return Saliency(wrapped).attribute(x, abs=True, additional_forward_args=extra), None
    if method == "input_x_gradient":
        return InputXGradient(wrapped).attribute(x, additional_forward_args=extra), None
    if method == "integrated_gradients":
        out = IntegratedGradients(wrapped).attribute(
            x,
            baselines=baseline,
            n_steps=n_steps,
            method="gausslegendre",
            internal_batch_size=max(gradient_batch_size, x.shape[0]),  # at least one step of every gene per pass
            return_convergence_delta=with_delta,
            additional_forward_args=extra,
        )
        return _with_delta(wrapped, x, baseline, out, absent, extra) if with_delta else (out, None)
    if method == "deeplift":
        with _quiet_captum_notice():
            out = DeepLift(wrapped).attribute(x, baselines=baseline, return_convergence_delta=with_delta, additional_forward_args=extra)
        return _with_delta(wrapped, x, baseline, out, absent, extra) if with_delta else (out, None)
    # occlusion: windows of `window` bins over one mark at a time; input per gene is (bins, marks)
    x.requires_grad_(False)
    n_windows = len(range(0, x.shape[1] - window + 1, stride)) * x.shape[2]
    per_eval = max(1, min(n_windows, internal_batch_size // max(1, x.shape[0])))
    with torch.no_grad():
        out = Occlusion(wrapped).attribute(
            x, sliding_window_shapes=(window, 1), strides=(stride, 1), baselines=baseline, perturbations_per_eval=per_eval, additional_forward_args=extra
        )
    return out, None


def _with_delta(wrapped: LogitModule, x: torch.Tensor, baseline, out, absent: torch.Tensor, extra: tuple | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Captum's (attributions, delta); where marks are absent, the delta counts their NaN cells as 0."""
    attributions, delta = out
    if absent.any():
        with torch.no_grad():
            gap = wrapped(x.detach(), *(extra or ())) - wrapped(baseline if torch.is_tensor(baseline) else torch.full_like(x, baseline), *(extra or ()))
        delta = torch.nan_to_num(attributions.detach(), nan=0.0).sum(dim=(1, 2)) - gap
    return attributions, delta


@contextlib.contextmanager
def _frozen(model: nn.Module) -> Iterator[None]:
    """Attributions need gradients with respect to the input only: the weights' are not built.

    Backward passes through the mark-level LSTM and the output layer then skip the weight
    gradients (a quarter of the time of integrated gradients); ``requires_grad`` is restored after.
    """
    trainable = [p for p in model.parameters() if p.requires_grad]
    for parameter in trainable:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in trainable:
            parameter.requires_grad_(True)


@contextlib.contextmanager
def _gradients_through_rnn(device: torch.device) -> Iterator[None]:
    """cuDNN computes RNN gradients only in training mode; use the native kernels on CUDA."""
    if device.type == "cuda":
        with torch.backends.cudnn.flags(enabled=False):
            yield
    else:
        yield


@contextlib.contextmanager
def _quiet_captum_notice() -> Iterator[None]:
    """Captum's DeepLift warns on every call that it sets hooks; that is expected here."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Setting forward, backward hooks", category=UserWarning)
        yield
