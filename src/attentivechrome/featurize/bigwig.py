"""Signal per bin from a bigWig track (pyBigWig).

Per-base values are read for each merged region of windows; bases without data count
as 0. A bin's value is the sum of its bases' values (``stat="sum"``) or that sum divided
by the bin size (``stat="mean"``, the default), so a bin that sticks out of the chromosome
is averaged over its full width with the missing bases as 0.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..exceptions import InputFormatError
from ._plan import CountOptions, MarkCounts, WindowPlan
from .bins import merge_windows
from .chroms import match_chromosomes, preview

_BIGWIG_MAGIC = (0x888FFC26).to_bytes(4, "little")


def open_bigwig(path: str | Path):
    """Open a bigWig file (raises InputFormatError when it is not one)."""
    import pyBigWig

    path = Path(path)
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != _BIGWIG_MAGIC:
        raise InputFormatError(path, None, "is not a bigWig file (wrong magic number)")
    try:
        bw = pyBigWig.open(str(path))
    except RuntimeError as err:
        raise InputFormatError(path, None, f"is a damaged bigWig file ({err})") from err
    if bw is None or not bw.isBigWig():
        raise InputFormatError(path, None, "is not a bigWig file")
    return bw


def signal_bigwig(
    path: str | Path,
    plan: WindowPlan,
    options: CountOptions = CountOptions(),
    *,
    advance: Callable[[int], None] = lambda n=1: None,
) -> MarkCounts:
    """Summarise the bigWig signal of ``path`` in every bin of ``plan`` (``options.bigwig_stat``).

    Genes on chromosomes the file does not declare get ``present`` False.
    """
    path = Path(path)
    layout = plan.layout
    values = np.zeros((len(plan.lo), layout.n_bins), dtype=np.float64)
    present = np.ones(len(plan.lo), dtype=bool)
    groups = plan.by_chromosome()
    bw = open_bigwig(path)
    try:
        lengths = {str(k): int(v) for k, v in bw.chroms().items()}
        mapping = match_chromosomes(groups, lengths)
        if groups and not any(mapping.values()):
            raise InputFormatError(
                path, None, f"none of the genes' chromosomes ({preview(list(groups))}) is in this bigWig (it has {preview(list(lengths))}); is it the same genome build?"
            )
        for chrom, genes in groups.items():
            source = mapping[chrom]
            if source is None:
                present[genes] = False
            else:
                values[genes] = _bin_sums(bw, source, lengths[source], plan.lo[genes], layout)
            advance(1)
    finally:
        bw.close()
    if options.bigwig_stat == "mean":
        values /= layout.bin_size
    description = (
        "bigWig signal averaged over the bin's bases (bases without data count as 0)"
        if options.bigwig_stat == "mean"
        else "bigWig signal summed over the bin's bases"
    )
    return MarkCounts(
        values=values,
        present=present,
        kind="bigwig",
        description=description,
        renamed={g: s for g, s in mapping.items() if s is not None and s != g},
        missing_chroms={g: int(len(groups[g])) for g, s in mapping.items() if s is None},
        chrom_lengths={g: lengths[s] for g, s in mapping.items() if s is not None},
    )


def _bin_sums(bw, chrom: str, length: int, lo: np.ndarray, layout) -> np.ndarray:
    """Sum of per-base values in each bin of the windows starting at ``lo`` (sorted) on ``chrom``."""
    n_bins, size = layout.n_bins, layout.bin_size
    out = np.zeros((len(lo), n_bins), dtype=np.float64)
    region_lo, region_hi = merge_windows(lo, layout.width)
    # Windows are assigned to the region holding them: regions are disjoint and sorted.
    region_of = np.searchsorted(region_lo, lo, side="right") - 1
    edges = np.arange(n_bins + 1) * size  # bin edges relative to a window start
    for r, (a, b) in enumerate(zip(region_lo.tolist(), region_hi.tolist())):
        inside = np.flatnonzero(region_of == r)
        clip_a, clip_b = max(a, 0), min(b, length)
        padded = np.zeros(b - a, dtype=np.float64)
        if clip_a < clip_b:
            signal = np.asarray(bw.values(chrom, clip_a, clip_b, numpy=True), dtype=np.float64)
            padded[clip_a - a : clip_b - a] = np.nan_to_num(signal, nan=0.0)
        cumulative = np.concatenate(([0.0], np.cumsum(padded)))
        # (genes in region, bins + 1) edge positions -> differences give per-bin sums
        at = cumulative[(lo[inside] - a)[:, None] + edges[None, :]]
        out[inside] = np.diff(at, axis=1)
    return out
