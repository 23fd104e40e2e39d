"""Context-vector attention pooling, shared by the bin level and the mark level."""

from __future__ import annotations

import torch
from torch import nn


class ContextAttention(nn.Module):
    """Softmax attention of a sequence against one learned context vector.

    The score of position t is ``h_t . w``; the weights are the softmax of the scores
    over positions and the pooled vector is their weighted sum of ``h_t``.
    The parameter is named ``bin_context_vector`` (shape (features, 1)) at both
    levels so that published AttentiveChrome weights load unchanged.
    """

    def __init__(self, n_features: int, init_range: float = 0.1) -> None:
        super().__init__()
        self.bin_context_vector = nn.Parameter(torch.empty(n_features, 1).uniform_(-init_range, init_range))

    def forward(self, h: torch.Tensor, present: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool ``h`` of shape (batch, positions, features) to (batch, features); also return weights (batch, positions).

        ``present`` (bool, (batch, positions)) leaves the other positions out: their weight is 0.
        """
        scores = (h @ self.bin_context_vector).squeeze(-1)  # (batch, positions)
        if present is not None:
            scores = scores.masked_fill(~present, float("-inf"))
        weights = torch.softmax(scores, dim=1)
        pooled = torch.bmm(weights.unsqueeze(1), h).squeeze(1)  # (batch, features)
        return pooled, weights
