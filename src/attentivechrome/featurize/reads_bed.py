"""Read counts per bin from a BED or tagAlign file of reads (plain or gzip; any order).

Each line is one read: ``chrom, start, end[, name, score, strand]`` (0-based, half-open),
tab-separated; leading ``track``, ``browser`` and ``#`` lines are skipped. The file is
streamed in chunks, so it needs no sorting and no index. The counting rule is the one of
:mod:`.bam` (``bedtools multicov``: a read counts in every bin it overlaps by >= 1 bp), or
the read's 5' end with ``count="5prime"`` (needs the strand column).
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import InputFormatError
from ._plan import CountOptions, MarkCounts, WindowPlan
from ._text import is_gzip, read_lines
from .bins import count_overlaps
from .chroms import alternative_name, preview

#: Lines parsed per chunk (memory stays around 100 MB per chunk).
CHUNK_LINES = 2_000_000
_HEADER_PREFIXES = ("track", "browser", "#")


def count_reads_bed(
    path: str | Path,
    plan: WindowPlan,
    options: CountOptions = CountOptions(),
    *,
    advance: Callable[[int], None] = lambda n=1: None,
    chunk_lines: int = CHUNK_LINES,
) -> MarkCounts:
    """Count the reads of a BED/tagAlign file in every bin of ``plan``.

    ``advance`` receives the number of (compressed) bytes read since its last call.

    Raises
    ------
    InputFormatError
        On the first malformed line (naming it), when the file holds no reads, or when
        none of the genes' chromosomes appear in it.
    """
    path = Path(path)
    skip, n_columns = _sniff(path)
    need_strand = options.count == "5prime"
    if n_columns < 3:
        raise InputFormatError(path, skip + 1, f"expected at least 3 tab-separated columns (chrom, start, end), got {n_columns}")
    if need_strand and n_columns < 6:
        raise InputFormatError(path, skip + 1, f"counting 5' ends needs the strand (6th column), but lines have {n_columns} columns")
    layout = plan.layout
    groups = plan.by_chromosome()
    values = np.zeros((len(plan.lo), layout.n_bins), dtype=np.float64)
    usecols = [0, 1, 2, 5] if need_strand else [0, 1, 2]
    dtypes = {0: str, 1: np.int64, 2: np.int64, 5: str}
    reads_per_chrom: dict[str, int] = {}
    target: dict[str, str | None] = {}
    counted = 0
    with open(path, "rb") as raw:
        stream = gzip.GzipFile(fileobj=raw) if is_gzip(path) else raw
        position = 0
        try:
            reader = pd.read_csv(
                stream,
                sep="\t",
                header=None,
                usecols=usecols,
                dtype={c: dtypes[c] for c in usecols},
                skiprows=skip,
                chunksize=chunk_lines,
                engine="c",
                na_filter=False,
            )
            for chunk in reader:
                counted += _count_chunk(chunk, need_strand, groups, plan, values, reads_per_chrom, target, path, skip)
                advance(raw.tell() - position)
                position = raw.tell()
        except (ValueError, pd.errors.ParserError, EOFError, OSError, UnicodeDecodeError) as err:
            if isinstance(err, (FileNotFoundError, PermissionError)):
                raise
            _raise_first_bad_line(path, skip, need_strand)
            raise InputFormatError(path, None, f"could not be read as BED/tagAlign reads ({str(err).splitlines()[0]})") from err
    if not reads_per_chrom:
        raise InputFormatError(path, None, "holds no reads")
    if groups and not any(target.get(c) for c in reads_per_chrom):
        raise InputFormatError(
            path, None, f"none of the genes' chromosomes ({preview(list(groups))}) has reads in this file (it has {preview(list(reads_per_chrom))}); is it the same genome build?"
        )
    seen = {target[c] for c in reads_per_chrom if target.get(c)}
    return MarkCounts(
        values=values,
        present=np.ones(len(plan.lo), dtype=bool),
        kind="bed",
        description=options.describe_reads("bed"),
        renamed={g: f for f, g in target.items() if g is not None and g != f},
        unseen_chroms={g: int(len(genes)) for g, genes in groups.items() if g not in seen},
        stats={"reads": int(sum(reads_per_chrom.values())), "reads_on_gene_chromosomes": counted},
    )


def _count_chunk(chunk, need_strand, groups, plan, values, reads_per_chrom, target, path, skip) -> int:
    start = chunk[1].to_numpy(dtype=np.int64)
    end = chunk[2].to_numpy(dtype=np.int64)
    if np.any((start < 0) | (end <= start)) or (need_strand and not chunk[5].isin(["+", "-"]).all()):
        _raise_first_bad_line(path, skip, need_strand)
    codes, names = pd.factorize(chunk[0].to_numpy())
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
    minus = chunk[5].to_numpy() == "-" if need_strand else None
    counted = 0
    for k, name in enumerate(names):
        name = str(name)
        rows = order[bounds[k] : bounds[k + 1]]
        reads_per_chrom[name] = reads_per_chrom.get(name, 0) + len(rows)
        if name not in target:
            target[name] = name if name in groups else alternative_name(name) if alternative_name(name) in groups else None
        chrom = target[name]
        if chrom is None:
            continue
        s, e = start[rows], end[rows]
        if minus is not None:
            s = np.where(minus[rows], e - 1, s)
            e = s + 1
        genes = groups[chrom]
        values[genes] += count_overlaps(s, e, plan.lo[genes], plan.layout)
        counted += len(rows)
    return counted


def _sniff(path: Path) -> tuple[int, int]:
    """Number of leading header lines, and the column count of the first read line."""
    skip = 0
    for _, line in read_lines(path):
        if line.startswith(_HEADER_PREFIXES) or not line.strip():
            skip += 1
            continue
        return skip, len(line.split("\t"))
    raise InputFormatError(path, None, "holds no reads")


def _raise_first_bad_line(path: Path, skip: int, need_strand: bool) -> None:
    """Scan the lines and raise an InputFormatError naming the first malformed one (if any)."""
    for line_no, line in read_lines(path):
        if line_no <= skip:
            continue
        fields = line.split("\t")
        if len(fields) < 3:
            raise InputFormatError(path, line_no, f"expected at least 3 tab-separated columns (chrom, start, end), got {len(fields)}")
        try:
            start, end = int(fields[1]), int(fields[2])
        except ValueError:
            raise InputFormatError(path, line_no, f"start and end must be integers, got {fields[1]!r} and {fields[2]!r}") from None
        if start < 0 or end <= start:
            raise InputFormatError(path, line_no, f"expected 0 <= start < end, got start {start} and end {end}")
        if need_strand and (len(fields) < 6 or fields[5] not in ("+", "-")):
            got = fields[5] if len(fields) >= 6 else "nothing"
            raise InputFormatError(path, line_no, f"strand (6th column) must be '+' or '-' to count 5' ends, got {got!r}")
