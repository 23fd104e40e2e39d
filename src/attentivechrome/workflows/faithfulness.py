"""Measure how faithful a trained model's maps are on real genes (``interpret --faithfulness``'s work, and :func:`attentivechrome.faithfulness`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..data.dataset import HistoneData
from ..interpret.attribution import check_methods
from ..interpret.explain import ExplainOptions, as_histone_data, iter_module_explanations
from ..interpret.faithfulness import DEFAULT_MIN_EFFECT, DEFAULT_STEPS, FAITHFULNESS_METHODS, FaithfulnessResult, applicable_methods
from ..interpret.faithfulness import DEFAULT_BATCH_SIZE as CURVE_BATCH_SIZE
from ..interpret.faithfulness import faithfulness as faithfulness_of_maps
from ..interpret.report import select_genes
from ..trained import TrainedModel, load_model


def faithfulness(
    model: TrainedModel | str | Path,
    data: HistoneData | str | Path,
    methods: str | Sequence[str] | None = None,
    *,
    genes: Sequence[str] | None = None,
    baseline: str = "zero",
    steps: int = DEFAULT_STEPS,
    min_effect: float = DEFAULT_MIN_EFFECT,
    seed: int = 0,
    options: ExplainOptions = ExplainOptions(),
    curve_batch_size: int = CURVE_BATCH_SIZE,
    allow_bin_mismatch: bool = False,
    progress: bool | None = False,
) -> FaithfulnessResult:
    """Deletion and insertion curves of ``model``'s maps of ``data`` (see :mod:`attentivechrome.interpret.faithfulness`).

    The data are checked and prepared by the model once (marks matched by name, normalised per
    cell, its reference prior attached and held fixed); the maps of ``methods`` are computed on
    them (:func:`~attentivechrome.interpret.iter_module_explanations`) and the curves follow the model's
    output on its task's scale (log-odds, or log1p expression). The result always holds a
    ``random`` and an ``input`` row besides the methods.

    Parameters
    ----------
    model
        A :class:`~attentivechrome.trained.TrainedModel`, or the path of a run directory or checkpoint.
    methods
        Names of :data:`~attentivechrome.interpret.METHODS` (a list or a comma-separated string).
        Default: those of :data:`~attentivechrome.interpret.faithfulness.FAITHFULNESS_METHODS` the model supports
        (attention only for a model with attention).
    genes
        Only these gene ids (default: every gene of ``data``).
    baseline, steps, min_effect, seed
        Those of :func:`attentivechrome.interpret.faithfulness.faithfulness`.
    options
        How the maps are computed (:class:`~attentivechrome.interpret.ExplainOptions`); its device
        also runs the curves. Its ``baseline`` is that of the integrated gradients, not of the curves.
    curve_batch_size
        Genes per batch of the curves.
    """
    if isinstance(model, (str, Path)):
        model = load_model(model)
    if not isinstance(model, TrainedModel):
        raise TypeError(f"faithfulness takes a TrainedModel (attentivechrome.load_model(path)) or its path, got {type(model).__name__}")
    data = as_histone_data(data)
    if genes:
        data = select_genes(data, genes)
    prepared = model.prepare(data, allow_bin_mismatch=allow_bin_mismatch)
    chosen = applicable_methods(model.module, prepared) if methods is None else check_methods(methods if isinstance(methods, str) else list(methods))
    maps = maps_of(model, prepared, chosen, options=options, progress=progress)
    return faithfulness_of_maps(
        model.module,
        prepared,
        maps,
        output=model.output_scale,
        baseline=baseline,
        steps=steps,
        min_effect=min_effect,
        batch_size=curve_batch_size,
        device=options.device,
        seed=seed,
        progress=progress,
    )


def maps_of(
    model: TrainedModel, prepared: HistoneData, methods: Sequence[str], *, options: ExplainOptions = ExplainOptions(), progress: bool | None = False
) -> dict[str, np.ndarray]:
    """Each method's map of the prepared data, (genes, marks, bins), in the order of ``methods``."""
    if not methods:
        return {}
    parts: dict[str, list[np.ndarray]] = {m: [] for m in methods}
    for part in iter_module_explanations(model.module, prepared, list(methods), output=model.output_scale, options=options, progress=progress):
        for m in methods:
            parts[m].append(part[m])
    return {m: np.concatenate(v) for m, v in parts.items()}
