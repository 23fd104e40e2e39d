"""The gene explorer's data: per gene, its input, alpha, beta, every map, its prediction and label.

Arrays are (genes, marks, bins) float32 and travel to the page as base64 blocks, so a report of
500 genes with five maps stays near 10 MB. Which genes a report holds: the ones named first,
then the others in file order, up to ``max_genes`` (default 500).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..interpret.attribution import METHODS
from ..interpret.positions import POSITION_LABEL, bin_centres_kb
from ._page import float32_base64


@dataclass
class GeneSet:
    """What the explorer shows for each gene; arrays are (genes, marks, bins) unless said."""

    gene_ids: np.ndarray
    marks: tuple[str, ...]
    bin_size: int
    values: np.ndarray  # (genes,) probability of high expression, or predicted log1p expression
    value_label: str
    counts: np.ndarray  # raw reads
    labels: np.ndarray | None = None
    alpha: np.ndarray | None = None
    beta: np.ndarray | None = None  # (genes, marks)
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    n_total: int = 0  # genes in the source, of which these were chosen
    hint: str = ""  # how to get a gene that is not here
    names: np.ndarray | None = None  # (genes,) symbols ("" where unknown), when the data recorded them

    def payload(self) -> dict:
        """The JSON-ready block the page script reads."""
        arrays = {"signal": float32_base64(np.log1p(self.counts.astype(np.float32)))}
        if self.alpha is not None:
            arrays["alpha"] = float32_base64(self.alpha)
        if self.beta is not None:
            arrays["beta"] = float32_base64(self.beta)
        methods = []
        for name, values in self.maps.items():
            info = METHODS.get(name)
            arrays[f"map_{name}"] = float32_base64(np.nan_to_num(values, nan=0.0))
            of = METHODS.get(name.removeprefix("spread_")) if name.startswith("spread_") else None
            if of is not None:  # an ensemble's spread of a method's map: unsigned, a standard deviation
                methods.append({"name": name, "label": f"{of.label}: spread across members", "signed": False, "unit": "std"})
                continue
            methods.append({"name": name, "label": info.label if info else name, "signed": bool(info.signed if info else np.nanmin(values) < 0),
                            "unit": "|gradient|" if name == "saliency" else "value"})  # fmt: skip
        n_bins = self.counts.shape[2]
        return {
            "ids": [str(g) for g in self.gene_ids],
            "names": None if self.names is None or not any(self.names) else [str(n) for n in self.names],
            "marks": list(self.marks),
            "x": bin_centres_kb(n_bins, self.bin_size).round(4).tolist(),
            "x_label": POSITION_LABEL,
            "values": np.asarray(self.values, dtype=float).round(5).tolist(),
            "value_label": self.value_label,
            "labels": None if self.labels is None else [int(v) for v in self.labels],
            "label_text": ["label: low", "label: high"],
            "arrays": arrays,
            "methods": methods,
            "missing_hint": self.hint,
        }


def choose_genes(gene_ids: np.ndarray, max_genes: int, wanted: Sequence[str] | None = None) -> np.ndarray:
    """Positions of the genes a report holds: ``wanted`` first (in that order), then file order, ``max_genes`` in all.

    Raises
    ------
    ValueError
        When a wanted gene is not among ``gene_ids``.
    """
    ids = np.asarray(gene_ids, dtype=str)
    position = {g: i for i, g in enumerate(ids)}
    wanted = list(dict.fromkeys(wanted or []))
    missing = [g for g in wanted if g not in position]
    if missing:
        raise ValueError(f"{len(missing)} requested gene(s) are not in the directory's genes: {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
    chosen = [position[g] for g in wanted]
    taken = set(chosen)
    for i in range(len(ids)):
        if len(chosen) >= max(max_genes, len(wanted)):
            break
        if i not in taken:
            chosen.append(i)
    return np.asarray(chosen, dtype=np.int64)
