"""Stability across retraining of trained models: explain the same genes with each, compare the maps."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data.dataset import HistoneData
from ..interpret.attribution import METHODS, check_methods
from ..interpret.explain import ExplainOptions, as_histone_data
from ..interpret.report import select_genes
from ..interpret.stability import StabilityResult, stability
from ..trained import TrainedModel

#: The methods compared by default: DeepLift is left out (on these models it equals input x gradient).
STABILITY_METHODS: tuple[str, ...] = ("attention", "saliency", "input_x_gradient", "integrated_gradients", "occlusion")


def choose_genes(data: HistoneData, *, genes: Sequence[str] | None = None, max_genes: int | None = None, seed: int = 0) -> HistoneData:
    """The genes named (in that order), else a seeded random ``max_genes`` of them in file order, else all.

    Raises
    ------
    ValueError
        When a named gene is not in the data, or ``max_genes`` is below 1.
    """
    if genes:
        return select_genes(data, genes)
    if max_genes is None or max_genes >= data.n_genes:
        return data
    if max_genes < 1:
        raise ValueError(f"max_genes must be at least 1, got {max_genes}")
    chosen = np.sort(np.random.default_rng(seed).choice(data.n_genes, size=max_genes, replace=False))
    return data.subset(chosen)


def has_attention(model: TrainedModel, data: HistoneData) -> bool:
    """Whether ``model`` gives alpha (one gene's forward pass of ``data``)."""
    return model.predict(data.subset(np.arange(1)), with_attention=True).alpha is not None


def model_stability(
    models: Sequence[TrainedModel],
    data: HistoneData | str,
    methods: str | Sequence[str] | None = None,
    *,
    names: Sequence[str] | None = None,
    genes: Sequence[str] | None = None,
    max_genes: int | None = None,
    seed: int = 0,
    allow_bin_mismatch: bool = False,
    signed: bool = False,
    options: ExplainOptions = ExplainOptions(),
    progress: bool | None = None,
) -> StabilityResult:
    """Explain the same genes with every model (each preparing the data its own way) and compare the maps.

    ``methods`` default to :data:`STABILITY_METHODS`, less the attention methods when a model has
    no attention; named explicitly, a method some model cannot give is an error. ``options``
    (:class:`~attentivechrome.interpret.ExplainOptions`) and ``progress`` are those of :meth:`TrainedModel.explain`;
    ``signed`` ranks the signed maps instead of |map| (:func:`~attentivechrome.interpret.stability.stability`).

    Raises
    ------
    TypeError
        When a model is not a :class:`TrainedModel`.
    ValueError
        With fewer than two models, an unknown method or gene.
    """
    models = list(models)
    for model in models:
        if not isinstance(model, TrainedModel):
            raise TypeError(f"model_stability takes TrainedModels (attentivechrome.load_model(path)), got {type(model).__name__}")
    if len(models) < 2:
        raise ValueError(f"stability compares at least two models, got {len(models)}")
    data = choose_genes(as_histone_data(data), genes=genes, max_genes=max_genes, seed=seed)
    if methods is None:
        attention = all(has_attention(m, data) for m in models)
        chosen = tuple(m for m in STABILITY_METHODS if attention or METHODS[m].family != "attention")
    else:
        chosen = check_methods(methods if isinstance(methods, str) else list(methods))
    explanations = [
        model.explain(data, chosen, allow_bin_mismatch=allow_bin_mismatch, stats_from=None, options=options, progress=progress) for model in models
    ]
    return stability(explanations, chosen, names=names or [model.source or f"model{i + 1}" for i, model in enumerate(models)], signed=signed)
