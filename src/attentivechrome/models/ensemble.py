"""An ensemble: several trained copies of one architecture (different seeds) read as one model.

Its output is the mean of the members' logits (raw outputs: log-odds, or a regression's
standardised value), and its alpha and beta the members' means. The mean is taken on the logit
scale, not on probabilities, because every attribution method is linear in the output it
explains: the gradient, input x gradient, integrated gradients and occlusion of a mean of logits
are exactly the means of the members' (same input, baseline and steps). The ensemble's maps
(:func:`attentivechrome.interpret.explain_module`) are therefore the members' mean, and the explainer
reports their spread across members beside them.

A checkpoint of an ensemble holds the members' architecture once (``model_name``,
``model_params``) and their weights under ``members.<i>.`` (see
:mod:`attentivechrome.models.checkpoint`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from .base import ModelOutput


class Ensemble(nn.Module):
    """Members of one architecture and parameters; the output is their mean.

    Attribute lookups the ensemble does not answer itself (``n_marks``, ``transform``,
    ``missing_marks``, ``encoder``, ...) are the first member's: the members are built alike.

    Examples
    --------
    >>> from attentivechrome import get_model
    >>> members = [get_model("deepchrome") for _ in range(2)]
    >>> ensemble = Ensemble(members).eval()  # the members too are put in evaluation mode (no dropout)
    >>> x = torch.rand(3, 100, 5)
    >>> mean = (members[0](x).logits + members[1](x).logits) / 2
    >>> bool(torch.allclose(ensemble(x).logits, mean))
    True
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        members = list(members)
        if len(members) < 1:
            raise ValueError("an ensemble needs at least one member")
        kinds = {type(m) for m in members}
        if len(kinds) > 1:
            raise ValueError(f"the members of an ensemble must be one architecture, got {', '.join(sorted(k.__name__ for k in kinds))}")
        params = [m.init_params() for m in members]
        if any(p != params[0] for p in params[1:]):
            raise ValueError("the members of an ensemble must have the same parameters (sizes, transform, ...)")
        if any(isinstance(m, Ensemble) for m in members):
            raise ValueError("an ensemble's members are single models, not ensembles")
        self.members = nn.ModuleList(members)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name.startswith("_") or name == "members":
                raise
            return getattr(super().__getattr__("members")[0], name)

    @property
    def n_members(self) -> int:
        return len(self.members)

    def init_params(self) -> dict:
        """The members' constructor parameters (all the same)."""
        return self.members[0].init_params()

    def forward(self, x: torch.Tensor, prior: torch.Tensor | None = None) -> ModelOutput:
        outputs = [member(x) if prior is None else member(x, prior) for member in self.members]
        return combine_outputs(outputs)


def combine_outputs(outputs: Sequence[ModelOutput]) -> ModelOutput:
    """The mean of the members' logits, alpha and beta (alpha/beta ``None`` when the members have none)."""

    def mean(values):
        return None if values[0] is None else torch.stack(list(values)).mean(dim=0)

    return ModelOutput(
        logits=mean([o.logits for o in outputs]),
        alpha=mean([getattr(o, "alpha", None) for o in outputs]),
        beta=mean([getattr(o, "beta", None) for o in outputs]),
    )


def members_of(module: nn.Module) -> list[nn.Module]:
    """The members of an :class:`Ensemble`, or ``[module]`` for a single model."""
    return list(module.members) if isinstance(module, Ensemble) else [module]
