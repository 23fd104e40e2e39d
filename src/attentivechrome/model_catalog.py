"""The model names, each one's class and one line about it: plain data, no PyTorch.

The command line lists and checks model names from here at start-up, and the training settings
(:mod:`attentivechrome.config`) check a model name here; the classes themselves are in
:mod:`attentivechrome.models` (:mod:`attentivechrome.models.registry` maps names to them).
"""

from __future__ import annotations

from typing import NamedTuple


class ModelEntry(NamedTuple):
    """A registered model's class name and what it is, in one line."""

    cls: str
    description: str
    #: Fitted once by scikit-learn (no epochs): the training-loop settings do not apply.
    fitted_once: bool = False


#: Every model the package can build, by name, in the order tables list them.
MODEL_CATALOG: dict[str, ModelEntry] = {
    "attentivechrome": ModelEntry("AttentiveChrome", "The AttentiveChrome network."),
    "lstm": ModelEntry("LSTMBaseline", "A bidirectional LSTM over bins with the marks as input features, no attention."),
    "lstm-alpha": ModelEntry("LSTMAlpha", "Per-mark bidirectional LSTMs with bin-level attention; mark vectors concatenated."),
    "cnn-attn": ModelEntry("CNNAttention", "Convolution over bins (marks as channels) pooled by attention over bin positions."),
    "cnn-alpha-beta": ModelEntry("CNNAlphaBeta", "Per-mark convolutions with bin-level attention (alpha) and mark-level attention (beta)."),
    "deepchrome": ModelEntry("DeepChrome", "DeepChrome's CNN: convolution over bins, max-pooling, dropout, fully connected layers."),
    "transformer": ModelEntry("TransformerBaseline", "Transformer encoder over bins with mark embeddings and attention pooling."),
    "linear": ModelEntry("LinearBaseline", "Logistic regression (classification) or ridge regression (regression) on per-mark log1p features.", True),
    "gbt": ModelEntry("GradientBoostingBaseline", "scikit-learn gradient-boosted trees on per-mark log1p features, evaluated in torch.", True),
    "prior": ModelEntry("PriorBaseline", "The gene prior alone (needs --reference-expression): trees on each gene's expression in other cell types, no marks.", True),
}

#: Models that read the reference prior only, never the marks.
PRIOR_ONLY_MODELS: tuple[str, ...] = ("prior",)


def available_models() -> list[str]:
    """Names accepted by :func:`~attentivechrome.models.get_model`, sorted."""
    return sorted(MODEL_CATALOG)


def check_model_name(name: str) -> str:
    """Return ``name`` if it is a registered model; raise ValueError listing the valid ones otherwise."""
    if name not in MODEL_CATALOG:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(available_models())}")
    return name


#: Models built of LSTMs: the ones ``forget_bias`` applies to.
RECURRENT_MODELS: tuple[str, ...] = ("attentivechrome", "lstm", "lstm-alpha")

#: Models that can be told a mark is absent (trained with ``mark_dropout``, or pooled over cells with other marks).
MISSING_MARK_MODELS: tuple[str, ...] = ("attentivechrome",)

#: How AttentiveChrome's bin-level attention (alpha) scores a bin, by name, with one line each.
#: ``states`` is the original network; the others keep alpha on the reads near the bin.
ATTENTION_MODES: dict[str, str] = {
    "states": "Scores from the bin's bidirectional-LSTM state (the original): each state summarises the whole window.",
    "local": "Scores from a convolution over the mark's own reads within --attention-window bins; they pool the LSTM states.",
    "conv": "No bin-level LSTM: alpha pools local convolution features of the mark's reads (window --attention-window bins).",
}

#: Models whose bin-level attention ``attention`` and ``attention_entropy`` apply to.
ATTENTION_MODELS: tuple[str, ...] = ("attentivechrome",)
