"""Convolutional baselines: ``deepchrome``, ``cnn-attn`` and ``cnn-alpha-beta``.

- :class:`DeepChrome` (``deepchrome``): Singh, Lanchantin, Robins, Qi. "DeepChrome: deep-learning
  for predicting gene expression from histone modifications". Bioinformatics 2016. One
  convolution over bins with the marks as channels, max-pooling, dropout and a multilayer
  perceptron, with the published sizes (50 filters of width 10, pooling 5, hidden layers of
  625 and 125 units, dropout 0.5; about 644 thousand weights for 100 bins).
- :class:`CNNAttention` (``cnn-attn``): the paper's CNN-Attn baseline as we read it. The same
  kind of convolution, with attention over bin positions in place of max-pooling. Its single
  attention vector weighs all marks of a bin together.
- :class:`CNNAlphaBeta` (``cnn-alpha-beta``): AttentiveChrome's two attention levels on
  convolutional encoders. Each mark has its own convolution (a grouped convolution) pooled by
  its own bin-level attention (alpha), and mark-level attention (beta) pools the mark vectors.
"""

from __future__ import annotations

import torch
from torch import nn

from .attention import ContextAttention
from .base import ModelOutput, apply_input_transform

#: DeepChrome's pooled length for 100 bins: (100 - 10 + 1) // 5.
_DEEPCHROME_POOLED = 18


class DeepChrome(nn.Module):
    """DeepChrome's CNN: convolution over bins, max-pooling, dropout, fully connected layers.

    Parameters
    ----------
    n_marks
        Number of histone marks (input channels). Default 5.
    n_filters
        Convolution filters. Default 50 (published).
    kernel_size
        Filter width in bins. Default 10 (published).
    pool_size
        Max-pooling width. Default 5 (published).
    hidden
        Sizes of the hidden fully connected layers. Default (625, 125) (published).
    dropout
        Dropout probability before the fully connected layers. Default 0.5 (published).
    transform
        Input transform applied inside ``forward``: ``none`` or ``log1p``. Default ``none``.

    With 100 bins the layout is exactly DeepChrome's (91 positions pooled to 18). Other bin
    counts are max-pooled further to the same 18 positions, so the network is built without
    knowing the bin count. Returns logits (genes,) and no attention.

    Examples
    --------
    >>> import torch
    >>> DeepChrome(5)(torch.rand(3, 100, 5)).logits.shape
    torch.Size([3])
    """

    def __init__(
        self,
        n_marks: int = 5,
        *,
        n_filters: int = 50,
        kernel_size: int = 10,
        pool_size: int = 5,
        hidden: tuple[int, ...] | list[int] = (625, 125),
        dropout: float = 0.5,
        transform: str = "none",
    ) -> None:
        super().__init__()
        self.n_marks = n_marks
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.pool_size = pool_size
        self.hidden = tuple(hidden)
        self.dropout = dropout
        self.transform = transform
        apply_input_transform(torch.zeros(1), transform)
        self.conv = nn.Conv1d(n_marks, n_filters, kernel_size)
        self.pool = nn.Sequential(nn.MaxPool1d(pool_size), nn.AdaptiveMaxPool1d(_DEEPCHROME_POOLED))
        layers: list[nn.Module] = [nn.Dropout(dropout), nn.Flatten()]
        width = n_filters * _DEEPCHROME_POOLED
        for size in self.hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def init_params(self) -> dict:
        """The constructor arguments, as saved in checkpoints."""
        return {
            "n_marks": self.n_marks,
            "n_filters": self.n_filters,
            "kernel_size": self.kernel_size,
            "pool_size": self.pool_size,
            "hidden": list(self.hidden),
            "dropout": self.dropout,
            "transform": self.transform,
        }

    def forward(self, x: torch.Tensor) -> ModelOutput:
        x = apply_input_transform(x, self.transform)
        h = torch.relu(self.conv(x.transpose(1, 2)))  # (genes, bins, marks) -> (genes, marks, bins) -> (genes, filters, positions)
        h = self.pool(h)  # (genes, filters, 18)
        return ModelOutput(logits=self.mlp(h).squeeze(-1))


class CNNAttention(nn.Module):
    """Convolution over bins (marks as channels) pooled by attention over bin positions.

    Parameters
    ----------
    n_marks
        Number of histone marks (input channels). Default 5.
    n_filters
        Convolution filters. Default 50, as DeepChrome.
    kernel_size
        Filter width in bins; zero padding keeps one position per bin. Default 10.
    transform
        Input transform applied inside ``forward``: ``none`` or ``log1p``. Default ``none``.

    Returns logits (genes,) and alpha (genes, marks, bins). The model has one attention
    weight per bin shared by all marks, so the rows of alpha are equal across marks (each
    sums to one over bins); beta is ``None``.

    Examples
    --------
    >>> import torch
    >>> CNNAttention(5)(torch.rand(3, 100, 5)).alpha.shape
    torch.Size([3, 5, 100])
    """

    def __init__(self, n_marks: int = 5, *, n_filters: int = 50, kernel_size: int = 10, transform: str = "none") -> None:
        super().__init__()
        self.n_marks = n_marks
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.transform = transform
        apply_input_transform(torch.zeros(1), transform)
        self.pad = _same_padding(kernel_size)
        self.conv = nn.Conv1d(n_marks, n_filters, kernel_size)
        self.bin_attention = ContextAttention(n_filters)
        self.out = nn.Linear(n_filters, 1)

    def init_params(self) -> dict:
        """The constructor arguments, as saved in checkpoints."""
        return {"n_marks": self.n_marks, "n_filters": self.n_filters, "kernel_size": self.kernel_size, "transform": self.transform}

    def forward(self, x: torch.Tensor) -> ModelOutput:
        x = apply_input_transform(x, self.transform)
        h = torch.relu(self.conv(self.pad(x.transpose(1, 2))))  # (genes, marks, bins) -> (genes, filters, bins)
        pooled, weights = self.bin_attention(h.transpose(1, 2))  # (genes, filters), (genes, bins)
        alpha = weights.unsqueeze(1).expand(-1, x.shape[2], -1)  # (genes, bins) -> (genes, marks, bins)
        return ModelOutput(logits=self.out(pooled).squeeze(-1), alpha=alpha)


class CNNAlphaBeta(nn.Module):
    """Per-mark convolutions with bin-level attention (alpha) and mark-level attention (beta).

    Parameters
    ----------
    n_marks
        Number of histone marks. Default 5.
    n_filters
        Convolution filters per mark. Default 32.
    kernel_size
        Filter width in bins; zero padding keeps one position per bin. Default 10.
    init_range
        The attention context vectors start uniform in (-init_range, init_range). Default 0.1.
    transform
        Input transform applied inside ``forward``: ``none`` or ``log1p``. Default ``none``.

    Returns logits (genes,), alpha (genes, marks, bins) and beta (genes, marks).

    Examples
    --------
    >>> import torch
    >>> out = CNNAlphaBeta(5)(torch.rand(3, 100, 5))
    >>> out.alpha.shape, out.beta.shape
    (torch.Size([3, 5, 100]), torch.Size([3, 5]))
    """

    def __init__(
        self, n_marks: int = 5, *, n_filters: int = 32, kernel_size: int = 10, init_range: float = 0.1, transform: str = "none"
    ) -> None:
        super().__init__()
        self.n_marks = n_marks
        self.n_filters = n_filters
        self.kernel_size = kernel_size
        self.init_range = init_range
        self.transform = transform
        apply_input_transform(torch.zeros(1), transform)
        # groups=n_marks: each mark has its own filters and sees only its own counts.
        self.pad = _same_padding(kernel_size)
        self.conv = nn.Conv1d(n_marks, n_marks * n_filters, kernel_size, groups=n_marks)
        self.bin_context = nn.Parameter(torch.empty(n_marks, n_filters).uniform_(-init_range, init_range))
        self.mark_attention = ContextAttention(n_filters, init_range)
        self.out = nn.Linear(n_filters, 1)

    def init_params(self) -> dict:
        """The constructor arguments, as saved in checkpoints."""
        return {
            "n_marks": self.n_marks,
            "n_filters": self.n_filters,
            "kernel_size": self.kernel_size,
            "init_range": self.init_range,
            "transform": self.transform,
        }

    def forward(self, x: torch.Tensor) -> ModelOutput:
        x = apply_input_transform(x, self.transform)
        genes, bins, marks = x.shape
        h = torch.relu(self.conv(self.pad(x.transpose(1, 2))))  # (genes, marks, bins) -> (genes, marks*filters, bins)
        h = h.view(genes, marks, self.n_filters, bins)  # -> (genes, marks, filters, bins)
        scores = torch.einsum("gmfb,mf->gmb", h, self.bin_context)
        alpha = torch.softmax(scores, dim=2)  # (genes, marks, bins)
        mark_vectors = torch.einsum("gmb,gmfb->gmf", alpha, h)  # (genes, marks, filters)
        gene_vector, beta = self.mark_attention(mark_vectors)  # (genes, filters), (genes, marks)
        return ModelOutput(logits=self.out(gene_vector).squeeze(-1), alpha=alpha, beta=beta)


def _same_padding(kernel_size: int) -> nn.ConstantPad1d:
    """Zero padding that keeps one output position per bin (the extra zero of an even width goes right)."""
    return nn.ConstantPad1d(((kernel_size - 1) // 2, kernel_size // 2), 0.0)
