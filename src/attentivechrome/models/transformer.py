"""A small transformer encoder over bins (``transformer``): our step beyond the paper.

Each bin is a token. Its embedding is the sum, over marks, of the mark's (transformed)
count times a learned mark embedding, plus a bias and a fixed sinusoidal encoding of the bin
position (so the model is built without knowing the bin count). A few pre-norm encoder
layers mix the bins; attention pooling over bins (a learned context vector) gives the gene
vector, and a linear layer the logit.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .attention import ContextAttention
from .base import ModelOutput, apply_input_transform


class TransformerBaseline(nn.Module):
    """Transformer encoder over bins with mark embeddings and attention pooling.

    Parameters
    ----------
    n_marks
        Number of histone marks. Default 5.
    d_model
        Token width. Default 32.
    n_heads
        Self-attention heads. Default 4.
    n_layers
        Encoder layers. Default 2.
    dim_feedforward
        Width of each layer's feed-forward block. Default 64.
    dropout
        Dropout of the encoder layers' residual and feed-forward paths. Default 0.1.
    attention_dropout
        Dropout of the self-attention weights. Default 0: dropping them took a third of a CPU
        training step and kept PyTorch off its fused attention kernel, for no validation gain on
        roadmap-e012 (docs/benchmarks.md).
    transform
        Input transform applied inside ``forward``: ``none`` or ``log1p``. Default ``none``;
        ``log1p`` is advisable, raw counts of a few hundred make the token embeddings large.

    Returns logits (genes,) and alpha (genes, marks, bins): the pooling attention has one
    weight per bin shared by all marks, so the rows of alpha are equal across marks.
    The self-attention maps of the encoder layers are not returned. beta is ``None``.

    Examples
    --------
    >>> import torch
    >>> TransformerBaseline(5)(torch.rand(3, 100, 5)).alpha.shape
    torch.Size([3, 5, 100])
    """

    def __init__(
        self,
        n_marks: int = 5,
        *,
        d_model: int = 32,
        n_heads: int = 4,
        n_layers: int = 2,
        dim_feedforward: int = 64,
        dropout: float = 0.1,
        attention_dropout: float = 0.0,
        transform: str = "none",
    ) -> None:
        super().__init__()
        self.n_marks = n_marks
        self.d_model = d_model
        self.n_heads = n_heads
        self.n_layers = n_layers
        self.dim_feedforward = dim_feedforward
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.transform = transform
        apply_input_transform(torch.zeros(1), transform)
        if d_model % n_heads:
            raise ValueError(f"d_model ({d_model}) must be a multiple of n_heads ({n_heads})")
        self.mark_embedding = nn.Linear(n_marks, d_model)  # sum over marks of count * embedding, plus a bias
        layer = nn.TransformerEncoderLayer(
            d_model, n_heads, dim_feedforward=dim_feedforward, dropout=dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        for encoder_layer in self.encoder.layers:  # the layer class takes one dropout for all its paths
            encoder_layer.self_attn.dropout = attention_dropout
        self.norm = nn.LayerNorm(d_model)
        self.bin_attention = ContextAttention(d_model)
        self.out = nn.Linear(d_model, 1)

    def init_params(self) -> dict:
        """The constructor arguments, as saved in checkpoints."""
        return {
            "n_marks": self.n_marks,
            "d_model": self.d_model,
            "n_heads": self.n_heads,
            "n_layers": self.n_layers,
            "dim_feedforward": self.dim_feedforward,
            "dropout": self.dropout,
            "transform": self.transform,
            **({"attention_dropout": self.attention_dropout} if self.attention_dropout else {}),
        }

    def forward(self, x: torch.Tensor) -> ModelOutput:
        x = apply_input_transform(x, self.transform)
        tokens = self.mark_embedding(x) + _sinusoidal_positions(x.shape[1], self.d_model, x.device, x.dtype)  # (genes, bins, d_model)
        h = self.norm(self.encoder(tokens))  # (genes, bins, d_model)
        pooled, weights = self.bin_attention(h)  # (genes, d_model), (genes, bins)
        alpha = weights.unsqueeze(1).expand(-1, x.shape[2], -1)  # (genes, bins) -> (genes, marks, bins)
        return ModelOutput(logits=self.out(pooled).squeeze(-1), alpha=alpha)


def _sinusoidal_positions(n_positions: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """Fixed sine/cosine position codes of shape (n_positions, width)."""
    position = torch.arange(n_positions, device=device, dtype=torch.float32).unsqueeze(1)  # (positions, 1)
    frequency = torch.exp(torch.arange(0, width, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / width))
    codes = torch.zeros(n_positions, width, device=device)
    codes[:, 0::2] = torch.sin(position * frequency)
    codes[:, 1::2] = torch.cos(position * frequency[: width // 2])
    return codes.to(dtype)
