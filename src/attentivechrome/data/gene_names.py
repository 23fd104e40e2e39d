"""Gene symbols that ``featurize`` recorded beside the CSVs it wrote (``gene_names`` in its manifest).

The AttentiveChrome CSV holds gene ids only. When ``featurize`` read an annotation that names the
genes (a GTF's ``gene_name``), its JSON manifest maps each featurized id to its symbol; reports and
interpretations show the symbols of any CSV written that way, and nothing for other files.
"""

from __future__ import annotations

import json
from pathlib import Path

#: The manifest of a split output directory (``out/featurize.json``).
FEATURIZE_MANIFEST = "featurize.json"
#: The manifest's field mapping gene id -> symbol.
GENE_NAMES_KEY = "gene_names"
#: The manifest's field mapping gene id -> ``[chrom, tss_0based, strand]``.
COORDINATES_KEY = "gene_coordinates"
#: The manifest's ``tool`` field, which tells it from any other JSON beside a CSV.
FEATURIZE_TOOL = "attentivechrome featurize"


def single_file_manifest(csv_path: str | Path) -> Path:
    """The manifest of a single-CSV output: ``x.csv`` (or ``x.csv.gz``) -> ``x.json`` beside it."""
    path = Path(csv_path)
    name = path.name
    for suffix in (".gz", ".csv", ".tsv", ".txt"):
        name = name.removesuffix(suffix)
    return path.with_name(name + ".json")


def recorded_manifest(path: str | Path | None) -> dict:
    """The JSON manifest ``featurize`` wrote for a CSV or a data directory, or ``{}``.

    Looks for the manifest of a split directory (the CSV's folder, or the folder above a
    ``classification/`` one) and of a single CSV (``x.json`` beside ``x.csv``). Empty when there is
    none or when it cannot be read (what it records is a convenience: a damaged manifest never
    stops the work).
    """
    if not path:
        return {}
    path = Path(path)
    if path.is_dir():
        candidates = [path / FEATURIZE_MANIFEST, path.parent / FEATURIZE_MANIFEST]
    else:
        candidates = [path.parent / FEATURIZE_MANIFEST, single_file_manifest(path), path.parent.parent / FEATURIZE_MANIFEST]
    for candidate in candidates:
        if candidate == path or not candidate.is_file():
            continue
        try:
            manifest = json.loads(candidate.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and manifest.get("tool") == FEATURIZE_TOOL:
            return manifest
    return {}


def recorded_gene_names(path: str | Path | None) -> dict[str, str]:
    """The symbols ``featurize`` recorded for the genes of a CSV or a data directory: ``{gene_id: symbol}``.

    Empty when there is no manifest (:func:`recorded_manifest`) or it records no symbols.
    """
    names = recorded_manifest(path).get(GENE_NAMES_KEY)
    if isinstance(names, dict):
        return {str(k): v for k, v in names.items() if isinstance(v, str) and v}
    return {}
