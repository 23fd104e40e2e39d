"""Reference-informed models: the gene prior read beside what a network learns from the marks.

:class:`PriorHead` is the output layer of a reference-informed network: it maps the network's
summary of the marks (AttentiveChrome's gene vector, or another model's logit) together with
the gene's reference-prior features (:mod:`attentivechrome.data.reference`) to the output.
:class:`ReferenceInformed` gives any registered network such a head, for the models without a
gene-level vector of their own.
"""

from __future__ import annotations

import torch
from torch import nn

from .base import ModelOutput

#: Hidden units of the prior head.
PRIOR_HIDDEN = 32


class PriorHead(nn.Module):
    """``logit = linear(marks summary) + mlp(marks summary, prior)``.

    The linear path alone is the network without a reference; the small network on both lets
    the prior change how much the marks count (a gene expressed in every reference cell needs
    less evidence from its marks).
    """

    def __init__(self, n_inputs: int, n_prior: int, hidden: int = PRIOR_HIDDEN) -> None:
        super().__init__()
        self.linear = nn.Linear(n_inputs, 1)
        self.mlp = nn.Sequential(nn.Linear(n_inputs + n_prior, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        self.n_prior = n_prior

    def forward(self, summary: torch.Tensor, prior: torch.Tensor | None) -> torch.Tensor:
        """(genes, n_inputs), (genes, n_prior) -> logits (genes,)."""
        if prior is None or prior.shape[-1] != self.n_prior:
            got = "none" if prior is None else f"{prior.shape[-1]} features"
            raise ValueError(f"the model reads {self.n_prior} reference-prior features per gene, got {got} (pass the reference-expression table)")
        joined = torch.cat([summary, prior.to(summary.dtype)], dim=-1)
        return (self.linear(summary) + self.mlp(joined)).squeeze(-1)


class ReferenceInformed(nn.Module):
    """A registered network whose logit joins the gene's prior in a :class:`PriorHead`.

    Its registry name, parameters and attention are the wrapped network's (``init_params`` adds
    ``n_prior``), so checkpoints rebuild it through :func:`~attentivechrome.models.get_model`.
    """

    def __init__(self, network: nn.Module, n_prior: int) -> None:
        super().__init__()
        self.network = network
        self.n_prior = n_prior
        self.prior_head = PriorHead(1, n_prior)

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:  # n_marks, transform, encoder, ...: the wrapped network's
            return getattr(super().__getattr__("network"), name)

    def init_params(self) -> dict:
        return {**self.network.init_params(), "n_prior": self.n_prior}

    def forward(self, x: torch.Tensor, prior: torch.Tensor | None = None) -> ModelOutput:
        out = self.network(x)
        return out._replace(logits=self.prior_head(out.logits.unsqueeze(-1), prior))
