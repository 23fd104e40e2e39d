"""Builders of tiny BAM, tagAlign, bigWig and annotation files for the featurize tests."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

#: The tiny genome of these tests.
CHROMS = (("chr1", 60_000), ("chr2", 30_000))


def write_bam(
    path: Path,
    reads,
    *,
    chroms=CHROMS,
    sort_order: str | None = "coordinate",
    index: bool = True,
    sort: bool = True,
) -> Path:
    """Write ``reads`` = [(chrom, start, length_or_cigar, flag, mapq), ...] (flag and mapq optional)."""
    import pysam

    header = {"SQ": [{"SN": c, "LN": n} for c, n in chroms]}
    if sort_order is not None:
        header["HD"] = {"VN": "1.6", "SO": sort_order}
    names = [c for c, _ in chroms]
    rows = [tuple(r) + (0, 60)[len(r) - 3 :] for r in reads]
    if sort:
        rows.sort(key=lambda r: (names.index(r[0]), r[1]))
    with pysam.AlignmentFile(str(path), "wb", header=header) as out:
        for i, (chrom, start, shape, flag, mapq) in enumerate(rows):
            read = pysam.AlignedSegment(out.header)
            read.query_name = f"read{i}"
            read.reference_id = names.index(chrom)
            read.reference_start = start
            read.flag = flag
            read.mapping_quality = mapq
            cigar = shape if isinstance(shape, str) else f"{shape}M"
            read.cigarstring = cigar
            read.query_sequence = "A" * sum(int(n) for n, op in _cigar_ops(cigar) if op in "MIS=X")
            out.write(read)
    if index:
        pysam.index(str(path))
    return path


def _cigar_ops(cigar: str):
    import re

    return re.findall(r"(\d+)([MIDNSHP=X])", cigar)


def write_tagalign(path: Path, reads, *, compress: bool | None = None) -> Path:
    """Write reads as tagAlign lines (chrom, start, end, name, score, strand); ``.gz`` compresses."""
    lines = []
    for i, (chrom, start, length, flag, *_) in enumerate(tuple(r) + (0,) * (4 - len(r)) for r in reads):
        if flag & (0x4 | 0x400 | 0x200):
            continue
        lines.append(f"{chrom}\t{start}\t{start + length}\tN\t1000\t{'-' if flag & 0x10 else '+'}\n")
    text = "".join(lines)
    if compress if compress is not None else str(path).endswith(".gz"):
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def write_bigwig(path: Path, intervals, *, chroms=CHROMS) -> Path:
    """Write a bigWig from [(chrom, start, end, value), ...] (sorted, non-overlapping)."""
    import pyBigWig

    bw = pyBigWig.open(str(path), "w")
    bw.addHeader(list(chroms))
    for chrom, start, end, value in intervals:
        bw.addEntries([chrom], [start], ends=[end], values=[float(value)])
    bw.close()
    return path


def write_gtf(path: Path, genes) -> Path:
    """Write gene records: [(gene_id, chrom, tss_0based, strand), ...] as a GTF with 2-kb genes."""
    lines = ["#!genome-build test\n"]
    for gene_id, chrom, tss, strand in genes:
        start, end = (tss + 1, tss + 2000) if strand == "+" else (max(1, tss - 1998), tss + 1)
        attributes = f'gene_id "{gene_id}"; gene_type "protein_coding"; gene_name "{gene_id}x";'
        lines.append(f"{chrom}\ttest\tgene\t{start}\t{end}\t.\t{strand}\t.\t{attributes}\n")
        lines.append(f"{chrom}\ttest\texon\t{start}\t{end}\t.\t{strand}\t.\t{attributes}\n")
    path.write_text("".join(lines))
    return path


@pytest.fixture
def dataset_files(tmp_path) -> dict:
    """24 genes on chr1 (alternating strands), one read set as BAM, tagAlign.gz and a depth bigWig,
    and an expression table whose labels alternate (so every contiguous third holds both classes)."""
    rng = np.random.default_rng(7)
    genes, reads = [], []
    for i in range(24):
        tss = 10_000 + 15_000 * i
        strand = "+" if i % 2 == 0 else "-"
        genes.append((f"G{i:02d}", "chr1", tss, strand))
        n = 40 if i % 3 else 10
        for s in rng.integers(tss - 5200, tss + 5200, n):
            reads.append(("chr1", int(s), 36, 16 * int(rng.integers(0, 2)), 60))
    chroms = (("chr1", 400_000),)
    depth = np.zeros(400_000)
    for _, s, n, *_ in reads:
        depth[s : s + n] += 1
    change = np.flatnonzero(np.diff(depth)) + 1
    bounds = np.concatenate(([0], change, [len(depth)]))
    intervals = [("chr1", int(a), int(b), depth[a]) for a, b in zip(bounds[:-1], bounds[1:]) if depth[a] > 0]
    expression = tmp_path / "rpkm.tsv"
    rows = ["gene_id\tE003\tE004"] + [f"G{i:02d}\t{(i % 2) * 10 + i * 0.01:.2f}\t1" for i in range(24)]
    expression.write_text("\n".join(rows) + "\n")
    return {
        "bam": write_bam(tmp_path / "reads.bam", reads, chroms=chroms),
        "tagalign": write_tagalign(tmp_path / "reads.tagAlign.gz", reads),
        "bigwig": write_bigwig(tmp_path / "depth.bw", intervals, chroms=chroms),
        "gtf": write_gtf(tmp_path / "genes.gtf", genes),
        "expression": expression,
        "genes": genes,
        "reads": reads,
    }


@pytest.fixture
def build():
    """The file builders of this module, for tests (``build.bam(path, reads)``, ...)."""
    from types import SimpleNamespace

    return SimpleNamespace(bam=write_bam, tagalign=write_tagalign, bigwig=write_bigwig, gtf=write_gtf, chroms=CHROMS)
