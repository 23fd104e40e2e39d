"""From mark files and a gene annotation to the AttentiveChrome CSV: the whole ``featurize`` step.

:func:`featurize` checks every input before it counts anything, counts each mark per
chromosome, drops the genes it cannot fill (reporting why), orients the bins, and attaches
median-rule labels when an expression table is given. :func:`write_featurized` writes the
CSV (or train/valid/test CSVs) and a JSON manifest of inputs, parameters and counts; all
files appear together or not at all.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import _progress
from .._io import staging_directory
from .._version import __version__
from ..data.csv_io import write_csv
from ..data.dataset import HistoneData
from ..data.gene_names import FEATURIZE_MANIFEST, FEATURIZE_TOOL, GENE_NAMES_KEY, single_file_manifest
from ..data.schema import MARKS
from ..exceptions import InputFormatError
from ._plan import CountOptions, MarkCounts, WindowPlan
from ._text import GZIP_MAGIC, check_input_file
from .bam import count_bam, open_bam
from .bigwig import _BIGWIG_MAGIC, open_bigwig, signal_bigwig
from .bins import ORIENTATIONS, BinLayout, Orientation, orient, windows
from .chroms import preview
from .gtf import GeneTable, read_genes
from .labels import Expression, read_expression_column
from .reads_bed import _sniff, count_reads_bed
from .split import SPLIT_METHODS, split_genes

logger = logging.getLogger(__name__)

#: Manifest file name inside a split output directory.
MANIFEST_NAME = FEATURIZE_MANIFEST
_READERS = {"bam": count_bam, "bed": count_reads_bed, "bigwig": signal_bigwig}


@dataclass(frozen=True)
class FeaturizeResult:
    """The featurized genes and what happened to the inputs.

    Attributes
    ----------
    data
        Counts (genes, bins, marks) in the mark order of ``data.marks``; ``labels`` set when
        an expression table was given.
    chroms
        Chromosome of each output gene, shape (genes,).
    report
        Inputs, parameters and counts (the body of the JSON manifest).
    notes
        One line per thing the user should know (left-out genes, renamed chromosomes, ...).
    """

    data: HistoneData
    chroms: np.ndarray
    report: dict
    notes: tuple[str, ...]


def mark_format(path: str | Path) -> str:
    """``bam``, ``bigwig`` or ``bed`` (reads as BED/tagAlign), decided by the file's first bytes.

    A file named ``.bam``, ``.bw`` or ``.bigWig`` whose content is something else is refused
    rather than read as text.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head == _BIGWIG_MAGIC:
        kind = "bigwig"
    elif head == b"CRAM":
        kind = "bam"  # open_bam explains that CRAM needs converting
    elif head[:2] == GZIP_MAGIC:
        try:
            with gzip.open(path, "rb") as handle:
                inner = handle.read(4)
        except (OSError, EOFError):
            inner = b""
        kind = "bam" if inner == b"BAM\x01" else "bed"
    else:
        kind = "bed"
    suffix = path.suffix.lower()
    if suffix == ".bam" and kind != "bam":
        raise InputFormatError(path, None, "is named .bam but is not a BAM file")
    if suffix in (".bw", ".bigwig") and kind != "bigwig":
        raise InputFormatError(path, None, f"is named {path.suffix} but is not a bigWig file")
    return kind


def featurize(
    marks: Mapping[str, str | Path],
    genes: str | Path | GeneTable,
    *,
    bin_size: int = 100,
    flank: int = 5000,
    orientation: Orientation = "stranded",
    count: str = "overlap",
    min_mapq: int = 0,
    keep_duplicates: bool = False,
    keep_qcfail: bool = False,
    primary_only: bool = False,
    bigwig_stat: str = "mean",
    expression: str | Path | None = None,
    cell: str | None = None,
    feature: str = "gene",
    id_attribute: str = "gene_id",
    biotypes: Sequence[str] | None = None,
    standard_marks: bool = True,
    progress: bool | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
) -> FeaturizeResult:
    """Count every mark in bins around every gene's TSS.

    Parameters
    ----------
    marks
        Mark name -> file: a BAM (sorted, indexed), a BED/tagAlign of reads (plain or
        gzip) or a bigWig. The format is detected from the content.
    genes
        A GTF/GFF3/BED/table of genes (see :func:`~attentivechrome.featurize.gtf.read_genes`)
        or a :class:`GeneTable`.
    bin_size, flank
        Bins of ``bin_size`` bp over TSS +/- ``flank`` bp. Default: 100 bins of 100 bp.
    orientation
        ``"stranded"`` (bins 5'->3') or ``"genomic"`` (increasing coordinate, as the
        published REMC files). Default: ``"stranded"``.
    count, min_mapq, keep_duplicates, keep_qcfail, primary_only, bigwig_stat
        How reads are counted and signal summarised; see :class:`CountOptions`.
    expression, cell
        An expression table and the cell's column; adds median-rule labels and leaves
        out genes without a value. Default: no labels.
    feature, id_attribute, biotypes
        Which GTF/GFF3 records are genes; see :func:`read_genes`.
    standard_marks
        Require exactly the five standard marks, output in the standard column order.
        With False any marks are accepted, in the order given. Default: True.
    progress
        Show progress bars (default: the package setting).
    jobs, scheduler
        Count the marks in parallel, one Dask task per mark file: on a local cluster of ``jobs``
        one-thread workers, or on the running cluster at ``scheduler`` (whose workers read the
        mark files under the same paths). Default: one after another in this process.

    Returns
    -------
    FeaturizeResult

    Raises
    ------
    InputFormatError
        For a missing or malformed input (naming the file and line): a BAM without an
        index or not sorted, a mark file that does not exist, an annotation without
        genes, an expression table without the column, ...
    ValueError
        For invalid parameters.
    """
    layout = BinLayout(bin_size=bin_size, flank=flank)
    options = CountOptions(
        count=count, min_mapq=min_mapq, keep_duplicates=keep_duplicates, keep_qcfail=keep_qcfail, primary_only=primary_only, bigwig_stat=bigwig_stat
    )
    if orientation not in ORIENTATIONS:
        raise ValueError(f"unknown orientation {orientation!r}; choose one of {', '.join(ORIENTATIONS)}")
    if cell is not None and expression is None:
        raise ValueError("a cell column was given without an expression table; give the table too (--expression)")

    # 1. Check every input before counting anything.
    mark_names = _mark_order(marks, standard_marks)
    paths = {name: check_input_file(marks[name], f"mark {name}") for name in mark_names}
    kinds = {name: mark_format(path) for name, path in paths.items()}
    for name in mark_names:
        _precheck(paths[name], kinds[name])
    table = genes if isinstance(genes, GeneTable) else read_genes(genes, feature=feature, id_attribute=id_attribute, biotypes=biotypes)
    if len(table) == 0:
        raise InputFormatError(table.source, None, "holds no genes with a strand ('+' or '-')")
    expr = read_expression_column(expression, cell) if expression is not None else None

    notes: list[str] = []
    left_out: dict[str, int] = {}
    n_annotation = len(table)
    skipped = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in table.skipped.items())
    notes.append(f"{n_annotation} genes in {table.source}" + (f" (left out: {skipped})" if skipped else ""))

    # 2. Labels: genes without a value are left out before counting.
    labels = None
    values = None
    if expr is not None:
        values, labels, n_unversioned = expr.lookup(table.gene_ids)
        has_value = labels >= 0
        if not has_value.any():
            raise InputFormatError(
                expr.source,
                None,
                f"none of the {len(table)} genes of {table.source} is in column {expr.column!r} "
                f"(annotation ids look like {preview(table.gene_ids.tolist(), 2)}; table ids like {preview(expr.gene_ids.tolist(), 2)})",
            )
        if n_unversioned:
            notes.append(f"{n_unversioned} gene ids matched the expression table only without their version suffix (.N)")
        n_without = int((~has_value).sum())
        if n_without:
            left_out["no_expression"] = n_without
            notes.append(f"left out {n_without} genes without a value in column {expr.column!r} of {expr.source}")
        table, values, labels = table.subset(has_value), values[has_value], labels[has_value]

    # 3. Count each mark in genomic bin order.
    lo, reverse = windows(table.tss, table.strand, layout, orientation)
    plan = WindowPlan(layout=layout, chroms=table.chroms, lo=lo)
    n_chroms = len(set(table.chroms.tolist()))
    counted: dict[str, MarkCounts] = {}
    if jobs == 1 and scheduler is None:
        for name in mark_names:
            path, kind = paths[name], kinds[name]
            total = path.stat().st_size if kind == "bed" else n_chroms
            with _progress.progress_bar(total, f"{name} ({kind})", enabled=progress) as advance:
                counted[name] = _READERS[kind](path, plan, options, advance=advance)
            logger.info("counted %s from %s", name, path)
    else:
        counted = _count_on_dask(mark_names, paths, kinds, plan, options, jobs=jobs, scheduler=scheduler, progress=progress)

    # 4. Genes whose chromosome a mark file lacks are left out; report renames and clipping.
    present = np.ones(len(table), dtype=bool)
    for name, result in counted.items():
        present &= result.present
        if result.renamed:
            pairs = ", ".join(f"{g} -> {s}" for g, s in list(result.renamed.items())[:3])
            notes.append(f"{name}: chromosome names differ from the annotation's and were matched ({pairs}{', ...' if len(result.renamed) > 3 else ''})")
        if result.missing_chroms:
            lost = ", ".join(f"{c} ({n})" for c, n in list(result.missing_chroms.items())[:5])
            notes.append(f"{name}: {paths[name].name} lacks the chromosomes of {sum(result.missing_chroms.values())} genes, left out: {lost}")
        if result.unseen_chroms:
            empty = ", ".join(f"{c} ({n})" for c, n in list(result.unseen_chroms.items())[:5])
            notes.append(f"{name}: no reads on the chromosomes of {sum(result.unseen_chroms.values())} genes in {paths[name].name}; their bins are 0: {empty}")
    if not present.all():
        left_out["chromosome_missing"] = int((~present).sum())
    if not present.any():
        raise InputFormatError(table.source, None, "no gene is on a chromosome present in every mark file")
    clipped = _clipped(plan, counted)
    if clipped.any():
        notes.append(f"{int(clipped[present].sum())} genes have windows past a chromosome end; bins outside the chromosome are 0")

    # 5. Assemble (genes, bins, marks) in the requested orientation.
    keep = np.flatnonzero(present)
    stacked = np.stack([counted[name].values[keep] for name in mark_names], axis=-1)  # (genes, bins, marks)
    stacked = orient(stacked, reverse[keep])
    out_labels = None if labels is None else labels[keep]
    data = HistoneData(
        gene_ids=table.gene_ids[keep],
        counts=stacked.astype(np.float32),
        labels=out_labels,
        marks=tuple(mark_names),
        source=str(table.source),
    )
    if out_labels is not None:
        notes.append(
            f"labels: {int(out_labels.sum())} high, {int((out_labels == 0).sum())} low "
            f"(value > median {expr.median:.6g} of column {expr.column!r} over {len(expr.gene_ids)} genes)"
        )
        if len(out_labels) and out_labels.min() == out_labels.max():
            notes.append(
                f"warning: every gene is labelled {int(out_labels[0])}: column {expr.column!r} has too few distinct values "
                "for the median rule, and a model cannot be trained or scored on one class"
            )
    notes.append(f"featurized {data.n_genes} genes x {data.n_bins} bins x {data.n_marks} marks")

    report = {
        "tool": FEATURIZE_TOOL,
        "package_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "inputs": {
            "genes": {"path": str(table.source), "genes": n_annotation, "skipped": dict(table.skipped)},
            "marks": {
                name: {
                    "path": str(paths[name]),
                    "format": counted[name].kind,
                    "value": counted[name].description,
                    "size_bytes": paths[name].stat().st_size,
                    "chromosomes_renamed": counted[name].renamed,
                    "genes_on_missing_chromosomes": counted[name].missing_chroms,
                    "genes_on_chromosomes_without_reads": counted[name].unseen_chroms,
                    **({"reads": counted[name].stats} if counted[name].stats else {}),
                }
                for name in mark_names
            },
            "expression": None
            if expr is None
            else {"path": expr.source, "column": expr.column, "genes_with_value": len(expr.gene_ids), "genes_missing_value": expr.n_missing, "median": expr.median},
        },
        "parameters": {
            "bin_size": layout.bin_size,
            "flank": layout.flank,
            "n_bins": layout.n_bins,
            "orientation": orientation,
            "bin_1": "5' end of the window (upstream); minus-strand windows reversed" if orientation == "stranded" else "lowest genomic coordinate for every gene",
            "tss": "0-based position of the first transcribed base; bin n_bins/2 + 1 starts at the TSS",
            **{k: getattr(options, k) for k in ("count", "min_mapq", "keep_duplicates", "keep_qcfail", "primary_only", "bigwig_stat")},
            "feature": feature,
            "id_attribute": id_attribute,
            "biotypes": list(biotypes) if biotypes else None,
            "label_rule": None if expr is None else "1 where the value is above the median of the column over all genes of the table, else 0",
        },
        "genes": {
            "in_annotation": n_annotation,
            "featurized": data.n_genes,
            "left_out": left_out,
            "windows_past_chromosome_end": int(clipped[present].sum()),
            "plus_strand": int((table.strand[keep] == "+").sum()),
            "minus_strand": int((table.strand[keep] == "-").sum()),
            **({"label_1": int(out_labels.sum()), "label_0": int((out_labels == 0).sum())} if out_labels is not None else {}),
        },
        "marks": list(mark_names),
        "notes": list(notes),
    }
    if table.names is not None:  # the annotation's symbols (a GTF's gene_name), read back by reports and interpret
        report[GENE_NAMES_KEY] = {str(g): str(n) for g, n in zip(table.gene_ids[keep], table.names[keep]) if n}
    return FeaturizeResult(data=data, chroms=table.chroms[keep], report=report, notes=tuple(notes))


def manifest_path(out: str | Path) -> Path:
    """Where :func:`write_featurized` puts the manifest of a single-file output: ``x.csv`` -> ``x.json``."""
    return single_file_manifest(out)


def write_featurized(
    result: FeaturizeResult,
    out: str | Path,
    *,
    split: str = "none",
    fractions: Sequence[float] = (1.0, 1.0, 1.0),
    seed: int = 0,
    valid_chroms: Sequence[str] = (),
    test_chroms: Sequence[str] = (),
) -> dict[str, Path]:
    """Write the CSV (``split="none"``: ``out`` is the file, ``.gz`` compresses) or ``train/valid/test.csv`` in
    the directory ``out``, with the JSON manifest (``x.json`` beside ``x.csv``, or ``out/featurize.json``).

    Every file is first written into a temporary directory beside ``out`` and moved into place
    only once all were written, so a failure leaves no partial output.

    Returns
    -------
    dict
        Written paths by role (``all`` or the split names, and ``manifest``).

    Raises
    ------
    ValueError
        On an unknown split, a split without labels, or a split that would hold no genes.
    """
    if split not in SPLIT_METHODS:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLIT_METHODS)}")
    if split != "none" and result.data.labels is None:
        raise ValueError("splitting into train/valid/test needs labels: give an expression table (--expression, --cell)")
    out = Path(out)
    parts = split_genes(result.chroms, split, fractions=fractions, seed=seed, valid_chroms=valid_chroms, test_chroms=test_chroms)
    if split == "none":
        targets = {"all": out}
        manifest = manifest_path(out)
    else:
        targets = {name: out / f"{name}.csv" for name in parts}
        manifest = out / MANIFEST_NAME
    report = dict(result.report)
    report["parameters"] = {**report["parameters"], "split": split}
    if split in ("contiguous", "random"):
        report["parameters"]["fractions"] = [float(f) for f in fractions]
    if split == "random":
        report["parameters"]["seed"] = seed
    if split == "chromosome":
        report["parameters"]["valid_chroms"], report["parameters"]["test_chroms"] = list(valid_chroms), list(test_chroms)
    report["outputs"] = {}
    for name, idx in parts.items():
        entry = {"path": str(targets[name]), "genes": int(len(idx))}
        if result.data.labels is not None:
            entry["label_1"] = int(result.data.labels[idx].sum())
        report["outputs"][name] = entry
    report["manifest"] = str(manifest)

    # Stage every file in a temporary directory beside the output, then move them into place.
    with staging_directory(out, beside=split == "none") as staging:  # one CSV: its files go beside out, not into it
        staged = {}
        for name, idx in parts.items():
            staged[name] = staging / targets[name].name
            write_csv(result.data.subset(idx), staged[name])
        staged["manifest"] = staging / manifest.name
        staged["manifest"].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        if split != "none":
            out.mkdir(exist_ok=True)
        for name, final in {**targets, "manifest": manifest}.items():
            os.replace(staged[name], final)
    return {**targets, "manifest": manifest}


# --------------------------------------------------------------------------- helpers


def count_mark(task: tuple[str, Path, WindowPlan, CountOptions]) -> MarkCounts:
    """Count one mark file: a unit of work for a Dask worker (``(kind, path, plan, options)``)."""
    kind, path, plan, options = task
    return _READERS[kind](path, plan, options, advance=lambda n=1: None)


def _count_on_dask(
    mark_names: list[str], paths: dict[str, Path], kinds: dict[str, str], plan: WindowPlan, options: CountOptions, *,
    jobs: int, scheduler: str | None, progress: bool | None,
) -> dict[str, MarkCounts]:  # fmt: skip
    """One task per mark file; the first failure (a broken file, say) fails the whole call, as a serial run would."""
    from ..cluster import map_units

    tasks = [(kinds[name], paths[name], plan, options) for name in mark_names]
    with _progress.progress_bar(len(tasks), "marks", enabled=progress) as advance:
        results = map_units(
            count_mark, tasks, jobs=min(jobs, len(tasks)), scheduler=scheduler,
            on_done=lambda index, result: advance(1), on_status=lambda c: advance(0, description=f"marks: {c['done']}/{c['total']} counted"),
        )  # fmt: skip
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return dict(zip(mark_names, results))


def _mark_order(marks: Mapping[str, str | Path], standard_marks: bool) -> list[str]:
    names = list(marks)
    if not names:
        raise ValueError("no marks given; give each mark as NAME=PATH (--mark H3K4me3=h3k4me3.bam)")
    if not standard_marks:
        return names
    unknown = [n for n in names if n not in MARKS]
    if unknown:
        raise ValueError(f"unknown mark {unknown[0]!r}; the marks are {', '.join(MARKS)} (pass --any-marks to featurize other marks)")
    missing = [m for m in MARKS if m not in names]
    if missing:
        raise ValueError(f"missing mark(s) {', '.join(missing)}: give each as --mark NAME=PATH (the model reads all of {', '.join(MARKS)})")
    return list(MARKS)


def _precheck(path: Path, kind: str) -> None:
    """Open each mark file once so that a bad one fails before any counting."""
    if kind == "bam":
        open_bam(path).close()
    elif kind == "bigwig":
        open_bigwig(path).close()
    else:
        _sniff(path)


def _clipped(plan: WindowPlan, counted: dict[str, MarkCounts]) -> np.ndarray:
    """Genes whose window starts before 0 or ends after the chromosome (when a file gives lengths)."""
    clipped = plan.lo < 0
    lengths: dict[str, int] = {}
    for result in counted.values():
        for chrom, length in (result.chrom_lengths or {}).items():
            lengths.setdefault(chrom, length)
    if lengths:
        end = np.array([lengths.get(c, np.iinfo(np.int64).max) for c in plan.chroms.tolist()], dtype=np.int64)
        clipped |= plan.lo + plan.layout.width > end
    return clipped
