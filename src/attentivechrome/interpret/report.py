"""Write an interpretation directory: maps (NPZ + tidy TSV), class averages, pictures, summary.

:func:`write_interpretation` streams batches from
:func:`~attentivechrome.interpret.explain.iter_module_explanations` straight into the output files,
so memory stays flat however many genes there are; only class sums and the maps of the
few genes that get their own pictures are kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from torch import nn

from .._io import atomic_open, atomic_path, move_files, staging_directory, write_text_atomic
from ..tasks import get_task
from ..data.dataset import HistoneData
from ..metrics.classification import UndefinedMetricError, auroc
from ..inference import predict_module
from ._npz import NpzStreamWriter
from .attention import CLASSES, GROUPINGS, ClassAverager, ClassAverages, GroupBy, class_legend
from .attribution import DEFAULT_METHODS, METHODS, check_methods
from ..data.schema import DEFAULT_BIN_SIZE
from .positions import bin_centres_kb
from ._figure_pool import FigureJob, FigurePool
from concurrent.futures import Future
from .tracks import TRACKS, recorded_coordinates, tracks_from_npz
from ..data.orientation import check_orientation, describe as describe_orientation
from .explain import ExplainOptions, Explanation, OutputScale, as_histone_data, iter_module_explanations, require_module
from .faithfulness import BASELINES, DEFAULT_MIN_EFFECT, DEFAULT_STEPS, FaithfulnessResult, faithfulness as measure_faithfulness

#: Most genes that get their own pictures.
DEFAULT_MAX_GENE_PLOTS = 12

#: Output names inside the interpretation directory.
MAPS_NPZ = "explanations.npz"
MAPS_TSV = "maps.tsv"
MARK_SCORES_TSV = "mark_scores.tsv"
PREDICTIONS_TSV = "predictions.tsv"
CLASS_NPZ = "class_averages.npz"
FAITHFULNESS_TSV = "faithfulness.tsv"
FAITHFULNESS_CURVES_TSV = "faithfulness_curves.tsv"
FAITHFULNESS_GENES_TSV = "faithfulness_genes.tsv"
SUMMARY = "summary.md"
FIGURES = "figures"


@dataclass
class InterpretationResult:
    """What :func:`write_interpretation` wrote."""

    out_dir: Path
    n_genes: int
    methods: tuple[str, ...]
    files: dict[str, Path] = field(default_factory=dict)
    averages: ClassAverages | None = None
    plotted_genes: list[str] = field(default_factory=list)
    #: The deletion and insertion curves, when asked for (``faithfulness=True``).
    faithfulness: FaithfulnessResult | None = None


def select_genes(data: HistoneData, genes: Sequence[str]) -> HistoneData:
    """The genes named in ``genes``, in that order (repeats dropped).

    Raises
    ------
    ValueError
        When a name is not in ``data``, quoting up to three of the missing ones.
    """
    wanted = list(dict.fromkeys(str(g) for g in genes))
    position = pd.Index(np.asarray(data.gene_ids, dtype=str)).get_indexer(wanted)
    missing = [g for g, p in zip(wanted, position) if p < 0]
    if missing:
        shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
        raise ValueError(f"{len(missing)} of {len(wanted)} requested genes are not in {data.source or 'the input'}: {shown}")
    return data.subset(position)


def write_interpretation(
    module: nn.Module,
    data: HistoneData | str | Path,
    out_dir: str | Path,
    *,
    output: OutputScale = OutputScale(),
    methods: str | Sequence[str] = DEFAULT_METHODS,
    genes: Sequence[str] | None = None,
    by: GroupBy = "predicted",
    options: ExplainOptions = ExplainOptions(),
    tsv: bool = True,
    max_gene_plots: int = DEFAULT_MAX_GENE_PLOTS,
    progress: bool | None = None,
    model_source: str = "",
    bin_size: int = DEFAULT_BIN_SIZE,
    expression=None,
    faithfulness: bool = False,
    faithfulness_baseline: str = "zero",
    faithfulness_steps: int = DEFAULT_STEPS,
    faithfulness_min_effect: float = DEFAULT_MIN_EFFECT,
    orientation: str | None = None,
    coordinates=None,
    tracks: bool = True,
) -> InterpretationResult:
    """Explain every gene of ``data`` (or the ``genes`` named) with ``module`` and write the results to ``out_dir``.

    ``data`` are read as the module reads them and its outputs as ``output`` says; a
    :class:`~attentivechrome.trained.TrainedModel` goes through
    :func:`attentivechrome.workflows.interpret_model`, which prepares the data and decodes for it.

    Files (each written atomically):

    - ``explanations.npz``: ``gene_ids``, ``marks``, ``methods``, ``bin_size``, ``input`` (the reads as the
      model read them, genes x marks x bins), ``probability`` (``log1p_expression``
      for a regression model, whose class averages are grouped by rank), ``label``
      (if known), ``alpha`` (genes, marks, bins) and ``beta`` (genes, marks) when the model
      has attention, one (genes, marks, bins) array per attribution method under its name,
      ``delta_<method>`` (genes,) completeness gaps, and ``gene_names`` (the symbols ``featurize``
      recorded for the input's genes, ``""`` where unknown) when there are any;
    - ``maps.tsv`` (``gene_id, method, mark, bin, value``; ``attention`` rows hold alpha) and
      ``mark_scores.tsv`` (``gene_id, method, mark, value``; beta for attention), unless ``tsv`` is False;
    - ``predictions.tsv`` (with a ``gene_name`` column when symbols are known), ``class_averages.npz``;
    - ``figures/``: per pictured gene, ``gene_<id>.png`` (signal, alpha, beta) and
      ``gene_<id>_methods.png``; for the set, ``class_profiles`` (alpha), ``class_beta`` and
      ``method_profiles`` (every method; PNG and SVG);
    - with ``faithfulness``: ``faithfulness.tsv`` (``method, deletion_auc, deletion_low, deletion_high,
      insertion_auc, insertion_low, insertion_high, n_genes``: one row per method, then ``random`` and
      ``input``), ``faithfulness_curves.tsv`` (``method, fraction, deletion, insertion``: the mean
      normalised curves), ``faithfulness_genes.tsv`` (each gene's areas) and ``figures/faithfulness``
      (see :mod:`attentivechrome.interpret.faithfulness`);
    - ``tracks/<method>.<mark>.bedGraph``: each map on the genome, when the genes' coordinates are
      known (``coordinates``, else the ``featurize`` manifest beside the input) and ``tracks`` is True
      (:mod:`attentivechrome.interpret.tracks`);
    - ``summary.md`` naming the files.

    Parameters
    ----------
    output
        How the module's outputs are read (default: log-odds, a classifier); a regression
        model's predictions and maps are on the log1p-expression scale.
    genes
        Explain only these gene ids, in this order; the first ``max_gene_plots`` of them get
        pictures. Default: every gene.
    max_gene_plots
        How many genes get pictures of their own. Without ``genes``, these are the
        ``ceil(max_gene_plots / 2)`` genes with the highest predictions and the
        ``floor(max_gene_plots / 2)`` with the lowest (every gene when there are no more than
        ``max_gene_plots``), highest first. Default 12.
    bin_size
        Base pairs per bin; figures place bins in kb from the TSS, the window centred on it. Default 100.
    by
        Group the class averages by ``predicted`` class (default), by ``rank`` (the half of
        the genes with the higher predictions is high; one extra forward pass) or by ``label``.
    expression
        Observed log1p expression of the genes (a Series by gene id), when known: ``predictions.tsv``
        then shows it beside the prediction (and, for a reference-informed model, the observed
        deviation from the prior). Default ``None``.
    faithfulness
        Also measure each method's maps by deletion and insertion
        (:func:`~attentivechrome.interpret.faithfulness.faithfulness`, on the maps just computed;
        they are kept in memory for it, 2 kB per gene and method at 5 marks x 100 bins). Default False.
    faithfulness_baseline, faithfulness_steps, faithfulness_min_effect
        Its ``baseline`` (``zero`` or ``mean``), ``steps`` and ``min_effect``.
    orientation
        Which way the bins run (``transcript``, ``genomic``, ``unknown``): how figures and the summary
        name positions, and how tracks place the bins of minus-strand genes. Default: ``data.orientation``.
    coordinates
        A :class:`~attentivechrome.interpret.tracks.GeneCoordinates` (``read_coordinates(path)``) for the tracks.
    options
        How the maps are computed (:class:`~attentivechrome.interpret.ExplainOptions`); its batch size and
        device also serve the forward passes and the faithfulness curves.
    Other parameters are those of :func:`~attentivechrome.interpret.explain_module`.
    """
    require_module(module, "attentivechrome.workflows.interpret_model(model, data, out_dir)")
    methods = check_methods(methods if isinstance(methods, str) else list(methods))
    data = as_histone_data(data)
    if genes:
        data = select_genes(data, genes)
    if max_gene_plots < 0:
        raise ValueError(f"max_gene_plots must be 0 or more, got {max_gene_plots}")
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, got {by!r}")
    if by == "label" and data.labels is None:
        raise ValueError(f"{data.source or 'the input'}: has no labels; group the class averages by predicted class or rank")
    if faithfulness:
        if faithfulness_baseline not in BASELINES:
            raise ValueError(f"faithfulness_baseline must be one of {', '.join(BASELINES)}, got {faithfulness_baseline!r}")
        if int(faithfulness_steps) != faithfulness_steps or faithfulness_steps < 3:
            raise ValueError(f"faithfulness_steps must be an integer of at least 3, got {faithfulness_steps}")
        if not faithfulness_min_effect >= 0:
            raise ValueError(f"faithfulness_min_effect must be 0 or more, got {faithfulness_min_effect}")
    task = output.task
    if get_task(task).regresses and by == "predicted":
        by = "rank"  # a predicted expression has no class threshold; the higher half of the predictions is "high"
    orientation = check_orientation(orientation or data.orientation)
    if tracks and coordinates is None:
        coordinates = recorded_coordinates(data.source)  # featurize's manifest, when the input has one
    symbols = _gene_names(data)  # "" where unknown; None when the input's featurize manifest names no gene
    final_out = Path(out_dir)
    # Everything is written in a staging directory and moved into out_dir at the end: a failed
    # run leaves nothing behind, and a rerun into the same directory replaces its files whole.
    with staging_directory(final_out) as out, contextlib.ExitStack() as outer:
        figures_dir = out / FIGURES
        figures_dir.mkdir(parents=True, exist_ok=True)
        files: dict[str, Path] = {}

        threshold = logits = None
        if by == "rank":  # the median output of the set, from a cheap forward pass before the work
            logits = predict_module(module, data, batch_size=max(options.batch_size, 256), device=options.device, with_attention=False).logits
            threshold = float(output.decode(float(np.median(logits)))) if output.decodes else float(np.median(logits))  # the explanations' scale
        averager = ClassAverager(by, threshold=threshold, bin_size=bin_size, orientation=orientation)
        keep = _GeneKeeper(list(data.gene_ids[:max_gene_plots]) if genes else None, max_gene_plots)
        pool = outer.enter_context(FigurePool())  # its workers start now and import matplotlib while the maps are computed
        early = _early_genes(keep, module, data, logits, options) if pool.parallel else set()
        started: dict[str, dict[str, Future]] = {}
        logits, deltas_seen = [], set()
        spreads = _SpreadSums()
        kept_maps: dict[str, list[np.ndarray]] = {m: [] for m in methods} if faithfulness else {}
        start = 0
        with contextlib.ExitStack() as stack:
            npz = stack.enter_context(NpzStreamWriter(out / MAPS_NPZ))
            maps_tsv = stack.enter_context(atomic_open(out / MAPS_TSV, "w", encoding="utf-8", newline="")) if tsv else None
            scores_tsv = stack.enter_context(atomic_open(out / MARK_SCORES_TSV, "w", encoding="utf-8", newline="")) if tsv else None
            header = True
            for part in iter_module_explanations(module, data, methods, output=output, options=options, progress=progress):
                stop = start + part.n_genes
                counts = data.counts[start:stop]
                logits.append(part.logits)
                npz.append("input", np.ascontiguousarray(counts.transpose(0, 2, 1), dtype=np.float32))  # (genes, bins, marks) -> (genes, marks, bins)
                if part.alpha is not None:
                    npz.append("alpha", part.alpha.astype(np.float32))
                if part.beta is not None:
                    npz.append("beta", part.beta.astype(np.float32))
                for method in methods:
                    if method != "attention":
                        npz.append(method, part[method].astype(np.float32))
                for method, delta in part.convergence_delta.items():
                    npz.append(f"delta_{method}", delta.astype(np.float32))
                    deltas_seen.add(method)
                for method, spread in part.spread.items():
                    npz.append(f"spread_{method}", spread.astype(np.float32))
                spreads.add(part)
                if tsv:
                    part.to_frame().to_csv(maps_tsv, sep="\t", index=False, header=header, float_format="%.6g")
                    _mark_score_frame(part).to_csv(scores_tsv, sep="\t", index=False, header=header, float_format="%.6g")
                    header = False
                for method in kept_maps:
                    kept_maps[method].append(part[method])
                averager.add(part, counts)
                keep.offer(part, counts)
                for i in np.flatnonzero(np.isin(part.gene_ids, list(early - set(started)))):  # draw a pictured gene's figures now
                    one = part.subset(slice(i, i + 1))
                    started[str(one.gene_ids[0])] = {n: pool.submit(j) for n, j in _gene_jobs(one, counts[i : i + 1], data.marks, methods, figures_dir, bin_size, orientation).items()}
                start = stop
            all_logits = np.concatenate(logits) if logits else np.zeros(0, dtype=np.float32)
            # What the model predicts, on its task's scale: probabilities, or log1p expression.
            values = get_task(task).shown(all_logits)
            value_name = get_task(task).value_column  # the name of what the model predicts, in the NPZ and the TSV
            npz.put("gene_ids", np.asarray(data.gene_ids, dtype=str))
            if symbols is not None:
                npz.put("gene_names", symbols)
            npz.put("marks", np.array(data.marks))
            npz.put("methods", np.array(methods))
            npz.put("bin_size", np.array(bin_size))
            npz.put("orientation", np.array(orientation))
            npz.put(value_name, values.astype(np.float32))
            if data.labels is not None:
                npz.put("label", data.labels)
        files["maps (npz)"] = out / MAPS_NPZ
        if tsv:
            files["maps (tsv)"] = out / MAPS_TSV
            files["mark scores (tsv)"] = out / MARK_SCORES_TSV

        predictions = pd.DataFrame({"gene_id": data.gene_ids, value_name: values})
        if symbols is not None:
            predictions.insert(1, "gene_name", symbols)
        if data.baseline is not None:  # a reference-informed model: what the prior says, and (deviation) the expression rebuilt
            predictions["prior"] = data.baseline
            if get_task(task).needs_reference:
                predictions["log1p_expression"] = values + data.baseline
        if expression is not None:  # the observed value, where known
            observed = expression.reindex(data.gene_ids).to_numpy(dtype=np.float64)
            predictions["observed_log1p_expression"] = observed
            if data.baseline is not None:
                predictions["observed_deviation"] = observed - data.baseline
        if data.labels is not None:
            predictions["label"] = data.labels
        with atomic_open(out / PREDICTIONS_TSV, "w", encoding="utf-8", newline="") as handle:
            predictions.to_csv(handle, sep="\t", index=False, float_format="%.6g")
        files["predictions"] = out / PREDICTIONS_TSV

        averages = averager.result()
        with atomic_path(out / CLASS_NPZ) as tmp:
            with open(tmp, "wb") as handle:
                np.savez_compressed(handle, **averages.to_arrays())
        files["class averages"] = out / CLASS_NPZ

        figures = _write_figures(averages, keep, data.marks, methods, figures_dir, bin_size, pool, started)
        if spreads.n_genes:
            from .plots import plot_spread_profiles

            figures["the ensemble's spread: mean |map| with +- the members' spread"] = _save(
                plot_spread_profiles(spreads.mean_abs(), spreads.mean_spread(), data.marks, bin_size=bin_size, n_members=spreads.n_members, n_genes=spreads.n_genes, orientation=orientation),
                figures_dir / "ensemble_spread",
            )
        faithful = None
        if faithfulness:
            faithful = measure_faithfulness(
                module,
                data,
                {m: np.concatenate(v) if v else np.zeros((0, data.n_marks, data.n_bins), np.float32) for m, v in kept_maps.items()},
                output=output,
                baseline=faithfulness_baseline,
                steps=faithfulness_steps,
                min_effect=faithfulness_min_effect,
                device=options.device,
                progress=progress,
            )
            kept_maps.clear()
            files.update(_write_faithfulness(faithful, out, figures_dir))
            figures["faithfulness: deletion and insertion curves"] = files["faithfulness figure"]
        files.update(figures)
        placed = 0
        if tracks and coordinates is not None:
            written, placed = tracks_from_npz(out / MAPS_NPZ, coordinates, out / TRACKS, orientation=orientation)
            files.update({f"track {name}": path for name, path in written.items()})
        result = InterpretationResult(
            out_dir=out, n_genes=data.n_genes, methods=methods, averages=averages, plotted_genes=keep.gene_ids(), faithfulness=faithful
        )
        summary = _summary(result, data, module, values, task, averages, figures, tsv, deltas_seen, out, model_source, chosen_by_name=bool(genes), spreads=spreads)
        if placed:
            summary += f"\nGenome browser tracks: `{TRACKS}/<method>.<mark>.bedGraph`, {placed} of {data.n_genes} genes placed from {coordinates.source}.\n"
        write_text_atomic(out / SUMMARY, summary)
        files["summary"] = out / SUMMARY
        move_files(out, final_out)
    result.out_dir = final_out
    result.files = {name: final_out / path.relative_to(out) for name, path in files.items()}
    return result


class _SpreadSums:
    """Sums over the genes of an ensemble's |mean map| and of its members' spread, per method and cell (flat memory)."""

    def __init__(self) -> None:
        self.abs: dict[str, np.ndarray] = {}
        self.spread: dict[str, np.ndarray] = {}
        self.n_genes = 0
        self.n_members = 1

    def add(self, part: Explanation) -> None:
        if not part.spread:
            return
        for method, spread in part.spread.items():
            self.abs[method] = self.abs.get(method, 0.0) + np.abs(part[method]).sum(axis=0, dtype=np.float64)
            self.spread[method] = self.spread.get(method, 0.0) + spread.sum(axis=0, dtype=np.float64)
        self.n_genes += part.n_genes
        self.n_members = part.n_members

    def mean_abs(self) -> dict[str, np.ndarray]:
        return {m: v / self.n_genes for m, v in self.abs.items()}

    def mean_spread(self) -> dict[str, np.ndarray]:
        return {m: v / self.n_genes for m, v in self.spread.items()}


class _GeneKeeper:
    """Keep the maps of the genes that get pictures: the named ones, or the highest and lowest predictions.

    Without names, at most ``limit`` candidates are kept at each end while the batches stream
    past, so memory does not grow with the number of genes.
    """

    def __init__(self, wanted: list[str] | None, limit: int) -> None:
        self.wanted = wanted
        self.limit = limit
        self.kept: dict[str, tuple[Explanation, np.ndarray]] = {}
        self.high: list[tuple[float, int, Explanation, np.ndarray]] = []  # (logit, order seen, gene, counts)
        self.low: list[tuple[float, int, Explanation, np.ndarray]] = []
        self.seen = 0

    def offer(self, part: Explanation, counts: np.ndarray) -> None:
        if self.wanted is not None:
            for i, gene in enumerate(part.gene_ids):
                if gene in self.wanted:
                    self.kept[str(gene)] = (part.subset(slice(i, i + 1)), counts[i : i + 1])
            return
        if self.limit == 0:
            return
        order = np.argsort(part.logits, kind="stable")
        for ends, index, sign in ((self.high, order[::-1][: self.limit], -1.0), (self.low, order[: self.limit], 1.0)):
            for i in index:
                ends.append((sign * float(part.logits[i]), self.seen + int(i), part.subset(slice(i, i + 1)), counts[i : i + 1]))
            ends.sort(key=lambda item: (item[0], item[1]))
            del ends[self.limit :]
        self.seen += part.n_genes

    def items(self) -> list[tuple[Explanation, np.ndarray]]:
        if self.wanted is not None:
            return [self.kept[g] for g in self.wanted if g in self.kept]
        n_high = -(-self.limit // 2)
        chosen = {item[1]: item for item in self.high[:n_high]}
        for item in self.low:  # lowest first, skipping genes already chosen (a set smaller than the limit)
            if len(chosen) >= self.limit:
                break
            chosen.setdefault(item[1], item)
        for item in self.high[n_high:]:  # fewer low genes than asked: fill from the high end
            if len(chosen) >= self.limit:
                break
            chosen.setdefault(item[1], item)
        ranked = sorted(chosen.values(), key=lambda item: -float(item[2].logits[0]))
        return [(part, counts) for _, _, part, counts in ranked]

    def gene_ids(self) -> list[str]:
        return [str(part.gene_ids[0]) for part, _ in self.items()]


def _write_figures(
    averages: ClassAverages, keep: _GeneKeeper, marks: tuple[str, ...], methods: tuple[str, ...], figures_dir: Path, bin_size: int,
    pool: FigurePool, started: dict[str, dict[str, Future]],
) -> dict[str, Path]:
    """Every figure, drawn by ``pool`` (worker processes, or here); ``started`` holds the gene figures begun while the maps
    were computed. Per-gene figures are PNG only, at 90 dpi: a dozen of them as SVG too, at 150 dpi, took longer than
    explaining 200 genes, and the HTML report draws any gene on demand."""
    jobs: dict[str, Future] = {}
    if averages.alpha is not None:
        jobs["class-average alpha profiles"] = pool.submit(FigureJob("plot_class_profiles", (averages,), stem=figures_dir / "class_profiles"))
    if averages.beta is not None:
        jobs["mean beta by class"] = pool.submit(FigureJob("plot_class_beta", (averages,), stem=figures_dir / "class_beta"))
    if len(methods) > 1 and int(averages.n_genes[0]) > 0:
        jobs["class-average profiles of every method (high class)"] = pool.submit(FigureJob("plot_method_profiles", (averages,), stem=figures_dir / "method_profiles"))
    chosen = set()
    for part, counts in keep.items():
        gene = str(part.gene_ids[0])
        chosen.add(gene)
        if gene not in started:
            started[gene] = {name: pool.submit(job) for name, job in _gene_jobs(part, counts, marks, methods, figures_dir, bin_size, averages.orientation).items()}
        jobs.update(started[gene])
    written = {name: future.result() for name, future in jobs.items()}
    for gene in set(started) - chosen:  # begun for a gene that was not kept in the end (a tie in the ranking): removed
        for future in started[gene].values():
            future.result().unlink(missing_ok=True)
    return written


def _write_faithfulness(result: FaithfulnessResult, out: Path, figures_dir: Path) -> dict[str, Path]:
    """The faithfulness table, mean curves, per-gene areas and figure."""
    from .plots import plot_faithfulness

    written = {}
    for name, path, frame in (
        ("faithfulness (tsv)", out / FAITHFULNESS_TSV, result.table()),
        ("faithfulness curves (tsv)", out / FAITHFULNESS_CURVES_TSV, result.curves_frame()),
        ("faithfulness per gene (tsv)", out / FAITHFULNESS_GENES_TSV, result.gene_frame()),
    ):
        with atomic_open(path, "w", encoding="utf-8", newline="") as handle:
            frame.to_csv(handle, sep="\t", index=False, float_format="%.6g")
        written[name] = path
    written["faithfulness figure"] = _save(plot_faithfulness(result), figures_dir / "faithfulness")
    return written


def _save(figure, stem: Path, kinds: tuple[str, ...] = ("svg", "png"), dpi: int = 150) -> Path:
    """Save ``figure`` as ``stem.png`` (and ``stem.svg``) atomically, in this process; return the PNG path.

    The faithfulness and ensemble-spread figures need the whole set's numbers, known only at the end, so they are
    drawn here rather than by the figure pool.
    """
    for kind in kinds:
        with atomic_path(stem.with_suffix(f".{kind}")) as tmp:
            figure.savefig(tmp, format=kind, dpi=dpi)
    return stem.with_suffix(".png")


def _gene_jobs(part: Explanation, counts: np.ndarray, marks, methods, figures_dir: Path, bin_size: int, orientation: str) -> dict[str, FigureJob]:
    """The figures of the one gene of ``part`` (its counts (1, bins, marks)): signal, alpha and beta, and every method."""
    gene = str(part.gene_ids[0])
    safe = _safe_name(gene)
    label = None if part.labels is None else int(part.labels[0])
    shown = {"probability": float(part.probabilities[0])} if get_task(part.task).binary else {"expression": float(part.logits[0])}
    style = dict(gene_id=gene, label=label, bin_size=bin_size, orientation=orientation, **shown)
    jobs = {}
    if part.alpha is not None:
        beta = None if part.beta is None else part.beta[0]
        jobs[f"gene {gene}"] = FigureJob("plot_gene", (counts[0], part.alpha[0], beta, marks), style, figures_dir / f"gene_{safe}", ("png",), 90)
    maps = {m: part[m][0] for m in methods}
    jobs[f"gene {gene}: methods compared"] = FigureJob("plot_method_comparison", (maps, counts[0], marks), style, figures_dir / f"gene_{safe}_methods", ("png",), 90)
    return jobs


def _early_genes(keep: _GeneKeeper, module, data: HistoneData, logits, options: ExplainOptions) -> set[str]:
    """The genes that will get pictures, known before the maps so that their figures are drawn while the maps are computed:
    the ones named, or the highest and lowest of a forward pass (the explanations' own logits decide in the end)."""
    if keep.wanted is not None:
        return set(keep.wanted)
    if keep.limit == 0:
        return set()
    if logits is None:
        logits = predict_module(module, data, batch_size=max(options.batch_size, 256), device=options.device, with_attention=False).logits
    ahead = _GeneKeeper(None, keep.limit)
    ahead.offer(_Ranked(np.asarray(data.gene_ids), np.asarray(logits)), np.zeros((data.n_genes, 1, 1)))
    return set(ahead.gene_ids())


@dataclass
class _Ranked:
    """Gene ids and logits, as much of an :class:`Explanation` as :class:`_GeneKeeper` ranks by."""

    gene_ids: np.ndarray
    logits: np.ndarray

    @property
    def n_genes(self) -> int:
        return len(self.gene_ids)

    def subset(self, index) -> _Ranked:
        return _Ranked(self.gene_ids[index], self.logits[index])


def _safe_name(gene: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in gene)


def _mark_score_frame(part: Explanation) -> pd.DataFrame:
    frames = []
    n_marks = len(part.marks)
    for method in part.methods:
        scores = part.mark_scores(method)
        frames.append(
            pd.DataFrame(
                {
                    "gene_id": np.repeat(np.asarray(part.gene_ids, dtype=str), n_marks),
                    "method": method,
                    "mark": np.tile(np.asarray(part.marks, dtype=str), part.n_genes),
                    "value": scores.reshape(-1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


#: What the summary says beside attention: measured on roadmap-e012 (docs/interpretation.md, "Verdict").
ATTENTION_CAVEAT = (
    "Attention (alpha, beta) is a summary of where the model pooled its BiLSTM states, not an explanation of what the "
    "prediction rests on: on roadmap-e012 alpha's top cells carry the prediction barely better than random cells and "
    "move when the model is retrained. To explain a prediction, read `integrated_gradients` (and check a map with "
    "`--faithfulness`); see docs/interpretation.md, \"Verdict: which explainer to use\"."
)


def _summary(
    result: InterpretationResult,
    data: HistoneData,
    module,
    values: np.ndarray,
    task: str,
    averages: ClassAverages,
    figures: dict[str, Path],
    tsv: bool,
    deltas_seen: set[str],
    out: Path,
    model_source: str,
    chosen_by_name: bool = False,
    spreads: _SpreadSums | None = None,
) -> str:
    value_name = get_task(task).value_column
    if get_task(task).regresses:
        predicted = f"- predicted {get_task(task).meaning}: median {np.median(values):.3f}, range {values.min():.3f} to {values.max():.3f}" if len(values) else "- no genes"
    else:
        n_high = int((values >= 0.5).sum())
        predicted = f"- predicted high (probability >= 0.5): {n_high}, predicted low: {data.n_genes - n_high}"
    grouping = {"predicted": "predicted class (probability >= 0.5)", "rank": "rank (the higher half of the predictions)", "label": "label"}[averages.by]
    lines = [
        f"# Interpretation of {data.n_genes} genes",
        "",
        f"- model: `{model_source or type(module).__name__}`",
        f"- input: `{data.source}` ({data.n_genes} genes, {data.n_bins} bins, marks {', '.join(data.marks)})",
        f"- methods: {', '.join(result.methods)}",
        f"- bin order: {describe_orientation(averages.orientation)}",
        predicted,
        f"- class averages grouped by {grouping}: {averages.n_genes[0]} high, {averages.n_genes[1]} low",
    ]
    if data.labels is not None:
        try:
            lines.append(f"- AUROC against the labels: {auroc(data.labels, values):.4f}")
        except UndefinedMetricError:
            lines.append("- AUROC against the labels: undefined (one class only)")
    if result.plotted_genes:
        how = "the first genes asked for" if chosen_by_name else "the highest and the lowest predictions"
        lines.append(f"- genes pictured ({len(result.plotted_genes)}, {how}): {', '.join(result.plotted_genes)}")
    lines += ["", "## Files", "", "| file | content |", "|---|---|"]
    lines.append(
        f"| `{MAPS_NPZ}` | `gene_ids`, `marks`, `methods`, `bin_size`, `input` (genes x marks x bins), `{value_name}`"
        + (", `label`" if data.labels is not None else "")
        + (", `alpha` (genes x marks x bins)" if averages.alpha is not None else "")
        + (", `beta` (genes x marks)" if averages.beta is not None else "")
        + "".join(f", `{m}`" for m in result.methods if m != "attention")
        + (" (genes x marks x bins)" if any(m != "attention" for m in result.methods) else "")
        + "".join(f", `delta_{m}`" for m in sorted(deltas_seen))
        + ("".join(f", `spread_{m}`" for m in result.methods) + " (the ensemble members' spread)" if spreads is not None and spreads.n_genes else "")
        + " |"
    )
    if tsv:
        lines.append(f"| `{MAPS_TSV}` | tidy maps: `gene_id, method, mark, bin, value` (bins from 1; `attention` rows are alpha) |")
        lines.append(f"| `{MARK_SCORES_TSV}` | `gene_id, method, mark, value`: beta for attention, share of abs(attribution) per mark otherwise |")
    lines.append(f"| `{PREDICTIONS_TSV}` | `gene_id, {value_name}`" + (", `label`" if data.labels is not None else "") + " |")
    averaged = [f"`{k}`" for k in ("alpha", "beta") if getattr(averages, k) is not None] + ["`signal`", "`profile_<method>`", "`n_genes`"]
    lines.append(f"| `{CLASS_NPZ}` | class means ({', '.join(CLASSES)}; grouped by {averages.by}): {', '.join(averaged)} |")
    for name, path in figures.items():
        svg = " (+ `.svg`)" if path.with_suffix(".svg").exists() else ""
        lines.append(f"| `{path.relative_to(out)}`{svg} | {name} |")
    if result.faithfulness is not None:
        lines.append(f"| `{FAITHFULNESS_TSV}` | deletion and insertion areas per method (+ `random`, `input`) with 95% intervals over genes |")
        lines.append(f"| `{FAITHFULNESS_CURVES_TSV}` | `method, fraction, deletion, insertion`: the mean normalised curves |")
        lines.append(f"| `{FAITHFULNESS_GENES_TSV}` | `gene_id, method, effect, scored, deletion_auc, insertion_auc` |")
    lines.append(f"| `{SUMMARY}` | this file |")

    if averages.beta is not None:
        lines += ["", f"## Mean beta by class (grouped by {averages.by})", "", "| class | genes | " + " | ".join(averages.marks) + " |", "|---|---|" + "---|" * len(averages.marks)]
        for k, cls in enumerate(CLASSES):
            values = " | ".join("n/a" if np.isnan(v) else f"{v:.3f}" for v in averages.beta[k])
            lines.append(f"| {class_legend(averages.by, cls)} | {averages.n_genes[k]} | {values} |")
    if averages.alpha is not None:
        n_bins = averages.alpha.shape[2]
        centres = bin_centres_kb(n_bins, averages.bin_size)
        where = "genomic position relative to the TSS" if averages.orientation == "genomic" else "position relative to the TSS"
        lines += ["", f"## Where mean alpha peaks (bin of the maximum, of {n_bins} bins of {averages.bin_size} bp, and its centre: {where}, kb)", ""]
        lines += ["| class | " + " | ".join(averages.marks) + " |", "|---|" + "---|" * len(averages.marks)]
        for k, cls in enumerate(CLASSES):
            if averages.n_genes[k]:
                peaks = [int(np.argmax(averages.alpha[k, j])) for j in range(len(averages.marks))]
                lines.append(f"| {class_legend(averages.by, cls)} | " + " | ".join(f"bin {b + 1} ({centres[b]:+.2f} kb)" for b in peaks) + " |")
        lines += ["", ATTENTION_CAVEAT]
    if spreads is not None and spreads.n_genes:
        lines += [
            "",
            f"## Spread across the ensemble's {spreads.n_members} members",
            "",
            f"The model is an ensemble of {spreads.n_members}: every map is the members' mean, and `spread_<method>` in `{MAPS_NPZ}` is the "
            "standard deviation of the members' maps, cell by cell. Relative spread: the mean spread over the mean |map| (0: the members agree).",
            "",
            "| method | mean abs(map) | mean spread | relative spread |",
            "|---|---|---|---|",
        ]
        mean_abs, mean_spread = spreads.mean_abs(), spreads.mean_spread()
        for method in result.methods:
            size, spread = float(mean_abs[method].mean()), float(mean_spread[method].mean())
            relative = f"{spread / size:.3f}" if size > 0 else "n/a"
            lines.append(f"| {METHODS[method].label} | {size:.3g} | {spread:.3g} | {relative} |")
    if result.faithfulness is not None:
        lines += ["", *_faithfulness_section(result.faithfulness)]
    if deltas_seen:
        lines += ["", "## Completeness", ""]
        with np.load(out / MAPS_NPZ) as npz:
            for method in sorted(deltas_seen):
                delta = np.abs(npz[f"delta_{method}"])
                lines.append(
                    f"- {METHODS[method].label}: |sum of map - (f(x) - f(baseline))| has median {np.median(delta):.3g} "
                    f"and 90th percentile {np.quantile(delta, 0.9):.3g} {'logits' if get_task(task).binary else 'log1p-expression units'}."
                )
    if figures:
        lines += ["", "## Figures", ""]
        for name, path in figures.items():
            lines.append(f"![{name}]({path.relative_to(out).as_posix()})")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _faithfulness_section(result: FaithfulnessResult) -> list[str]:
    """The summary's section on the deletion and insertion curves."""
    lines = [
        "## Faithfulness (deletion and insertion)",
        "",
        f"Each gene's mark x bin cells ranked by |map|; the top k% set to the {result.baseline} baseline (deletion) or put back on it "
        f"(insertion), k in {len(result.fractions)} steps from 0 to 100%; the output normalised per gene by f(full) - f(baseline) and "
        f"averaged over k. Deletion lower and insertion higher are better; `random` is the floor, `input` ranks cells by their reads. "
        f"Scored: the {result.n_genes} of {len(result.gene_ids)} genes whose output moves by at least {result.min_effect:g} {result.units} "
        "between the full input and the baseline.",
        "",
    ]
    if result.n_genes == 0:
        return lines + ["No gene moved that much: no area to report (lower the threshold, or try the other baseline)."]
    return lines + result.to_markdown().rstrip("\n").splitlines()


def _gene_names(data) -> np.ndarray | None:
    """The symbols ``featurize`` recorded for the input's genes (``""`` where unknown); ``None`` when it recorded none."""
    from ..data.gene_names import recorded_gene_names

    names = recorded_gene_names(data.source) if data.source else {}
    if not names:
        return None
    symbols = np.array([names.get(str(g), "") for g in data.gene_ids], dtype=str)
    return symbols if any(symbols) else None
