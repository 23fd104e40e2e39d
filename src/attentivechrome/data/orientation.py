"""Which way a gene's bins run, recorded as data rather than assumed.

``transcript``
    Bins run 5'->3' along the gene: for a minus-strand gene bin 1 is the highest genomic
    coordinate. Negative positions are upstream, positive ones downstream (the Roadmap cells of
    ``../shared/data/roadmap-*`` and ``featurize --orientation stranded``, its default).
``genomic``
    Bins run in increasing genomic coordinate for every gene, whatever its strand (the REMC
    excerpts, the original AttentiveChrome data and its published weights such as E003, and
    ``featurize --orientation genomic``). A positive position is the higher coordinate: downstream
    of a plus-strand gene, upstream of a minus-strand one.
``unknown``
    Nothing says which. Figures then name positions by bin order and never upstream/downstream.

Where it comes from: ``featurize`` records it in its JSON manifest (``parameters.bin_order``; its
``orientation`` parameter says the same in its own words), :func:`recorded_orientation` reads it
back for a CSV, and a headerless CSV without a manifest is ``unknown`` unless the user states it
(``--orientation`` of ``train`` and ``interpret``). A trained model keeps the orientation of its
training data in its checkpoint; the original's weights (``.pt`` state_dicts) are ``genomic``.
"""

from __future__ import annotations

from pathlib import Path

TRANSCRIPT = "transcript"
GENOMIC = "genomic"
UNKNOWN = "unknown"
#: Every orientation a data set or model may record.
ORIENTATIONS: tuple[str, ...] = (TRANSCRIPT, GENOMIC, UNKNOWN)
#: Accepted spellings beyond the names themselves (featurize's option calls 5'->3' "stranded").
_ALIASES = {"stranded": TRANSCRIPT, "5'->3'": TRANSCRIPT, "5to3": TRANSCRIPT}
#: Where a featurize manifest records it (under ``parameters``).
ORIENTATION_KEY = "bin_order"


def check_orientation(value: str | None, *, what: str = "orientation") -> str:
    """``value`` as one of :data:`ORIENTATIONS` (``None`` is ``unknown``; ``stranded`` is ``transcript``).

    >>> check_orientation("stranded"), check_orientation(None)
    ('transcript', 'unknown')

    Raises
    ------
    ValueError
        For any other value.
    """
    if value is None:
        return UNKNOWN
    name = _ALIASES.get(str(value).strip().lower(), str(value).strip().lower())
    if name not in ORIENTATIONS:
        raise ValueError(f"{what} must be one of {', '.join(ORIENTATIONS)}, got {value!r}")
    return name


def recorded_orientation(path: str | Path | None) -> str:
    """The bin order that ``featurize`` recorded for a CSV or data directory; ``unknown`` without a manifest."""
    from .gene_names import recorded_manifest

    parameters = recorded_manifest(path).get("parameters")
    if not isinstance(parameters, dict):
        return UNKNOWN
    for key in (ORIENTATION_KEY, "orientation"):  # manifests written before bin_order carry featurize's own word
        try:
            value = check_orientation(parameters.get(key))
        except ValueError:
            continue
        if value != UNKNOWN:
            return value
    return UNKNOWN


def resolve_orientation(stated: str | None, model: str = UNKNOWN, data: str = UNKNOWN) -> tuple[str, str | None]:
    """The orientation to use: the one ``stated`` by the user, else the model's, else the data's.

    Returns the orientation and a warning (or ``None``) when the model and the data record
    different known orientations: the model then reads the data the wrong way round for the
    minus-strand genes.

    >>> resolve_orientation(None, "genomic", "unknown")
    ('genomic', None)
    >>> resolve_orientation(None, "genomic", "transcript")[1] is not None
    True
    """
    stated_value = check_orientation(stated) if stated is not None else UNKNOWN
    model, data = check_orientation(model), check_orientation(data)
    warning = None
    if UNKNOWN not in (model, data) and model != data:
        warning = (
            f"the model was trained on bins in {model} order but the data list them in {data} order: "
            "minus-strand genes are read the wrong way round"
        )
    for value in (stated_value, model, data):
        if value != UNKNOWN:
            return value, warning
    return UNKNOWN, warning


def position_label(orientation: str, *, unit: str = "kb") -> str:
    """The axis label of positions in a window centred on the TSS, for data of this orientation.

    >>> position_label("genomic")
    'genomic position relative to the TSS (kb)'
    """
    orientation = check_orientation(orientation)
    if orientation == GENOMIC:
        return f"genomic position relative to the TSS ({unit})"
    if orientation == TRANSCRIPT:
        return f"position relative to the TSS ({unit}, 5'->3'; < 0 upstream)"
    return f"position relative to the TSS ({unit}, bin order of the input)"


def describe(orientation: str) -> str:
    """One sentence for summaries: what a position means for this orientation."""
    orientation = check_orientation(orientation)
    if orientation == GENOMIC:
        return "genomic (bins in increasing coordinate for every gene, whatever its strand): positions are genomic offsets from the TSS, not distances along the gene"
    if orientation == TRANSCRIPT:
        return "transcript (bins 5'->3' along each gene): negative positions are upstream of the TSS, positive ones downstream"
    return "unknown (nothing records it; state it with --orientation): positions follow the input's bin order"
