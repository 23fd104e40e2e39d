"""Report sections of an ``interpret`` directory: predictions, class averages, and every gene's maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.schema import DEFAULT_BIN_SIZE
from ..interpret.attention import class_legend
from ..interpret.attribution import METHODS
from ..interpret.positions import bin_centres_kb
from ..interpret.report import CLASS_NPZ, MAPS_NPZ, PREDICTIONS_TSV
from . import _figures
from ._limits import DEFAULT_MAX_GENES
from ._genes import GeneSet, choose_genes
from ._page import Page


def interpretation_page(out_dir: Path, *, max_genes: int = DEFAULT_MAX_GENES, genes: list[str] | None = None) -> Page:
    """Prediction quality (with labels), class-average alpha, beta and method profiles, and the gene explorer."""
    with np.load(out_dir / MAPS_NPZ) as npz:
        keys = set(npz.files)
        gene_ids = npz["gene_ids"].astype(str)
        marks = tuple(npz["marks"].astype(str))
        methods = [str(m) for m in npz["methods"]]
        bin_size = int(npz["bin_size"]) if "bin_size" in keys else DEFAULT_BIN_SIZE
        value_key = next(k for k in ("probability", "log1p_expression", "deviation") if k in keys)  # the task's prediction
        regression = value_key != "probability"
        index = choose_genes(gene_ids, max_genes, genes)

        def rows(key):  # the chosen genes of one array (each member is read whole, one at a time)
            return npz[key][index] if key in keys else None

        values = rows(value_key)
        labels = rows("label")
        counts = rows("input")
        alpha, beta = rows("alpha"), rows("beta")
        maps = {m: rows(m) for m in methods if m != "attention" and m in keys}
        spread = {f"spread_{m}": rows(f"spread_{m}") for m in methods if f"spread_{m}" in keys}  # an ensemble's members' spread
        maps.update(spread)
        names = rows("gene_names")  # the symbols featurize recorded for the input, when it did
    page = Page(f"Interpretation: {out_dir.name}", f"{out_dir} — {len(gene_ids)} genes, methods {', '.join(methods)}")

    predictions = pd.read_csv(out_dir / PREDICTIONS_TSV, sep="\t", dtype={"gene_id": str})
    page.heading("Predictions")
    value_name = value_key
    summary = {"genes": len(predictions), "marks": ", ".join(marks), "bins": f"{alpha.shape[2] if alpha is not None else '?'} of {bin_size} bp"}
    if not regression:
        summary["predicted high (P >= 0.5)"] = int((predictions[value_name] >= 0.5).sum())
    page.metrics(summary)
    if "prior" in predictions:  # a reference-informed model: its prior, and the observed values where known
        page.note(
            "The model reads each gene's reference prior (its expression in other cell types) beside the marks; the maps hold the "
            "prior fixed, so they show what the marks add to it. predictions.tsv has the prior, the prediction and the observed value."
        )
        observed = [(c, p) for c, p in (("observed_deviation", "deviation"), ("observed_log1p_expression", "log1p_expression")) if c in predictions and p in predictions]
        for column, predicted in observed:
            known = predictions[column].notna()
            if known.sum() > 1:
                page.figure(_figures.prediction_scatter({"these genes": (predictions.loc[known, column].to_numpy(), predictions.loc[known, predicted].to_numpy())}, f"predicted {predicted}"))
    if "label" in predictions and not regression and predictions["label"].nunique() == 2:
        roc, pr = _figures.roc_pr({"these genes": (predictions["label"].to_numpy(), predictions[value_name].to_numpy())})
        page.figure(roc, height=420)
        page.figure(pr, height=420)

    if (out_dir / CLASS_NPZ).is_file():
        with np.load(out_dir / CLASS_NPZ) as averages:
            by = str(averages["by"])
            n_genes = averages["n_genes"]
            legends = [class_legend(by, c) for c in ("high", "low")]
            page.heading("Class averages")
            page.note(f"Genes grouped by {by}: {int(n_genes[0])} high, {int(n_genes[1])} low.")
            if "alpha" in averages.files:
                page.figure(_figures.class_profiles(averages["alpha"], averages["signal"], marks, n_genes, legends, bin_size, "alpha"))
            if "beta" in averages.files:
                page.figure(_figures.beta_bars(averages["beta"], marks, n_genes, legends), height=380)
            profiles = {m: averages[f"profile_{m}"] for m in methods if f"profile_{m}" in averages.files}
            if len(profiles) > 1:
                page.figure(_method_profiles(profiles, marks, bin_size, legends[0], int(n_genes[0])))

    if counts is None:
        page.heading("Gene search")
        page.note(f"{MAPS_NPZ} holds no input reads (written by an older version); rerun attentivechrome interpret for the gene search.")
        return page
    gene_set = GeneSet(
        gene_ids=gene_ids[index], marks=marks, bin_size=bin_size, values=values,
        value_label=f"predicted {value_key}" if regression else "P(high)", counts=counts, labels=labels, alpha=alpha, beta=beta,
        maps=maps, n_total=len(gene_ids), hint="report --genes ID adds it", names=None if names is None else names.astype(str),
    )  # fmt: skip
    page.heading("Gene search")
    page.note(
        f"{len(index)} of {len(gene_ids)} genes (genes named with --genes first, then file order). Signed maps share one symmetric "
        "scale per gene: red cells push the prediction toward high expression, blue toward low."
    )
    if spread:
        page.note(
            "The model is an ensemble: each map is its members' mean, and the maps named 'spread across members' show the standard deviation "
            "of the members' maps, cell by cell (compare it with the map: where the spread is as large as the map, retrained models disagree)."
        )
    page.gene_explorer(gene_set.payload())
    return page


def _method_profiles(profiles: dict[str, np.ndarray], marks, bin_size: int, legend: str, n: int) -> dict:
    """Every method's class-average profile over the high class, one panel per mark (share of |map| per bin)."""
    n_marks, n_bins = next(iter(profiles.values())).shape[1:]
    x = bin_centres_kb(n_bins, bin_size).round(4).tolist()
    data = []
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
    for i, (method, profile) in enumerate(profiles.items()):
        for j in range(n_marks):
            axis = "" if j == 0 else str(j + 1)
            data.append({"type": "scatter", "mode": "lines", "x": x, "y": np.round(profile[0, j], 6).tolist(), "name": METHODS[method].label if method in METHODS else method,
                         "legendgroup": method, "showlegend": j == 0, "line": {"color": palette[i % len(palette)]}, "xaxis": f"x{axis}", "yaxis": f"y{axis}"})  # fmt: skip
    grid = _figures.layout(f"class-average profile of every method over {legend} genes (n={n}): share of |map| per bin")
    grid["grid"] = {"rows": 1, "columns": n_marks, "pattern": "independent"}
    grid["annotations"] = [{"text": m, "showarrow": False, "xref": f"x{'' if j == 0 else j + 1} domain", "yref": f"y{'' if j == 0 else j + 1} domain",
                              "x": 0.5, "y": 1.1} for j, m in enumerate(marks)]  # fmt: skip
    grid["shapes"] = [{"type": "line", "x0": 0, "x1": 0, "xref": f"x{'' if j == 0 else j + 1}", "yref": f"y{'' if j == 0 else j + 1} domain", "y0": 0, "y1": 1,
                         "line": {"dash": "dash", "width": 1}} for j in range(n_marks)]  # fmt: skip
    for j in range(n_marks):
        grid[f"xaxis{'' if j == 0 else j + 1}"] = {"title": {"text": "kb from TSS"}}
    grid["height"] = 380
    return {"data": data, "layout": grid}
