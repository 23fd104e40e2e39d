"""AttentiveChrome: per-mark bidirectional LSTMs with bin attention, a mark-level LSTM with mark attention.

Singh, Lanchantin, Sekhon, Qi. "Attend and Predict: Understanding Gene Regulation by
Selective Attention on Chromatin". NeurIPS 2017.

The module computes what the original v2 code computes, with the same parameter
names and shapes, so a published state_dict loads without conversion.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from ..model_catalog import ATTENTION_MODES
from . import _fast_lstm
from .attention import ContextAttention
from .base import ModelOutput, apply_input_transform
from .reference import PriorHead

#: Implementations of the per-mark (bin-level) encoders; both compute the same function.
ENCODERS: tuple[str, ...] = ("fast", "reference")


class _RecurrentAttentionEncoder(nn.Module):
    """A 1-layer bidirectional LSTM over a sequence, pooled by context attention.

    Attribute names (``rnn``, ``bin_attention``) follow the original checkpoints.
    """

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(input_size, hidden_size, num_layers=1, bidirectional=True, batch_first=True)
        self.bin_attention = ContextAttention(2 * hidden_size)

    def forward(self, seq: torch.Tensor, present: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, steps, input) -> pooled (batch, 2*hidden), weights (batch, steps); ``present`` masks steps out of the pooling."""
        outputs, _ = self.rnn(seq)  # (batch, steps, 2*hidden)
        return self.bin_attention(outputs, present)


class _LocalScorer(nn.Module):
    """Attention scores of each bin from the reads within ``window`` bins of it: (batch, steps, 1) -> (batch, steps).

    A convolution of the (transformed) reads, tanh, and a learned weighting: a bin's score
    depends on nothing outside its window, so neither does alpha's ranking of bins.
    """

    def __init__(self, window: int, channels: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, channels, window, padding=window // 2)
        self.context = nn.Conv1d(channels, 1, 1, bias=False)

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        return self.context(torch.tanh(self.conv(seq.transpose(1, 2)))).squeeze(1)


def _pool(states: torch.Tensor, scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax of ``scores`` (batch, steps) over steps, and the weighted sum of ``states`` (batch, steps, features)."""
    weights = torch.softmax(scores, dim=1)
    return torch.bmm(weights.unsqueeze(1), states).squeeze(1), weights


class _LocalAttentionEncoder(nn.Module):
    """Attention mode ``local``: a bidirectional LSTM over the bins, pooled by weights scored from local reads."""

    def __init__(self, input_size: int, hidden_size: int, window: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(input_size, hidden_size, num_layers=1, bidirectional=True, batch_first=True)
        self.scorer = _LocalScorer(window)

    def forward(self, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs, _ = self.rnn(seq)
        return _pool(outputs, self.scorer(seq))


class _ConvAttentionEncoder(nn.Module):
    """Attention mode ``conv``: local convolution features of each bin, pooled by attention; no bin-level LSTM.

    The features of a bin, and its score, depend only on the reads within ``window`` bins of it,
    so what alpha weights is what the pooled vector holds.
    """

    def __init__(self, features: int, window: int) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv1d(1, features, window, padding=window // 2), nn.ReLU(), nn.Conv1d(features, features, 1), nn.ReLU())
        self.bin_attention = ContextAttention(features)

    def forward(self, seq: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.features(seq.transpose(1, 2)).transpose(1, 2)  # (batch, steps, features)
        return self.bin_attention(features)


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
    dropout
        Dropout on the mark vectors (the mark-level encoder's input) and on the gene vector (the
        output layer's input) while training. Default 0 (the original has none).
    init_range
        Every parameter starts uniform in (-init_range, init_range). Default 0.1.
    transform
        Input transform applied inside ``forward``: ``none`` (raw counts, as the original) or ``log1p``.
    encoder
        How the per-mark encoders run: ``fast`` (default) runs all marks and both directions in
        one compiled CPU kernel (see :mod:`attentivechrome.models._fast_lstm`); ``reference``
        makes one ``nn.LSTM`` call per mark. Both use the same parameters and give the same
        outputs (to about 1e-6) and gradients. ``fast`` falls back to ``reference`` on a GPU
        (cuDNN), for float64 inputs, when forward hooks sit on the per-mark encoders, or when no
        C++ compiler is available. The choice is not a model parameter: it is not saved in
        checkpoints and can be changed at any time through the ``encoder`` attribute.
    missing_marks
        Accept genes with absent marks: a mark whose every bin is NaN is absent. Its encoder
        output is replaced by a learned "absent" vector of that mark (the mark-level LSTM is told
        the mark is missing rather than shown zeros, which would mean "no reads"), it gets no
        mark-level attention (beta 0) and its alpha is 0. Default False: the original network,
        whose outputs are NaN for such input.
    n_prior
        Reference-prior features per gene read beside the marks (0: none, the original network).
        They join the gene vector after the mark-level attention, and a small network
        (:class:`~attentivechrome.models.reference.PriorHead`) maps both to the output, so alpha and
        beta describe what the marks add to what the prior already says.

    The forward pass takes counts of shape (genes, bins, marks) and returns a
    :class:`ModelOutput` with logits (genes,), alpha (genes, marks, bins) and beta (genes, marks).
    """

    def __init__(
        self,
        n_marks: int = 5,
        *,
        bin_hidden: int = 32,
        mark_hidden: int = 16,
        dropout: float = 0.0,
        init_range: float = 0.1,
        transform: str = "none",
        encoder: Literal["fast", "reference"] = "fast",
        missing_marks: bool = False,
        n_prior: int = 0,
        attention: str = "states",
        attention_window: int = 5,
    ) -> None:
        super().__init__()
        if attention not in ATTENTION_MODES:
            raise ValueError(f"unknown attention {attention!r}; choose one of {', '.join(ATTENTION_MODES)}")
        if isinstance(attention_window, bool) or not isinstance(attention_window, int) or attention_window < 1 or attention_window % 2 == 0:
            raise ValueError(f"attention_window must be an odd positive integer, got {attention_window!r}")
        self.attention, self.attention_window = attention, attention_window
        self.n_marks = n_marks
        self.bin_hidden = bin_hidden
        self.mark_hidden = mark_hidden
        self.transform = transform
        apply_input_transform(torch.zeros(1), transform)  # validate the name early
        if encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {encoder!r}; choose one of {', '.join(ENCODERS)}")
        self.encoder = encoder
        if attention == "states":
            self.rnn_hms = nn.ModuleList(_RecurrentAttentionEncoder(1, bin_hidden) for _ in range(n_marks))
        elif attention == "local":
            self.rnn_hms = nn.ModuleList(_LocalAttentionEncoder(1, bin_hidden, attention_window) for _ in range(n_marks))
        else:
            self.rnn_hms = nn.ModuleList(_ConvAttentionEncoder(2 * bin_hidden, attention_window) for _ in range(n_marks))
        self.hm_level_rnn_1 = _RecurrentAttentionEncoder(2 * bin_hidden, mark_hidden)
        self.n_prior = n_prior
        if not n_prior:
            self.fdiff1_1 = nn.Linear(2 * mark_hidden, 1)
        self.dropout = dropout
        self.drop = nn.Dropout(dropout)  # no parameters: the state_dict stays the original's
        self.missing_marks = missing_marks
        if missing_marks:  # (marks, 2*bin_hidden): what the mark level sees for an absent mark
            self.absent_mark_vectors = nn.Parameter(torch.empty(n_marks, 2 * bin_hidden))
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -init_range, init_range)
        if n_prior:  # built after the uniform draw: the head keeps PyTorch's default initialisation
            self.prior_head = PriorHead(2 * mark_hidden, n_prior)

    def init_params(self) -> dict:
        """The constructor arguments, as saved in checkpoints."""
        params = {"n_marks": self.n_marks, "bin_hidden": self.bin_hidden, "mark_hidden": self.mark_hidden, "transform": self.transform}
        if self.missing_marks:  # only when set, so checkpoints of the original network stay as they were
            params["missing_marks"] = True
        if self.dropout:
            params["dropout"] = self.dropout
        if self.n_prior:
            params["n_prior"] = self.n_prior
        if self.attention != "states":
            params["attention"] = self.attention
            params["attention_window"] = self.attention_window
        return params

    def encode_marks(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-mark encoders: (genes, bins, marks) -> mark vectors (genes, marks, 2*bin_hidden), alpha (genes, marks, bins)."""
        if self.attention == "states" and self.encoder == "fast" and self._fast_path_applies(x):
            return self._encode_marks_fast(x)
        return self._encode_marks_reference(x)

    def _encode_marks_reference(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One ``nn.LSTM`` call and one attention pooling per mark."""
        vectors, alphas = [], []
        for mark, encoder in enumerate(self.rnn_hms):
            pooled, alpha = encoder(x[:, :, mark : mark + 1])  # (genes, bins, 1) -> (genes, 64), (genes, bins)
            vectors.append(pooled)
            alphas.append(alpha)
        return torch.stack(vectors, dim=1), torch.stack(alphas, dim=1)

    def _fast_path_applies(self, x: torch.Tensor) -> bool:
        """Whether the compiled kernel can stand in for the per-mark ``nn.LSTM`` calls on ``x``."""
        return _fast_lstm.applies(x, self.rnn_hms, self.bin_hidden)

    def _encode_marks_fast(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """All marks, both directions and the attention over bins in one kernel call."""
        rnns = [encoder.rnn for encoder in self.rnn_hms]
        contexts = [encoder.bin_attention.bin_context_vector for encoder in self.rnn_hms]
        return _fast_lstm.encode_marks(x, rnns, contexts, recycle=self.training)

    def _output(self, gene_vector: torch.Tensor, prior: torch.Tensor | None) -> torch.Tensor:
        """(genes, 2*mark_hidden) gene vectors (and the prior) -> logits (genes,)."""
        if not self.n_prior:
            return self.fdiff1_1(self.drop(gene_vector)).squeeze(-1)
        return self.prior_head(self.drop(gene_vector), prior)

    def forward(self, x: torch.Tensor, prior: torch.Tensor | None = None) -> ModelOutput:
        if not self.missing_marks:
            x = apply_input_transform(x, self.transform)
            mark_vectors, alpha = self.encode_marks(x)
            gene_vector, beta = self.hm_level_rnn_1(self.drop(mark_vectors))  # (genes, 2*mark_hidden), (genes, marks)
            return ModelOutput(logits=self._output(gene_vector, prior), alpha=alpha, beta=beta)
        missing = torch.isnan(x)
        present = ~missing.all(dim=1)  # (genes, marks): a mark is absent when all its bins are NaN
        x = apply_input_transform(torch.where(missing, torch.zeros_like(x), x), self.transform)
        mark_vectors, alpha = self.encode_marks(x)  # (genes, marks, 2*bin_hidden), (genes, marks, bins)
        mark_vectors = torch.where(present.unsqueeze(-1), mark_vectors, self.absent_mark_vectors.unsqueeze(0))
        alpha = alpha * present.unsqueeze(-1)
        gene_vector, beta = self.hm_level_rnn_1(self.drop(mark_vectors), present)
        return ModelOutput(logits=self._output(gene_vector, prior), alpha=alpha, beta=beta)
