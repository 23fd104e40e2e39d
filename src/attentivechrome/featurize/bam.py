"""Read counts per bin from a coordinate-sorted, indexed BAM file (pysam).

Only the reads inside the gene windows are read: the windows of each chromosome are merged
into regions, each region is fetched through the index, and a read fetched by two
neighbouring regions is kept once. With the default options the counts equal
``bedtools multicov -bams FILE -bed WINDOWS`` on the same bins, except that an unmapped read
placed at its mate's position is never counted here (multicov counts it when ``-q`` is 0).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np

from ..exceptions import InputFormatError
from ._plan import CountOptions, MarkCounts, WindowPlan
from .bins import count_overlaps, merge_windows
from .chroms import match_chromosomes

_UNMAPPED, _REVERSE, _SECONDARY, _QCFAIL, _DUPLICATE, _SUPPLEMENTARY = 0x4, 0x10, 0x100, 0x200, 0x400, 0x800


def open_bam(path: str | Path):
    """Open a BAM file for counting, after checking it is sorted by coordinate and indexed.

    Raises
    ------
    InputFormatError
        When the file is not BAM, says it is not coordinate-sorted, or has no index.
    """
    import pysam

    path = Path(path)
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic == b"CRAM":
        raise InputFormatError(path, None, "is a CRAM file; convert it to BAM (samtools view -b) and index it")
    try:
        bam = pysam.AlignmentFile(str(path), "rb")
    except (ValueError, OSError) as err:
        raise InputFormatError(path, None, f"is not a readable BAM file ({str(err).splitlines()[0] if str(err) else type(err).__name__})") from err
    order = bam.header.to_dict().get("HD", {}).get("SO", "")
    if order in ("unsorted", "queryname"):
        bam.close()
        raise InputFormatError(
            path, None, f"is not sorted by coordinate (its header says SO:{order}); sort and index it: samtools sort -o sorted.bam {path} && samtools index sorted.bam"
        )
    if not bam.has_index():
        bam.close()
        raise InputFormatError(
            path, None, f"has no index (.bai or .csi beside it); create one with `samtools index {path}` (the BAM must be sorted by coordinate)"
        )
    index = _index_file(path)
    # htslib only warns about an index older than its BAM, then reads wrong offsets and
    # silently miscounts; refuse it instead.
    if index is not None and index.stat().st_mtime < path.stat().st_mtime:
        bam.close()
        raise InputFormatError(
            path, None, f"its index {index.name} is older than the BAM, so it may not describe this file; re-index it: samtools index {path}"
        )
    return bam


def _index_file(path: Path) -> Path | None:
    """The index htslib finds beside ``path`` (``X.bam.bai``, ``X.bai`` or ``X.bam.csi``), if any."""
    for candidate in (Path(f"{path}.bai"), path.with_suffix(".bai"), Path(f"{path}.csi")):
        if candidate.is_file():
            return candidate
    return None


@contextmanager
def _opened_bam(path: Path):
    """:func:`open_bam` as a context; a failing close never hides the error that ended the block."""
    bam = open_bam(path)
    try:
        yield bam
    except BaseException:
        with suppress(OSError):  # a damaged file may fail to close too; the first error is the one to report
            bam.close()
        raise
    bam.close()


def count_bam(
    path: str | Path,
    plan: WindowPlan,
    options: CountOptions = CountOptions(),
    *,
    advance: Callable[[int], None] = lambda n=1: None,
) -> MarkCounts:
    """Count the reads of ``path`` in every bin of ``plan``.

    Parameters
    ----------
    path
        Coordinate-sorted BAM with an index.
    plan
        The windows (genomic bin order).
    options
        Counting rule and read filters.
    advance
        Called once per chromosome (progress).

    Returns
    -------
    MarkCounts
        ``values`` of shape (genes, bins); genes on chromosomes missing from the BAM header
        have ``present`` False.
    """
    path = Path(path)
    layout = plan.layout
    values = np.zeros((len(plan.lo), layout.n_bins), dtype=np.float64)
    present = np.ones(len(plan.lo), dtype=bool)
    groups = plan.by_chromosome()
    stats = {"alignments_in_windows": 0, "counted": 0, "skipped": 0}
    with _opened_bam(path) as bam:
        lengths = dict(zip(bam.references, bam.lengths))
        mapping = match_chromosomes(groups, lengths)
        if groups and not any(mapping.values()):
            raise InputFormatError(
                path, None, f"none of the genes' chromosomes ({_names(groups)}) is in this BAM (it has {_names(lengths)}); is it the same genome build?"
            )
        for chrom, genes in groups.items():
            source = mapping[chrom]
            if source is None:
                present[genes] = False
                advance(1)
                continue
            lo = plan.lo[genes]
            start, end, flag, mapq = _fetch_windows(bam, source, lo, layout.width, lengths[source], path)
            keep = _passes(flag, mapq, options)
            stats["alignments_in_windows"] += len(start)
            stats["counted"] += int(keep.sum())
            stats["skipped"] += int((~keep).sum())
            start, end, flag = start[keep], end[keep], flag[keep]
            if options.count == "5prime":
                start = np.where(flag & _REVERSE, end - 1, start)
                end = start + 1
            values[genes] = count_overlaps(start, end, lo, layout)
            advance(1)
    return MarkCounts(
        values=values,
        present=present,
        kind="bam",
        description=options.describe_reads("bam"),
        renamed={g: s for g, s in mapping.items() if s is not None and s != g},
        missing_chroms={g: int(len(groups[g])) for g, s in mapping.items() if s is None},
        chrom_lengths={g: lengths[s] for g, s in mapping.items() if s is not None},
        stats=stats,
    )


def _fetch_windows(bam, chrom: str, lo: np.ndarray, width: int, length: int, path: Path):
    """Start, end, flag and MAPQ of every alignment touching the windows (each alignment once)."""
    region_lo, region_hi = merge_windows(lo, width)
    starts: list[int] = []
    ends: list[int] = []
    flags: list[int] = []
    quals: list[int] = []
    previous_end = -1
    for a, b in zip(np.maximum(region_lo, 0).tolist(), np.minimum(region_hi, length).tolist()):
        if a >= b:
            continue
        try:
            for read in bam.fetch(chrom, a, b):
                flag = read.flag
                start = read.reference_start
                # Unmapped reads (and mapped ones without a CIGAR) have no span; reads starting before the
                # previous region's end were already fetched with it (they overlap it), so they are skipped here.
                end = read.reference_end
                if flag & _UNMAPPED or start < previous_end or end is None:
                    continue
                starts.append(start)
                ends.append(end)
                flags.append(flag)
                quals.append(read.mapping_quality)
        except (OSError, ValueError) as err:
            raise InputFormatError(
                path, None, f"could not be read at {chrom}:{a}-{b} ({err}); the file or its index is damaged or out of date (re-index it)"
            ) from err
        previous_end = b
    start = np.array(starts, dtype=np.int64)
    if len(start) > 1:
        backwards = np.flatnonzero(start[1:] < start[:-1])
        if len(backwards):
            i = int(backwards[0])
            raise InputFormatError(
                path, None, f"is not sorted by coordinate: on {chrom} an alignment at {start[i + 1]} follows one at {start[i]}; sort it with samtools sort and index it again"
            )
    return start, np.array(ends, dtype=np.int64), np.array(flags, dtype=np.int64), np.array(quals, dtype=np.int64)


def _passes(flag: np.ndarray, mapq: np.ndarray, options: CountOptions) -> np.ndarray:
    """Which alignments count under ``options`` (the multicov rules)."""
    drop = np.zeros(len(flag), dtype=np.int64)
    if not options.keep_duplicates:
        drop |= flag & _DUPLICATE
    if not options.keep_qcfail:
        drop |= flag & _QCFAIL
    if options.primary_only:
        drop |= flag & (_SECONDARY | _SUPPLEMENTARY)
    return (drop == 0) & (mapq >= options.min_mapq)


def _names(names) -> str:
    from .chroms import preview

    return preview(list(names))
