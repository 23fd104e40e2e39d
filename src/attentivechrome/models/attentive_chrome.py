"""AttentiveChrome: per-mark bidirectional LSTMs with bin attention, a mark-level LSTM with mark attention.

Singh, Lanchantin, Sekhon, Qi. "Attend and Predict: Understanding Gene Regulation by
Selective Attention on Chromatin". NeurIPS 2017.

The module computes what the original v2 code computes, with the same parameter
names and shapes, so a published state_dict loads without conversion.
"""

from __future__ import annotations

import torch
from torch import nn

from .attention import ContextAttention
from .base import ModelOutput, apply_input_transform


class _RecurrentAttentionEncoder(nn.Module):
    """A 1-layer bidirectional LSTM over a sequence, pooled by context attention.

    Attribute names (``rnn``, ``bin_attention``) follow the original checkpoints.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(input_size, hidden_size, num_layers=1, bidirectional=True, batch_first=True)
        self.bin_attention = ContextAttention(2 * hidden_size)

    def forward(self, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, steps, input) -> pooled (batch, 2*hidden), weights (batch, steps)."""
        outputs, _ = self.rnn(seq)  # (batch, steps, 2*hidden)
        return self.bin_attention(outputs)


class AttentiveChrome(nn.Module):
    """The AttentiveChrome network.

    Parameters
    ----------
    n_marks
        Number of histone marks (input channels). Default 5.
    bin_hidden
        LSTM hidden size per direction of the per-mark (bin-level) encoders. Default 32.
    mark_hidden
        LSTM hidden size per direction of the mark-level encoder. Default 16 (the
        original uses ``bin_hidden // 2``).
    init_range
        Every parameter starts uniform in (-init_range, init_range). Default 0.1.
    transform
        Input transform applied inside ``forward``: ``none`` (raw counts, as the original) or ``log1p``.

    The forward pass takes counts of shape (genes, bins, marks) and returns a
    :class:`ModelOutput` with logits (genes,), alpha (genes, marks, bins) and beta (genes, marks).
    """

    def __init__(
        self,
        n_marks: int = 5,
        *,
        bin_hidden: int = 32,
        mark_hidden: int = 16,
        init_range: float = 0.1,
        transform: str = "none",
    ) -> None:
        super().__init__()
        self.n_marks = n_marks
        self.bin_hidden = bin_hidden
        self.mark_hidden = mark_hidden
        self.transform = transform
        apply_input_transform(torch.zeros(1), transform)  # validate the name early
        self.rnn_hms = nn.ModuleList(_RecurrentAttentionEncoder(1, bin_hidden) for _ in range(n_marks))
        self.hm_level_rnn_1 = _RecurrentAttentionEncoder(2 * bin_hidden, mark_hidden)
        self.fdiff1_1 = nn.Linear(2 * mark_hidden, 1)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -init_range, init_range)

    def init_params(self) -> dict:
        """The constructor arguments, as saved in checkpoints."""
        return {"n_marks": self.n_marks, "bin_hidden": self.bin_hidden, "mark_hidden": self.mark_hidden, "transform": self.transform}

    def encode_marks(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-mark encoders: (genes, bins, marks) -> mark vectors (genes, marks, 2*bin_hidden), alpha (genes, marks, bins)."""
        vectors, alphas = [], []
        for mark, encoder in enumerate(self.rnn_hms):
            pooled, alpha = encoder(x[:, :, mark : mark + 1])  # (genes, bins, 1) -> (genes, 64), (genes, bins)
            vectors.append(pooled)
            alphas.append(alpha)
        return torch.stack(vectors, dim=1), torch.stack(alphas, dim=1)

    def forward(self, x: torch.Tensor) -> ModelOutput:
        x = apply_input_transform(x, self.transform)
        mark_vectors, alpha = self.encode_marks(x)
        gene_vector, beta = self.hm_level_rnn_1(mark_vectors)  # (genes, 2*mark_hidden), (genes, marks)
        logits = self.fdiff1_1(gene_vector).squeeze(-1)
        return ModelOutput(logits=logits, alpha=alpha, beta=beta)
