"""Write the interpretation directory of a trained model (the ``interpret`` command's work)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

from ..data.dataset import HistoneData
from ..data.orientation import resolve_orientation
from ..interpret.explain import as_histone_data
from ..interpret.report import InterpretationResult, select_genes, write_interpretation
from ..trained import TrainedModel


def interpret_model(
    model: TrainedModel,
    data: HistoneData | str | Path,
    out_dir: str | Path,
    *,
    genes: Sequence[str] | None = None,
    allow_bin_mismatch: bool = False,
    orientation: str | None = None,
    **options,
) -> InterpretationResult:
    """Explain ``data`` (or the ``genes`` named) with ``model`` and write the maps, pictures and summary to ``out_dir``.

    The data are checked and prepared by the model (marks matched by name, normalised per cell,
    its reference prior attached); predictions and maps are on its task's scale. ``options`` are
    those of :func:`attentivechrome.interpret.write_interpretation`.

    The bins' orientation is ``orientation`` when given, else the model's (what its training data
    recorded; ``genomic`` for the original's weights), else the data's; a model and data that
    record different orientations are warned about.

    Raises
    ------
    ModelDataMismatchError
        When the data do not fit the model (:meth:`~attentivechrome.trained.TrainedModel.check`).
    """
    if not isinstance(model, TrainedModel):
        raise TypeError(f"interpret_model takes a TrainedModel (attentivechrome.load_model(path)), got {type(model).__name__}")
    data = as_histone_data(data)
    orientation, clash = resolve_orientation(orientation, model.orientation, data.orientation)
    if clash:
        warnings.warn(clash, stacklevel=2)
    if genes:  # chosen before preparing: a normalised model takes the cell's statistics from the genes explained
        data = select_genes(data, genes)
    prepared = model.prepare(data, allow_bin_mismatch=allow_bin_mismatch)
    return write_interpretation(model.module, prepared, out_dir, output=model.output_scale, genes=genes, orientation=orientation, **options)
