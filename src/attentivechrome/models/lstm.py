"""Recurrent baselines of the AttentiveChrome paper: ``lstm`` and ``lstm-alpha``.

Singh, Lanchantin, Sekhon, Qi. "Attend and Predict: Understanding Gene Regulation by
Selective Attention on Chromatin". NeurIPS 2017, section 4 (baselines).

- :class:`LSTMBaseline` (``lstm``): one bidirectional LSTM reads the bins in order with the
  marks as the input features of each bin; the last states of both directions predict.
  No attention.
- :class:`LSTMAlpha` (``lstm-alpha``): AttentiveChrome without its mark level. Each mark has
  its own bidirectional LSTM over bins pooled by bin-level attention (alpha); the mark
  vectors are concatenated and a linear layer predicts. No mark-level attention (beta).
"""

from __future__ import annotations

import torch
from torch import nn

from . import _fast_lstm
from .attention import ContextAttention
from .base import ModelOutput, apply_input_transform


class LSTMBaseline(nn.Module):
    """A bidirectional LSTM over bins with the marks as input features, no attention.

    Parameters
    ----------
    n_marks
        Number of histone marks (input features per bin). Default 5.
    hidden
        LSTM hidden size per direction. Default 32 (AttentiveChrome's bin-level size).
    transform
        Input transform applied inside ``forward``: ``none`` or ``log1p``. Default ``none``.

    The forward pass takes counts of shape (genes, bins, marks) and returns a
    :class:`ModelOutput` with logits (genes,) and no attention.

    Examples
    --------
    >>> import torch
    >>> LSTMBaseline(5)(torch.rand(3, 100, 5)).logits.shape
    torch.Size([3])
    """

    def __init__(self, n_marks: int = 5, *, hidden: int = 32, transform: str = "none") -> None:
        super().__init__()
        self.n_marks = n_marks
        self.hidden = hidden
        self.transform = transform
        apply_input_transform(torch.zeros(1), transform)  # validate the name early
        self.rnn = nn.LSTM(n_marks, hidden, num_layers=1, bidirectional=True, batch_first=True)
        self.out = nn.Linear(2 * hidden, 1)

    def init_params(self) -> dict:
        """The constructor arguments, as saved in checkpoints."""
        return {"n_marks": self.n_marks, "hidden": self.hidden, "transform": self.transform}

    def forward(self, x: torch.Tensor) -> ModelOutput:
        x = apply_input_transform(x, self.transform)
        _, (h_n, _) = self.rnn(x)  # h_n: (directions, genes, hidden); forward ends at the last bin, backward at the first
        gene_vector = torch.cat([h_n[0], h_n[1]], dim=1)  # (genes, 2*hidden)
        return ModelOutput(logits=self.out(gene_vector).squeeze(-1))


class LSTMAlpha(nn.Module):
    """Per-mark bidirectional LSTMs with bin-level attention; mark vectors concatenated.

    Parameters
    ----------
    n_marks
        Number of histone marks. Default 5.
    bin_hidden
        Hidden size per direction of each mark's LSTM. Default 32, as AttentiveChrome.
    transform
        Input transform applied inside ``forward``: ``none`` or ``log1p``. Default ``none``.
    encoder
        ``fast`` (default) runs the per-mark encoders in AttentiveChrome's compiled CPU kernel
        where it applies; ``reference`` makes one ``nn.LSTM`` call per mark. Same parameters,
        same outputs (see :class:`~attentivechrome.models.AttentiveChrome`); not saved in checkpoints.

    The forward pass takes counts of shape (genes, bins, marks) and returns a
    :class:`ModelOutput` with logits (genes,) and alpha (genes, marks, bins); beta is ``None``.

    Examples
    --------
    >>> import torch
    >>> out = LSTMAlpha(5)(torch.rand(3, 100, 5))
    >>> out.alpha.shape, out.beta is None
    (torch.Size([3, 5, 100]), True)
    """

    def __init__(self, n_marks: int = 5, *, bin_hidden: int = 32, transform: str = "none", encoder: str = "fast") -> None:
        super().__init__()
        self.n_marks = n_marks
        self.bin_hidden = bin_hidden
        self.transform = transform
        apply_input_transform(torch.zeros(1), transform)
        self.encoder = encoder
        self.rnns = nn.ModuleList(
            nn.LSTM(1, bin_hidden, num_layers=1, bidirectional=True, batch_first=True) for _ in range(n_marks)
        )
        self.bin_attention = nn.ModuleList(ContextAttention(2 * bin_hidden) for _ in range(n_marks))
        self.out = nn.Linear(n_marks * 2 * bin_hidden, 1)

    def init_params(self) -> dict:
        """The constructor arguments, as saved in checkpoints."""
        return {"n_marks": self.n_marks, "bin_hidden": self.bin_hidden, "transform": self.transform}

    def forward(self, x: torch.Tensor) -> ModelOutput:
        x = apply_input_transform(x, self.transform)
        if self.encoder == "fast" and _fast_lstm.applies(x, self.rnns, self.bin_hidden):
            contexts = [attention.bin_context_vector for attention in self.bin_attention]
            pooled, alpha = _fast_lstm.encode_marks(x, list(self.rnns), contexts, recycle=self.training)  # (genes, marks, 2*bin_hidden)
            return ModelOutput(logits=self.out(pooled.flatten(1)).squeeze(-1), alpha=alpha)
        vectors, alphas = [], []
        for mark, (rnn, attention) in enumerate(zip(self.rnns, self.bin_attention)):
            states, _ = rnn(x[:, :, mark : mark + 1])  # (genes, bins, 1) -> (genes, bins, 2*bin_hidden)
            pooled, alpha = attention(states)  # (genes, 2*bin_hidden), (genes, bins)
            vectors.append(pooled)
            alphas.append(alpha)
        gene_vector = torch.cat(vectors, dim=1)  # (genes, marks*2*bin_hidden)
        return ModelOutput(logits=self.out(gene_vector).squeeze(-1), alpha=torch.stack(alphas, dim=1))
