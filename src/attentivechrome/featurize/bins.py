"""Window and bin arithmetic around each TSS, and the per-bin read counter (pure NumPy, no file I/O).

Coordinates are 0-based and half-open, as in BED and pysam. A gene's TSS is the 0-based
position of its first transcribed base. With ``flank = 5000`` and ``bin_size = 100``
each gene gets 100 bins; position ``p`` is counted from the TSS in the gene's 5'->3'
direction (``p = 0`` is the TSS base), and bin ``b`` (1-based) covers
``p`` in ``[-flank + bin_size (b - 1), -flank + bin_size b)``. Bins 1..50 are upstream and
bin 51 starts at the TSS.

Two orientations are offered:

``stranded`` (default)
    Bins run 5'->3' along the gene. On the ``+`` strand bin ``b`` is the genomic interval
    ``[tss - flank + size (b-1), tss - flank + size b)``; on the ``-`` strand the window is
    ``[tss - flank + 1, tss + flank + 1)`` and bin 1 is its highest-coordinate bin.
``genomic``
    Bins run in increasing genomic coordinate for every gene, over ``[tss - flank,
    tss + flank)`` whatever the strand. This is how the published REMC files (and the
    published weights) appear to be laid out; for a ``-`` strand gene it is the
    ``stranded`` window shifted by one base and listed in reverse.

Every window is described by its lowest genomic coordinate ``lo`` and a ``reverse`` flag;
counting happens in genomic order and :func:`orient` flips the reversed genes at the end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Orientation = Literal["stranded", "genomic"]
ORIENTATIONS: tuple[str, ...] = ("stranded", "genomic")

#: Upper bound on (read, gene) pairs handled at once by :func:`count_overlaps` (bounds memory).
_MAX_PAIRS = 4_000_000


@dataclass(frozen=True)
class BinLayout:
    """The bin grid shared by all genes: ``n_bins`` bins of ``bin_size`` bp, ``flank`` bp each side."""

    bin_size: int = 100
    flank: int = 5000

    def __post_init__(self) -> None:
        if self.bin_size < 1:
            raise ValueError(f"bin size must be a positive number of bases, got {self.bin_size}")
        if self.flank < self.bin_size:
            raise ValueError(f"flank ({self.flank}) must be at least one bin ({self.bin_size} bp)")
        if self.flank % self.bin_size:
            raise ValueError(
                f"flank ({self.flank}) must be a multiple of the bin size ({self.bin_size}) so that a bin starts at the TSS; "
                f"try --flank {self.flank - self.flank % self.bin_size}"
            )

    @property
    def n_bins(self) -> int:
        return 2 * self.flank // self.bin_size

    @property
    def width(self) -> int:
        """Bases covered by one gene's window."""
        return 2 * self.flank


def windows(tss: np.ndarray, strand: np.ndarray, layout: BinLayout, orientation: Orientation = "stranded") -> tuple[np.ndarray, np.ndarray]:
    """Lowest coordinate and reverse flag of each gene's window.

    Parameters
    ----------
    tss
        0-based TSS positions, shape (genes,).
    strand
        ``"+"`` or ``"-"`` per gene, shape (genes,).
    layout
        Bin size and flank.
    orientation
        ``"stranded"`` (5'->3') or ``"genomic"``. Default: ``"stranded"``.

    Returns
    -------
    lo : ndarray of int64, shape (genes,)
        Window start; the window is ``[lo, lo + layout.width)``. May be negative near a
        chromosome start (those bins are zero-filled).
    reverse : ndarray of bool, shape (genes,)
        True where bin 1 is the highest-coordinate bin.

    Examples
    --------
    >>> lo, rev = windows(np.array([10_000, 10_000]), np.array(["+", "-"]), BinLayout(100, 5000))
    >>> lo.tolist(), rev.tolist()
    ([5000, 5001], [False, True])
    """
    if orientation not in ORIENTATIONS:
        raise ValueError(f"unknown orientation {orientation!r}; choose one of {', '.join(ORIENTATIONS)}")
    tss = np.asarray(tss, dtype=np.int64)
    minus = np.asarray(strand) == "-"
    if orientation == "genomic":
        return tss - layout.flank, np.zeros(len(tss), dtype=bool)
    return tss - layout.flank + minus.astype(np.int64), minus


def orient(counts: np.ndarray, reverse: np.ndarray) -> np.ndarray:
    """Flip the bin axis of the genes marked ``reverse``; ``counts`` is (genes, bins[, ...])."""
    out = counts.copy()
    out[reverse] = counts[reverse, ::-1]
    return out


def merge_windows(lo: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge overlapping or touching windows ``[lo, lo + width)`` into regions.

    ``lo`` must be sorted. Returns region starts and ends (half-open), each of shape (regions,).
    """
    if len(lo) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    hi = lo + width
    # A new region starts where a window begins after every earlier window has ended.
    reach = np.maximum.accumulate(hi)
    new = np.ones(len(lo), dtype=bool)
    new[1:] = lo[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:], len(lo)) - 1
    return lo[first], reach[last]


def count_overlaps(
    read_start: np.ndarray,
    read_end: np.ndarray,
    lo: np.ndarray,
    layout: BinLayout,
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Count the reads overlapping each bin by at least one base (``bedtools multicov`` rule).

    A read that spans two bins counts once in each. Bins are in genomic order here
    (apply :func:`orient` afterwards).

    Parameters
    ----------
    read_start, read_end
        Half-open read intervals on one chromosome, shape (reads,); any order.
    lo
        Window starts of the genes on that chromosome, shape (genes,).
    layout
        Bin size and flank.
    out
        Optional (genes, bins) array to add the counts to.

    Returns
    -------
    ndarray of shape (genes, bins)
        The counts (int64 unless ``out`` is given).

    Examples
    --------
    >>> layout = BinLayout(bin_size=10, flank=20)
    >>> count_overlaps(np.array([5, 18, 39]), np.array([15, 25, 45]), np.array([0]), layout)
    array([[1, 2, 1, 1]])
    """
    n_bins, size = layout.n_bins, layout.bin_size
    lo = np.asarray(lo, dtype=np.int64)
    if out is None:
        out = np.zeros((len(lo), n_bins), dtype=np.int64)
    if len(read_start) == 0 or len(lo) == 0:
        return out
    start = np.asarray(read_start, dtype=np.int64)
    end = np.asarray(read_end, dtype=np.int64)
    if np.any(start[1:] < start[:-1]):
        order = np.argsort(start, kind="stable")
        start, end = start[order], end[order]
    longest = int(np.max(end - start))
    # Candidate reads of gene g start in (lo - longest, lo + width): earlier ones end before lo.
    left = np.searchsorted(start, lo - longest + 1, side="left")
    right = np.searchsorted(start, lo + layout.width, side="left")
    per_gene = right - left
    # Process genes in chunks so the (read, gene) pair arrays stay bounded.
    chunk_ends = _chunk_bounds(per_gene, _MAX_PAIRS)
    begin = 0
    for stop in chunk_ends:
        genes = np.arange(begin, stop)
        _count_chunk(start, end, lo, left[genes], per_gene[genes], genes, layout, out)
        begin = stop
    return out


def _chunk_bounds(per_gene: np.ndarray, max_pairs: int) -> list[int]:
    """End indices of consecutive gene chunks holding at most ``max_pairs`` pairs (at least one gene each)."""
    cumulative = np.cumsum(per_gene)
    bounds: list[int] = []
    begin, n = 0, len(per_gene)
    while begin < n:
        base = cumulative[begin - 1] if begin else 0
        stop = int(np.searchsorted(cumulative, base + max_pairs, side="right"))
        begin = min(max(stop, begin + 1), n)
        bounds.append(begin)
    return bounds


def _count_chunk(
    start: np.ndarray,
    end: np.ndarray,
    lo: np.ndarray,
    left: np.ndarray,
    per_gene: np.ndarray,
    genes: np.ndarray,
    layout: BinLayout,
    out: np.ndarray,
) -> None:
    n_bins, size = layout.n_bins, layout.bin_size
    total = int(per_gene.sum())
    if total == 0:
        return
    # Expand each gene's candidate range [left, left + per_gene) into (read, gene) pairs.
    local = np.repeat(np.arange(len(genes)), per_gene)  # (pairs,) index into this chunk's genes
    offsets = np.arange(total) - np.repeat(np.cumsum(per_gene) - per_gene, per_gene)
    reads = np.repeat(left, per_gene) + offsets
    window_lo = lo[genes][local]
    keep = end[reads] > window_lo  # overlaps the window by at least one base
    local, reads, window_lo = local[keep], reads[keep], window_lo[keep]
    first = np.maximum((start[reads] - window_lo) // size, 0)
    last = np.minimum((end[reads] - 1 - window_lo) // size, n_bins - 1)
    # Difference array per gene: +1 at the first bin a read touches, -1 after its last bin.
    stride = n_bins + 1
    diff = np.bincount(local * stride + first, minlength=len(genes) * stride)
    diff -= np.bincount(local * stride + last + 1, minlength=len(genes) * stride)
    # (chunk genes * (bins + 1),) -> (chunk genes, bins + 1) -> running sum, drop the overflow column
    counts = np.cumsum(diff.reshape(len(genes), stride), axis=1)[:, :n_bins]
    out[genes] += counts.astype(out.dtype, copy=False)
