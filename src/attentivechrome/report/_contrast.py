"""Report sections of an ``interpret --contrast`` directory: which marks and bins make genes differ between two cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..interpret.contrast import CONTRAST_NPZ, CONTRAST_TSV
from ..interpret.positions import bin_centres_kb
from . import _figures
from ._page import Page

#: Genes listed by the size of their difference.
TOP_GENES = 25


def contrast_page(out_dir: Path) -> Page:
    """The difference of each gene's predictions between cell A and cell B, split into the marks' and the priors' part, and where it lies."""
    frame = pd.read_csv(out_dir / CONTRAST_TSV, sep="\t", dtype={"gene_id": str})
    with np.load(out_dir / CONTRAST_NPZ) as npz:
        marks = [str(m) for m in npz["marks"]]
        name_a, name_b = (str(c) for c in npz["cells"])
        maps = npz["maps"]  # (genes, marks, bins)
    page = Page(f"Contrast: {name_a} against {name_b}", f"{out_dir} — {len(frame)} genes")
    page.heading("The difference and its parts")
    page.metrics({
        "genes": len(frame),
        f"mean difference ({name_a} - {name_b})": float(frame["difference"].mean()),
        "mean part of the marks": float(frame["marks_part"].mean()),
        "mean part of the two priors": float(frame["prior_part"].mean()),
    })  # fmt: skip
    page.note(
        f"Integrated gradients from each gene's reads in {name_b} to its reads in {name_a}, with {name_a}'s reference prior held fixed: "
        "a gene's map adds up to the marks' part of its difference. Values on the model's output scale (log-odds, or log1p expression)."
    )
    signed = maps.sum(axis=2)  # (genes, marks)
    page.figure(
        {
            "data": [{"type": "bar", "x": marks, "y": np.round(np.abs(signed).mean(axis=0), 6).tolist(), "name": "mean |part|"},
                     {"type": "bar", "x": marks, "y": np.round(signed.mean(axis=0), 6).tolist(), "name": "mean signed part"}],
            "layout": _figures.layout("each mark's part of the difference, over the genes", yaxis={"title": {"text": "part of the difference"}}),
        },
        height=380,
    )  # fmt: skip
    x = bin_centres_kb(maps.shape[2]).round(4).tolist()
    higher = frame["difference"].to_numpy() > 0
    data = []
    for chosen, label in ((higher, f"higher in {name_a}"), (~higher, f"lower in {name_a}")):
        if not chosen.any():
            continue
        for i, mark in enumerate(marks):
            data.append({"type": "scatter", "mode": "lines", "x": x, "y": np.round(maps[chosen, i].mean(axis=0), 6).tolist(), "name": f"{mark} ({label}, n={int(chosen.sum())})"})
    page.figure({"data": data, "layout": _figures.layout("mean map of the genes higher and lower in A, per mark", xaxis={"title": {"text": "kb from the window centre"}})})
    page.heading(f"The {TOP_GENES} genes that differ most")
    top = frame.reindex(frame["difference"].abs().sort_values(ascending=False).index).head(TOP_GENES)
    page.table(top[["gene_id", "output_a", "output_b", "difference", "marks_part", "prior_part", "top_mark"]])
    return page
