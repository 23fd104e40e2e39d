"""Stability across retraining: do models trained alike (other seeds) explain the same gene the same way?

Given explanations of the same genes from two or more models (:class:`~.explain.Explanation`),
for each method and each pair of models:

- **map rank correlation**: per gene, the Spearman rank correlation of the two maps' magnitudes
  (|map|: which cells matter, whatever the direction, as deletion curves rank them; alpha for
  attention) over the gene's marks x bins cells; ``signed=True`` ranks the signed values instead;
- **mark-score rank correlation**: per gene, the Spearman correlation of the two models' mark
  scores (:meth:`~.explain.Explanation.mark_scores`: beta for attention, the share of
  |attribution| per mark for the others) over the marks;

each averaged over the model pairs per gene, then over genes, with a normal 95% interval over
genes (:func:`~.scoring.mean_and_interval`). A gene whose map is constant in one model (no
ranking) counts as missing for that pair. Beside them, the Pearson correlation of the models'
predictions (log-odds, or predicted values) over the genes, averaged over pairs. Every
correlation is computed for all genes at once (:func:`~.scoring.rowwise_spearman`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_open, move_files, staging_directory, write_text_atomic
from .attribution import METHODS
from .explain import Explanation
from .scoring import mean_and_interval, rowwise_pearson, rowwise_spearman

#: The columns of ``stability.tsv``, in order.
COLUMNS = (
    "method",
    "map_rank_correlation",
    "map_ci_low",
    "map_ci_high",
    "mark_score_rank_correlation",
    "mark_score_ci_low",
    "mark_score_ci_high",
    "n_genes",
    "n_pairs",
    "prediction_correlation",
)

STABILITY_TSV = "stability.tsv"
GENES_TSV = "stability_genes.tsv"
SUMMARY = "stability.md"
FIGURE = "stability.png"


@dataclass
class StabilityResult:
    """The stability of each method's maps across models.

    Attributes
    ----------
    table
        One row per method with :data:`COLUMNS`.
    gene_ids
        The genes compared, shape (genes,).
    per_gene
        Method -> ``{"map": (genes,), "mark_scores": (genes,)}``: each gene's rank correlations,
        averaged over the model pairs (NaN where no pair ranks the gene).
    prediction_correlation
        Pearson correlation of the models' predictions over the genes, averaged over pairs.
    models
        Names of the models compared, in order.
    """

    table: pd.DataFrame
    gene_ids: np.ndarray
    per_gene: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    prediction_correlation: float = float("nan")
    models: tuple[str, ...] = ()
    #: Whether the maps' signed values were ranked (else their magnitudes).
    signed: bool = False

    def to_markdown(self) -> str:
        """The table as markdown: each correlation with its 95% interval over genes."""
        lines = ["| method | map rank correlation (95% CI) | mark-score rank correlation (95% CI) | genes | model pairs |", "|---|---|---|---|---|"]
        for row in self.table.itertuples(index=False):
            label = METHODS[row.method].label if row.method in METHODS else row.method
            lines.append(
                f"| {label} | {_cell(row.map_rank_correlation, row.map_ci_low, row.map_ci_high)} "
                f"| {_cell(row.mark_score_rank_correlation, row.mark_score_ci_low, row.mark_score_ci_high)} | {row.n_genes} | {row.n_pairs} |"
            )
        lines.append("")
        lines.append(f"Predictions (log-odds, or predicted values) correlate at Pearson {self.prediction_correlation:.3f} between the models (mean over pairs).")
        return "\n".join(lines) + "\n"


def _cell(value: float, low: float, high: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.3f} ({low:.3f} to {high:.3f})"


def stability(
    explanations: Sequence[Explanation], methods: Sequence[str] | None = None, *, names: Sequence[str] | None = None, signed: bool = False
) -> StabilityResult:
    """Rank correlations of the maps and mark scores of the same genes across two or more models.

    Parameters
    ----------
    explanations
        One :class:`Explanation` per model, of the same genes (matched by id; genes not in every
        explanation are left out, in the first explanation's order).
    methods
        The methods to compare; default every method all the explanations hold.
    names
        Names of the models, for the record. Default ``model1``, ``model2``, ...
    signed
        Rank the maps' signed values instead of their magnitudes (|map|, the default: whether the
        models agree on which cells matter, whatever the direction). Near-zero cells of opposite
        sign then count as disagreement, so signed correlations are lower. Default False.

    Raises
    ------
    ValueError
        With fewer than two explanations, no gene or no method in common, a method some
        explanation lacks, or maps of different shapes.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> def ex(values):
    ...     return Explanation(np.array(["a", "b", "c"]), ("m1", "m2"), ("saliency",), values.sum(axis=(1, 2)), None, {"saliency": values})
    >>> base = rng.random((3, 2, 4))
    >>> result = stability([ex(base), ex(2 * base)])
    >>> float(result.table.loc[0, "map_rank_correlation"])
    1.0
    >>> float(stability([ex(base), ex(-base)], signed=True).table.loc[0, "map_rank_correlation"])
    -1.0
    """
    explanations = list(explanations)
    if len(explanations) < 2:
        raise ValueError(f"stability compares at least two models' explanations, got {len(explanations)}")
    names = tuple(names) if names is not None else tuple(f"model{i + 1}" for i in range(len(explanations)))
    if len(names) != len(explanations):
        raise ValueError(f"{len(names)} names for {len(explanations)} explanations")
    held = [set(e.maps) for e in explanations]
    if methods is None:
        methods = [m for m in explanations[0].methods if all(m in h for h in held)]
        if not methods:
            raise ValueError("the explanations hold no method in common")
    else:
        methods = list(methods)
        for name, h in zip(names, held):
            lacking = [m for m in methods if m not in h]
            if lacking:
                raise ValueError(f"{name}: its explanation has no {', '.join(lacking)} map; it holds {', '.join(sorted(h)) or 'none'}")
    aligned = _aligned(explanations, names)
    gene_ids = aligned[0].gene_ids
    pairs = list(combinations(range(len(aligned)), 2))
    rows, per_gene = [], {}
    predictions = np.stack([np.asarray(e.logits, dtype=np.float64) for e in aligned])  # (models, genes)
    prediction_r = float(np.nanmean(rowwise_pearson(predictions[[i for i, _ in pairs]], predictions[[j for _, j in pairs]]))) if len(gene_ids) > 1 else float("nan")
    for method in methods:
        flat = [e[method].reshape(e.n_genes, -1) for e in aligned]  # (genes, marks, bins) -> (genes, marks*bins)
        flat = flat if signed else [np.abs(f) for f in flat]
        shapes = {f.shape for f in flat}
        if len(shapes) > 1:
            raise ValueError(f"the {method} maps have different shapes across models: {', '.join(str(s) for s in shapes)}")
        scores = [e.mark_scores(method) for e in aligned]
        map_r = np.stack([rowwise_spearman(flat[i], flat[j]) for i, j in pairs])  # (pairs, genes)
        mark_r = np.stack([rowwise_spearman(scores[i], scores[j]) for i, j in pairs])
        with np.errstate(invalid="ignore"), _quiet_empty_mean():
            gene_map, gene_mark = np.nanmean(map_r, axis=0), np.nanmean(mark_r, axis=0)
        per_gene[method] = {"map": gene_map, "mark_scores": gene_mark}
        map_mean, map_half, n_map = mean_and_interval(gene_map)
        mark_mean, mark_half, _ = mean_and_interval(gene_mark)
        rows.append(
            {
                "method": method,
                "map_rank_correlation": float(map_mean), "map_ci_low": float(map_mean - map_half), "map_ci_high": float(map_mean + map_half),
                "mark_score_rank_correlation": float(mark_mean), "mark_score_ci_low": float(mark_mean - mark_half),
                "mark_score_ci_high": float(mark_mean + mark_half), "n_genes": int(n_map), "n_pairs": len(pairs), "prediction_correlation": prediction_r,
            }
        )  # fmt: skip
    return StabilityResult(table=pd.DataFrame(rows, columns=list(COLUMNS)), gene_ids=gene_ids, per_gene=per_gene, prediction_correlation=prediction_r, models=names, signed=signed)


class _quiet_empty_mean:
    """Silence NumPy's "Mean of empty slice" for genes no pair ranks (their mean is NaN, as wanted)."""

    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.filterwarnings("ignore", message="Mean of empty slice", category=RuntimeWarning)

    def __exit__(self, *exc):
        return self._catch.__exit__(*exc)


def _aligned(explanations: list[Explanation], names: Sequence[str]) -> list[Explanation]:
    """The explanations restricted to the genes all of them hold, in the first one's order."""
    ids = [np.asarray(e.gene_ids, dtype=str) for e in explanations]
    if all(len(i) == len(ids[0]) and np.array_equal(i, ids[0]) for i in ids):
        return explanations
    common = set(ids[0]).intersection(*map(set, ids[1:]))
    if not common:
        raise ValueError(f"the explanations of {', '.join(names)} share no gene id")
    order = [g for g in ids[0] if g in common]
    result = []
    for e, gene_ids in zip(explanations, ids):
        position = pd.Index(gene_ids).get_indexer(order)
        result.append(e.subset(position))
    return result


def write_stability(result: StabilityResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``stability.tsv`` (:data:`COLUMNS`), ``stability_genes.tsv`` (per gene and method), ``stability.md`` and ``stability.png``.

    Everything is written in a staging directory and moved into ``out_dir`` at the end, so a
    failure leaves nothing half-written.
    """
    final = Path(out_dir)
    with staging_directory(final) as out:
        with atomic_open(out / STABILITY_TSV, "w", encoding="utf-8", newline="") as handle:
            result.table.to_csv(handle, sep="\t", index=False, float_format="%.6g")
        genes = pd.concat(
            [
                pd.DataFrame({"gene_id": result.gene_ids, "method": method, "map_rank_correlation": v["map"], "mark_score_rank_correlation": v["mark_scores"]})
                for method, v in result.per_gene.items()
            ],
            ignore_index=True,
        )
        with atomic_open(out / GENES_TSV, "w", encoding="utf-8", newline="") as handle:
            genes.to_csv(handle, sep="\t", index=False, float_format="%.6g")
        figure = plot_stability(result)
        figure.savefig(out / FIGURE, dpi=120)
        text = [
            f"# Stability of the maps across {len(result.models)} models",
            "",
            "Models: " + ", ".join(f"`{m}`" for m in result.models),
            f"Genes: {len(result.gene_ids)}.",
            "",
            "Per gene: Spearman rank correlation of two models' maps (their " + ("signed values" if result.signed else "magnitudes, |map|") + ") over the gene's marks x bins cells, and of their mark scores "
            "(beta for attention, share of |attribution| per mark otherwise) over the marks; averaged over model pairs, then over genes "
            "(95% interval over genes).",
            "",
            result.to_markdown(),
        ]
        write_text_atomic(out / SUMMARY, "\n".join(text))
        move_files(out, final)
    return {"table": final / STABILITY_TSV, "genes": final / GENES_TSV, "summary": final / SUMMARY, "figure": final / FIGURE}


def plot_stability(result: StabilityResult):
    """Bars of each method's map and mark-score rank correlation across models, with 95% intervals over genes."""
    from matplotlib.figure import Figure

    table = result.table
    labels = [METHODS[m].label if m in METHODS else m for m in table["method"]]
    x = np.arange(len(table))
    fig = Figure(figsize=(1.2 * len(table) + 3.0, 3.6), layout="constrained")
    ax = fig.subplots()
    width = 0.38
    for offset, (what, column, low, high, colour) in enumerate(
        (
            ("map (marks x bins)", "map_rank_correlation", "map_ci_low", "map_ci_high", "tab:blue"),
            ("mark scores", "mark_score_rank_correlation", "mark_score_ci_low", "mark_score_ci_high", "tab:orange"),
        )
    ):
        values = table[column].to_numpy(dtype=float)
        errors = np.vstack([values - table[low].to_numpy(dtype=float), table[high].to_numpy(dtype=float) - values])
        ax.bar(x + (offset - 0.5) * width, values, width, yerr=np.nan_to_num(errors), capsize=3, color=colour, label=what)
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_xticks(x, labels, rotation=20, ha="right")
    ax.set_ylabel("per-gene rank correlation across models")
    ax.set_ylim(min(0.0, float(np.nanmin(table[["map_ci_low", "mark_score_ci_low"]].to_numpy(dtype=float), initial=0.0)) - 0.05), 1.0)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    ax.set_title(f"{len(result.models)} models, {len(result.gene_ids)} genes; predictions correlate at {result.prediction_correlation:.3f}", fontsize=9)
    return fig
