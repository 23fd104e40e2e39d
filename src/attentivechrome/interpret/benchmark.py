"""Ground-truth benchmark: which map finds the signal the simulator planted?

The simulator (:mod:`attentivechrome.data.synthetic`) records, for every gene, the
(mark, bin) cells that carry a feature driving expression (``mask``) and how much each
mark contributes (``mark_weight``). Each method's map is scored per gene:

- bin level: AUROC and AUPR of |map| at separating planted cells from the rest, over
  all marks x bins of the gene, and over the bins of each mark on its own;
- mark level: Spearman correlation between the method's per-mark scores (beta for
  attention, the share of |attribution| for the others) and ``mark_weight``, and how often
  the top-scored mark is a top-weighted one.

Scores are averaged over genes with a normal 95% interval. Two reference maps are scored
the same way: ``random`` (uniform noise, the floor) and ``input_signal`` (the raw counts:
what a map gets by following the reads, without the model).

On data simulated with ``rules="cooperative"`` the benchmark also scores cooperation and
position (:func:`score_cooperation`):

- pair AUROC, per cooperating pair, over the genes where the pair's rule is active: the share
  of (pair mark, non-causal mark) comparisons the pair mark wins in the method's mark scores
  (1: both marks above every mark that does nothing in that gene; 0.5: chance);
- partner effect, for a pair whose second mark counts only with the first (gene-body H3K36me3
  needs promoter H3K4me3): the second mark's rank against the gene's non-causal marks (an AUROC
  within the gene, as above) in genes where its partner is there, minus the same rank in genes
  where it is planted alone (and does nothing), divided by 0.5. A map that follows the rule
  ranks the mark first with its partner and among the idle marks without (1); a map that
  ignores the partner ranks it the same either way (0: random maps and the reads);
- window share, per position rule, over the genes where the rule is active and a decoy of the
  same mark was planted outside the window: the share of the mark's |map| inside the window
  (1: the map ignores the decoy; chance: the window's share of the bins).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from .._io import atomic_open, atomic_path, write_text_atomic
from ..data.dataset import HistoneData
from ..data.schema import MARKS
from ..data.synthetic import GroundTruth
from .attribution import METHODS, check_methods
from .explain import ExplainOptions, OutputScale, as_histone_data, iter_module_explanations, mark_shares, require_module
from .scoring import mean_and_interval, score_bins, score_marks, score_pair, window_share

#: Reference maps scored beside the methods: name -> display label.
REFERENCES: dict[str, str] = {"random": "Random map (floor)", "input_signal": "Input signal (no model)"}

#: Per-gene scores kept for each method, and the table column of each.
_SUMMARY_COLUMNS = {"auroc": "bin_auroc", "aupr": "bin_aupr", "spearman": "mark_spearman", "top_mark": "top_mark"}


@dataclass(frozen=True)
class GroundTruthBenchmark:
    """Scores of every method on the benchmark genes.

    Attributes
    ----------
    table
        One row per method (index: method name) with ``label``, ``family``, ``n_genes``,
        ``bin_auroc``, ``bin_aupr``, ``mark_spearman``, ``top_mark`` (each with a ``_ci``
        column: the 95% half-width), and ``auroc_<mark>`` / ``aupr_<mark>`` per mark (NaN for
        a mark without planted cells).
    per_gene
        Method -> score name -> per-gene array (``auroc``, ``aupr``, ``spearman``, ``top_mark``:
        (genes,); ``auroc_per_mark``, ``aupr_per_mark``: (genes, marks)).
    gene_ids
        The genes scored.
    marks
        Mark names.
    model_auroc
        The model's AUROC on these genes (NaN when undefined).
    convergence_delta
        Method -> (genes,) completeness gap, for integrated gradients and DeepLift.
    cooperation
        On data simulated with cooperative rules: one row per method with the pair, partner and
        window scores (:func:`score_cooperation`); None for additive rules.
    """

    table: pd.DataFrame
    per_gene: dict[str, dict[str, np.ndarray]]
    gene_ids: np.ndarray
    marks: tuple[str, ...]
    model_auroc: float
    convergence_delta: dict[str, np.ndarray] = field(default_factory=dict)
    cooperation: pd.DataFrame | None = None

    def best_method(self) -> str:
        """The non-reference method with the highest bin-level AUROC."""
        candidates = self.table[self.table["family"] != "reference"]
        return str(candidates["bin_auroc"].idxmax())

    def to_markdown(self) -> str:
        """The results as two markdown tables (overall, then bin AUROC per mark)."""
        return ground_truth_markdown(self)


def run_ground_truth_benchmark(
    module: nn.Module,
    data: HistoneData | str | Path,
    truth: GroundTruth,
    *,
    output: OutputScale = OutputScale(),
    methods: str | Sequence[str] = tuple(METHODS),
    references: Sequence[str] = tuple(REFERENCES),
    max_genes: int | None = None,
    options: ExplainOptions = ExplainOptions(),
    seed: int = 0,
    progress: bool | None = None,
) -> GroundTruthBenchmark:
    """Score ``methods`` and the reference maps on ``data`` against ``truth``.

    Parameters
    ----------
    module
        The ``nn.Module`` (see :func:`~attentivechrome.interpret.explain_module`); a
        :class:`~attentivechrome.trained.TrainedModel` goes through
        :func:`attentivechrome.workflows.benchmark_model`, which prepares the data for it.
    data
        Simulated genes (usually the test split), as the module reads them, or the path of their CSV.
    output
        How the module's outputs are read (default: log-odds).
    truth
        The simulator's ground truth (:func:`~attentivechrome.data.synthetic.load_truth`);
        it may hold more genes than ``data``; they are matched by id.
    methods
        Methods to score. Default: all of :data:`METHODS`.
    references
        Reference maps among :data:`REFERENCES`. Default: both.
    max_genes
        Score a random subset of this many genes (seeded). Default: all.
    options
        How the maps are computed (:class:`~attentivechrome.interpret.ExplainOptions`).
    seed
        Seeds the random map and the subset. Default 0.

    Raises
    ------
    ValueError
        When a gene of ``data`` is missing from ``truth``, or shapes disagree.
    """
    require_module(module, "attentivechrome.workflows.benchmark_model(model, data, truth)")
    methods = check_methods(methods if isinstance(methods, str) else list(methods))
    unknown = [r for r in references if r not in REFERENCES]
    if unknown:
        raise ValueError(f"unknown reference map {unknown[0]!r}; choose from {', '.join(REFERENCES)}")
    data = as_histone_data(data)
    rng = np.random.default_rng(seed)
    if max_genes is not None:
        if max_genes < 2:
            raise ValueError(f"max_genes must be at least 2, got {max_genes}")
        if max_genes < data.n_genes:
            data = data.subset(np.sort(rng.choice(data.n_genes, size=max_genes, replace=False)))
    rows = _align_truth(data, truth)
    mask, weight = rows.mask, rows.mark_weight
    cooperative = bool(rows.pairs or rows.window_marks)

    per_gene: dict[str, dict[str, list]] = {name: {} for name in (*methods, *references)}
    together: dict[str, dict[str, list]] = {name: {} for name in (*methods, *references)}
    deltas: dict[str, list] = {}
    logits = []
    start = 0
    for part in iter_module_explanations(module, data, methods, output=output, options=options, progress=progress):
        stop = start + part.n_genes
        part_mask, part_weight = mask[start:stop], weight[start:stop]
        part_truth = rows.subset(slice(start, stop)) if cooperative else None
        logits.append(part.logits)
        for method in methods:
            _add_scores(per_gene[method], part[method], part.mark_scores(method), part_mask, part_weight)
            if part_truth is not None:
                _add_cooperation(together[method], part[method], part.mark_scores(method), part_truth, data.marks)
        for method, delta in part.convergence_delta.items():
            deltas.setdefault(method, []).append(delta)
        for reference in references:
            if reference == "random":
                values = rng.random(part_mask.shape, dtype=np.float32)
            else:  # input_signal: (genes, bins, marks) -> (genes, marks, bins)
                values = data.counts[start:stop].transpose(0, 2, 1)
            _add_scores(per_gene[reference], values, mark_shares(values), part_mask, part_weight)
            if part_truth is not None:
                _add_cooperation(together[reference], values, mark_shares(values), part_truth, data.marks)
        start = stop

    joined = _join(per_gene)
    table = _summary_table(joined, data.marks)
    logits_all = np.concatenate(logits)
    return GroundTruthBenchmark(
        table=table,
        per_gene=joined,
        gene_ids=data.gene_ids,
        marks=data.marks,
        model_auroc=_auroc_or_nan(data.labels, logits_all),
        convergence_delta={m: np.concatenate(v) for m, v in deltas.items()},
        cooperation=_cooperation_table(_join(together), rows) if cooperative else None,
    )


def score_maps(
    maps: Mapping[str, np.ndarray],
    truth_mask: np.ndarray,
    mark_weight: np.ndarray,
    *,
    mark_scores: Mapping[str, np.ndarray] | None = None,
    marks: Sequence[str] = MARKS,
) -> pd.DataFrame:
    """Score ready-made maps against a planted truth: the benchmark table without a model.

    Parameters
    ----------
    maps
        Name -> map of shape (genes, marks, bins), e.g. from another tool.
    truth_mask
        Boolean (genes, marks, bins), the planted cells of the same genes.
    mark_weight
        Shape (genes, marks), the planted contribution of each mark.
    mark_scores
        Name -> (genes, marks) per-mark scores; default: each map's share of |map| per mark.
    marks
        Mark names, for the per-mark columns. Default: the five standard marks.

    Returns
    -------
    DataFrame
        The columns of :attr:`GroundTruthBenchmark.table`, one row per map.

    Examples
    --------
    >>> from attentivechrome.data.synthetic import simulate
    >>> _, truth = simulate(50, 20, seed=0)
    >>> noise = np.random.default_rng(0).random(truth.mask.shape)
    >>> table = score_maps({"perfect": truth.mask, "random": noise}, truth.mask, truth.mark_weight)
    >>> bool(table.loc["perfect", "bin_auroc"] > table.loc["random", "bin_auroc"])
    True
    """
    per_gene: dict[str, dict[str, list]] = {}
    for name, values in maps.items():
        values = np.asarray(values)
        scores = mark_shares(values) if mark_scores is None or name not in mark_scores else mark_scores[name]
        per_gene[name] = {}
        _add_scores(per_gene[name], values, scores, truth_mask, mark_weight)
    joined = _join(per_gene)
    return _summary_table(joined, tuple(marks))


def score_cooperation(
    maps: Mapping[str, np.ndarray], truth: GroundTruth, *, mark_scores: Mapping[str, np.ndarray] | None = None, marks: Sequence[str] = MARKS
) -> pd.DataFrame:
    """Score ready-made maps for the cooperative rules of a simulation: pairs, partners, windows.

    Parameters
    ----------
    maps
        Name -> map of shape (genes, marks, bins), of the genes of ``truth`` in its order.
    truth
        Ground truth of data simulated with ``rules="cooperative"`` (it records the pairs and windows).
    mark_scores
        Name -> (genes, marks) per-mark scores; default: each map's share of |map| per mark.
    marks
        Mark names of the maps' second axis. Default: the five standard marks.

    Returns
    -------
    DataFrame
        One row per map with ``label``, ``family`` and, for each pair, ``pair_<name>``; for each
        conditional pair, ``partner_<name>``; for each window, ``window_<mark>``. Every score has
        a ``_ci`` (95% half-width) and an ``_n`` (genes scored) column; ``DataFrame.attrs["headers"]``
        maps each score to a readable header (with the chance level of the window shares).

    Examples
    --------
    >>> from attentivechrome.data.synthetic import simulate
    >>> _, truth = simulate(300, 100, seed=0, rules="cooperative")
    >>> table = score_cooperation({"oracle": truth.mask}, truth, mark_scores={"oracle": truth.mark_weight})
    >>> [round(float(table.loc["oracle", c]), 3) for c in ("pair_bivalent", "partner_body_needs_promoter", "window_H3K4me3")]
    [1.0, 1.0, 1.0]
    """
    if not (truth.pairs or truth.window_marks):
        raise ValueError(f"the truth records no cooperating pairs or position windows (rules {truth.rules!r}); simulate with rules='cooperative'")
    together: dict[str, dict[str, list]] = {}
    for name, values in maps.items():
        values = np.asarray(values)
        if values.shape != truth.mask.shape:
            raise ValueError(f"map {name!r} has shape {values.shape}, the truth {truth.mask.shape}")
        scores = mark_shares(values) if mark_scores is None or name not in mark_scores else np.asarray(mark_scores[name])
        together[name] = {}
        _add_cooperation(together[name], values, scores, truth, tuple(marks))
    return _cooperation_table(_join(together), truth)


def ground_truth_markdown(result: GroundTruthBenchmark) -> str:
    """Markdown tables of a :class:`GroundTruthBenchmark`: overall scores, then bin AUROC per mark."""
    table = result.table
    lines = [
        f"Genes scored: {len(result.gene_ids)}; model AUROC on them: {result.model_auroc:.3f}. "
        "Scores are per-gene means with 95% intervals; bin-level scores rank |map| within each gene.",
        "",
        "| method | bin AUROC | bin AUPR | mark rank agreement (Spearman) | top mark correct |",
        "|---|---|---|---|---|",
    ]
    for name, row in table.iterrows():
        cells = [f"{row[c]:.3f} ± {row[c + '_ci']:.3f}" for c in ("bin_auroc", "bin_aupr", "mark_spearman", "top_mark")]
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    marks = [m for m in result.marks if f"auroc_{m}" in table and table[f"auroc_{m}"].notna().any()]
    lines += ["", "Bin AUROC within each mark (genes with planted bins in that mark):", ""]
    lines.append("| method | " + " | ".join(marks) + " |")
    lines.append("|---|" + "---|" * len(marks))
    for name, row in table.iterrows():
        lines.append(f"| {row['label']} | " + " | ".join(f"{row[f'auroc_{m}']:.3f}" for m in marks) + " |")
    if result.cooperation is not None:
        lines += ["", cooperation_markdown(result.cooperation).rstrip("\n")]
    return "\n".join(lines) + "\n"


def cooperation_markdown(table: pd.DataFrame) -> str:
    """Markdown table of :func:`score_cooperation`'s (or a benchmark's ``cooperation``) scores."""
    headers: dict[str, str] = table.attrs.get("headers", {})
    columns = list(headers)
    counts = ", ".join(f"{c.replace('_', ' ')} {int(table[c + '_n'].iloc[0])}" for c in columns)
    lines = [
        "Cooperation and position (cooperative rules; means with 95% intervals). Pair AUROC: how often the pair's "
        "marks outscore the marks that do nothing in genes where the pair's rule is active (0.5 = chance). "
        "Partner effect: the second mark's rank against the idle marks with its partner minus without it, over 0.5 "
        "(1 = follows the rule, 0 = ignores the partner). Window share: share of the mark's |map| inside the "
        f"rule's window in genes that also carry a decoy outside it. Genes per column: {counts}.",
        "",
        "| method | " + " | ".join(headers[c] for c in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for _, row in table.iterrows():
        cells = [f"{row[c]:.3f} ± {row[c + '_ci']:.3f}" for c in columns]
        lines.append(f"| {row['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_ground_truth_benchmark(result: GroundTruthBenchmark, out_dir: str | Path) -> dict[str, Path]:
    """Write ``benchmark.md``, ``benchmark.csv``, ``per_gene_scores.csv`` and ``benchmark.png``/``.svg``;
    on cooperative data also ``cooperation.csv`` and ``cooperation.png``."""
    from .plots import plot_cooperation, plot_ground_truth_benchmark

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "markdown": out / "benchmark.md",
        "csv": out / "benchmark.csv",
        "per_gene": out / "per_gene_scores.csv",
        "png": out / "benchmark.png",
        "svg": out / "benchmark.svg",
    }
    write_text_atomic(files["markdown"], "# Interpretation benchmark\n\n" + ground_truth_markdown(result))
    with atomic_open(files["csv"], "w", encoding="utf-8", newline="") as handle:
        result.table.rename_axis("method").to_csv(handle, float_format="%.6g")
    rows = []
    for method, scores in result.per_gene.items():
        frame = pd.DataFrame({"gene_id": result.gene_ids, "method": method})
        for key in ("auroc", "aupr", "spearman", "top_mark"):
            frame[key] = scores[key]
        rows.append(frame)
    with atomic_open(files["per_gene"], "w", encoding="utf-8", newline="") as handle:
        pd.concat(rows, ignore_index=True).to_csv(handle, index=False, float_format="%.6g")
    figure = plot_ground_truth_benchmark(result.table)
    for kind in ("png", "svg"):
        with atomic_path(files[kind]) as tmp:
            figure.savefig(tmp, format=kind, dpi=150)
    if result.cooperation is not None:
        files["cooperation_csv"], files["cooperation_png"] = out / "cooperation.csv", out / "cooperation.png"
        with atomic_open(files["cooperation_csv"], "w", encoding="utf-8", newline="") as handle:
            result.cooperation.rename_axis("method").to_csv(handle, float_format="%.6g")
        with atomic_path(files["cooperation_png"]) as tmp:
            plot_cooperation(result.cooperation).savefig(tmp, format="png", dpi=150)
    return files


def _add_scores(store: dict[str, list], values: np.ndarray, mark_scores: np.ndarray, mask: np.ndarray, weight: np.ndarray) -> None:
    for key, value in {**score_bins(values, mask), **score_marks(mark_scores, weight)}.items():
        store.setdefault(key, []).append(value)


def cooperation_headers(truth: GroundTruth) -> dict[str, str]:
    """The cooperation score columns of ``truth``'s rules, each with a readable header (window shares name their chance level)."""
    n_bins = np.shape(truth.mask)[-1]
    headers: dict[str, str] = {}
    for (first, second), name, conditional in zip(truth.pairs, truth.pair_names, truth.pair_conditional):
        headers[f"pair_{name}"] = f"{first} + {second} pair AUROC ({name.replace('_', ' ')})"
        if conditional:
            headers[f"partner_{name}"] = f"{second} needs {first}: partner effect"
    for mark, lo, hi in zip(truth.window_marks, truth.window_start, truth.window_stop):
        headers[f"window_{mark}"] = f"{mark} window share (bins {lo}-{hi - 1}; chance {(hi - lo) / n_bins:.2f})"
    return headers


def _add_cooperation(store: dict[str, list], values: np.ndarray, mark_scores: np.ndarray, truth: GroundTruth, marks: tuple[str, ...]) -> None:
    """Per-gene cooperation scores of one batch (NaN where a gene does not count for a score)."""
    column = {mark: j for j, mark in enumerate(marks)}
    mark_scores = np.asarray(mark_scores, dtype=np.float64)
    scores: dict[str, np.ndarray] = {}
    for k, ((first, second), name, conditional) in enumerate(zip(truth.pairs, truth.pair_names, truth.pair_conditional)):
        active = truth.pair_active[:, k]
        scores[f"pair_{name}"] = np.where(active, score_pair(mark_scores, truth.mark_weight, (column[first], column[second])), np.nan)
        if conditional:
            alone = truth.pair_candidate[:, k] & ~active
            rank = score_pair(mark_scores, truth.mark_weight, (column[second],))
            scores[f"partner_{name}_with"] = np.where(active, rank, np.nan)
            scores[f"partner_{name}_without"] = np.where(alone, rank, np.nan)
    for k, (mark, lo, hi) in enumerate(zip(truth.window_marks, truth.window_start, truth.window_stop)):
        eligible = truth.window_active[:, k] & truth.window_decoy[:, k]
        scores[f"window_{mark}"] = np.where(eligible, window_share(values[:, column[mark]], lo, hi), np.nan)
    for key, value in scores.items():
        store.setdefault(key, []).append(value)


def _join(per_gene: dict[str, dict[str, list]]) -> dict[str, dict[str, np.ndarray]]:
    return {name: {key: np.concatenate(parts) for key, parts in scores.items()} for name, scores in per_gene.items()}


def _cooperation_table(per_gene: dict[str, dict[str, np.ndarray]], truth: GroundTruth) -> pd.DataFrame:
    """One row per method: pair AUROC, partner AUROC and window share, each with its interval and gene count."""
    headers = cooperation_headers(truth)
    rows = []
    for name, scores in per_gene.items():
        info = METHODS.get(name)
        row: dict[str, object] = {
            "method": name,
            "label": info.label if info is not None else REFERENCES.get(name, name),
            "family": info.family if info is not None else "reference" if name in REFERENCES else "external",
        }
        for column in headers:
            if column.startswith("partner_"):  # (rank with the partner - rank without) / (1 - 0.5)
                (with_mean, with_half, with_n), (alone_mean, alone_half, alone_n) = (mean_and_interval(scores[f"{column}_{part}"]) for part in ("with", "without"))
                row[f"{column}_with"], row[f"{column}_without"] = float(with_mean), float(alone_mean)
                mean, half, n = (with_mean - alone_mean) / 0.5, np.hypot(with_half, alone_half) / 0.5, with_n + alone_n
            else:
                mean, half, n = mean_and_interval(scores[column])
            row[column], row[f"{column}_ci"], row[f"{column}_n"] = float(mean), float(half), int(n)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("method")
    table.attrs["headers"] = headers
    return table


def _summary_table(per_gene: dict[str, dict[str, np.ndarray]], marks: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    for name, scores in per_gene.items():
        info = METHODS.get(name)
        row = {
            "method": name,
            "label": info.label if info is not None else REFERENCES.get(name, name),
            "family": info.family if info is not None else "reference" if name in REFERENCES else "external",
            "n_genes": int(len(scores["auroc"])),
        }
        for key, column in _SUMMARY_COLUMNS.items():
            mean, half, _ = mean_and_interval(scores[key])
            row[column], row[f"{column}_ci"] = float(mean), float(half)
        for kind in ("auroc", "aupr"):
            means, _, _ = mean_and_interval(scores[f"{kind}_per_mark"], axis=0)
            for mark, value in zip(marks, means):
                row[f"{kind}_{mark}"] = float(value)
        rows.append(row)
    return pd.DataFrame(rows).set_index("method")


def _align_truth(data: HistoneData, truth: GroundTruth) -> GroundTruth:
    """The truth of ``data``'s genes, in ``data``'s order."""
    position = pd.Index(np.asarray(truth.gene_ids, dtype=str)).get_indexer(np.asarray(data.gene_ids, dtype=str))
    missing = np.flatnonzero(position < 0)
    if missing.size:
        examples = ", ".join(map(str, data.gene_ids[missing[:3]]))
        raise ValueError(f"{missing.size} of {data.n_genes} genes have no ground truth (e.g. {examples}); use the truth.npz of the same simulation")
    shape = np.shape(truth.mask)
    if shape[1:] != (data.n_marks, data.n_bins):
        raise ValueError(f"truth mask is (genes, {shape[1]}, {shape[2]}) but the data have {data.n_marks} marks and {data.n_bins} bins")
    return truth.subset(position)


def _auroc_or_nan(labels: np.ndarray | None, scores: np.ndarray) -> float:
    from ..metrics.classification import UndefinedMetricError, auroc

    if labels is None:
        return float("nan")
    try:
        return auroc(labels, scores)
    except UndefinedMetricError:
        return float("nan")
