"""Counts equal ``bedtools multicov`` (BAM) and ``bedtools intersect -c`` (BED reads) on the same bins.

Skipped when the ``bedtools`` binary is absent (Debian/Ubuntu: ``apt-get install bedtools``).
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from attentivechrome.featurize import BinLayout, featurize, read_genes, windows

BEDTOOLS = shutil.which("bedtools")
pytestmark = pytest.mark.skipif(BEDTOOLS is None, reason="bedtools is not installed")

LAYOUT = dict(bin_size=100, flank=1000)  # 20 bins


@pytest.fixture(scope="module")
def random_inputs(tmp_path_factory):
    """40 genes (some near chromosome ends) and 4,000 reads with mixed flags, MAPQs and lengths
    (plus 120 spliced or gapped alignments in the BAM)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_featurize_conftest", Path(__file__).with_name("conftest.py"))
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)

    tmp = tmp_path_factory.mktemp("bedtools")
    rng = np.random.default_rng(11)
    genes = []
    for i in range(40):
        chrom, length = helpers.CHROMS[i % 2]
        tss = int(rng.integers(200, length - 200)) if i > 1 else (150 if i == 0 else length - 150)
        genes.append((f"g{i}", chrom, tss, "+" if rng.random() < 0.5 else "-"))
    reads = []
    for _ in range(4000):
        chrom, length = helpers.CHROMS[int(rng.random() < 0.33)]
        size = int(rng.choice([36, 36, 36, 50, 150, 400]))
        start = int(rng.integers(0, length - size))
        flag = int(rng.choice([0, 0x10, 0x10, 0, 0x400, 0x200, 0x100, 0x800]))
        reads.append((chrom, start, size, flag, int(rng.integers(0, 61))))
    # Spliced and gapped alignments (BAM only): their span includes the N and D runs, as multicov without -split.
    spliced = [(c, s, cigar, 0, 60) for c, s, cigar in [("chr1", int(x), "20M300N16M") for x in rng.integers(0, 50_000, 60)]]
    spliced += [("chr2", int(x), "10M40D26M", 0x10, 60) for x in rng.integers(0, 25_000, 60)]
    return {
        "bam": helpers.write_bam(tmp / "r.bam", reads + spliced),
        "bed": helpers.write_tagalign(tmp / "r.bed", reads),
        "gtf": helpers.write_gtf(tmp / "g.gtf", genes),
        "chroms": dict(helpers.CHROMS),
        "tmp": tmp,
    }


def _bins_bed(random_inputs, orientation):
    """The bins as BED lines in genomic order (clipped to the chromosome), and each bin's (gene, output bin)."""
    genes = read_genes(random_inputs["gtf"])
    layout = BinLayout(**LAYOUT)
    lo, reverse = windows(genes.tss, genes.strand, layout, orientation)
    lines, where = [], []
    for g in range(len(genes)):
        for k in range(layout.n_bins):
            a, b = lo[g] + k * layout.bin_size, lo[g] + (k + 1) * layout.bin_size
            a, b = max(a, 0), min(b, random_inputs["chroms"][genes.chroms[g]])
            if a >= b:
                continue  # wholly outside the chromosome: ours is 0 there (checked below)
            lines.append(f"{genes.chroms[g]}\t{a}\t{b}\n")
            where.append((g, layout.n_bins - 1 - k if reverse[g] else k))
    path = random_inputs["tmp"] / f"bins_{orientation}.bed"
    path.write_text("".join(lines))
    return path, where


def _bedtools(*args) -> np.ndarray:
    out = subprocess.run([BEDTOOLS, *map(str, args)], capture_output=True, text=True, check=True).stdout
    return np.array([int(line.rsplit("\t", 1)[1]) for line in out.splitlines()])


@pytest.mark.parametrize("orientation", ["stranded", "genomic"])
@pytest.mark.parametrize(
    "flags,options",
    [([], {}), (["-q", "30"], {"min_mapq": 30}), (["-D"], {"keep_duplicates": True}), (["-F"], {"keep_qcfail": True})],
    ids=["default", "mapq30", "duplicates", "qcfail"],
)
def test_bam_counts_equal_multicov(random_inputs, orientation, flags, options):
    bins_bed, where = _bins_bed(random_inputs, orientation)
    expected = _bedtools("multicov", *flags, "-bams", random_inputs["bam"], "-bed", bins_bed)
    result = featurize({"m": random_inputs["bam"]}, random_inputs["gtf"], orientation=orientation, standard_marks=False, progress=False, **LAYOUT, **options)
    counts = result.data.counts[:, :, 0]
    ours = np.array([counts[g, b] for g, b in where])
    assert expected.sum() > 1000
    assert np.array_equal(ours, expected)
    inside = np.zeros(counts.shape, dtype=bool)
    inside[tuple(np.array(where).T)] = True
    assert not counts[~inside].any()  # bins wholly outside a chromosome are 0


def test_bed_reads_equal_intersect_c(random_inputs):
    bins_bed, where = _bins_bed(random_inputs, "stranded")
    expected = _bedtools("intersect", "-c", "-a", bins_bed, "-b", random_inputs["bed"])
    result = featurize({"m": random_inputs["bed"]}, random_inputs["gtf"], standard_marks=False, progress=False, **LAYOUT)
    counts = result.data.counts[:, :, 0]
    assert np.array_equal(np.array([counts[g, b] for g, b in where]), expected)
