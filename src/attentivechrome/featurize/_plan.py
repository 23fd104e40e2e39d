"""What every mark reader receives (the windows to fill) and returns (one value per gene and bin)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .bins import BinLayout

CountMode = Literal["overlap", "5prime"]
COUNT_MODES: tuple[str, ...] = ("overlap", "5prime")
BigWigStat = Literal["mean", "sum"]
BIGWIG_STATS: tuple[str, ...] = ("mean", "sum")


@dataclass(frozen=True)
class CountOptions:
    """How reads are counted (BAM and BED inputs) and how bigWig signal is summarised.

    Attributes
    ----------
    count
        ``"overlap"``: reads overlapping a bin by at least 1 bp, each such bin counting the
        read once (``bedtools multicov``); ``"5prime"``: the read's 5' base only (its start
        on ``+``, its last base on ``-``), so each read counts in exactly one bin.
    min_mapq
        BAM only: skip alignments with mapping quality below this (``multicov -q``). Default 0.
    keep_duplicates
        BAM only: count alignments flagged as duplicates (``multicov -D``). Default False.
    keep_qcfail
        BAM only: count alignments flagged as failing QC (``multicov -F``). Default False.
    primary_only
        BAM only: skip secondary and supplementary alignments (``multicov`` counts them). Default False.
    bigwig_stat
        bigWig only: ``"mean"`` (signal per base averaged over the bin; bases without data
        count as 0) or ``"sum"`` (summed over the bin's bases).
    """

    count: CountMode = "overlap"
    min_mapq: int = 0
    keep_duplicates: bool = False
    keep_qcfail: bool = False
    primary_only: bool = False
    bigwig_stat: BigWigStat = "mean"

    def __post_init__(self) -> None:
        if self.count not in COUNT_MODES:
            raise ValueError(f"unknown count mode {self.count!r}; choose one of {', '.join(COUNT_MODES)}")
        if self.bigwig_stat not in BIGWIG_STATS:
            raise ValueError(f"unknown bigWig statistic {self.bigwig_stat!r}; choose one of {', '.join(BIGWIG_STATS)}")
        if not 0 <= self.min_mapq <= 255:
            raise ValueError(f"minimum mapping quality must be within 0..255, got {self.min_mapq}")

    def describe_reads(self, source: str) -> str:
        """One line saying what a value means for a read file."""
        what = (
            "reads overlapping the bin by at least 1 bp (each read counts in every bin it touches, as bedtools multicov)"
            if self.count == "overlap"
            else "reads whose 5' end lies in the bin"
        )
        if source != "bam":
            return what
        filters = ["unmapped"]
        if not self.keep_duplicates:
            filters.append("duplicates")
        if not self.keep_qcfail:
            filters.append("QC-failed")
        if self.primary_only:
            filters.append("secondary/supplementary")
        if self.min_mapq:
            filters.append(f"MAPQ < {self.min_mapq}")
        return f"{what}; skipped: {', '.join(filters)}"


@dataclass(frozen=True)
class WindowPlan:
    """The windows to fill: one per gene, in genomic order (see :mod:`.bins`)."""

    layout: BinLayout
    chroms: np.ndarray
    lo: np.ndarray

    def by_chromosome(self) -> dict[str, np.ndarray]:
        """Gene indices per chromosome (first-seen order), each sorted by window start."""
        groups: dict[str, np.ndarray] = {}
        codes, names = _factorize(self.chroms)
        order = np.lexsort((self.lo, codes))
        bounds = np.searchsorted(codes[order], np.arange(len(names) + 1))
        for k, name in enumerate(names):
            groups[str(name)] = order[bounds[k] : bounds[k + 1]]
        return groups


@dataclass
class MarkCounts:
    """One mark's values for every gene and bin, in genomic bin order.

    ``present[g]`` is False when gene g's chromosome is not in the file (the gene is then
    left out of the output; ``missing_chroms`` counts them per chromosome). A read file
    without a header cannot tell a missing chromosome from one without reads: its genes
    stay, zero-filled, and ``unseen_chroms`` counts them. ``renamed`` maps gene chromosome
    names to the file's where they differ; ``chrom_lengths`` holds the file's lengths when
    it declares them.
    """

    values: np.ndarray
    present: np.ndarray
    kind: str
    description: str
    renamed: dict[str, str] = field(default_factory=dict)
    missing_chroms: dict[str, int] = field(default_factory=dict)
    unseen_chroms: dict[str, int] = field(default_factory=dict)
    chrom_lengths: dict[str, int] | None = None
    stats: dict[str, int] = field(default_factory=dict)


def _factorize(values: np.ndarray) -> tuple[np.ndarray, list[str]]:
    names: dict[str, int] = {}
    codes = np.fromiter((names.setdefault(str(v), len(names)) for v in values), dtype=np.int64, count=len(values))
    return codes, list(names)
