"""Counting BAM reads per bin: hand-checked counts, read filters, 5' ends, names, clipping, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from attentivechrome.exceptions import InputFormatError
from attentivechrome.featurize import featurize

# bin_size 100, flank 500: 10 bins per gene.
SMALL = dict(bin_size=100, flank=500, standard_marks=False, progress=False)
# Gene P: chr1 +, TSS 10,000 -> window [9500, 10500).
# Gene M: chr1 -, TSS 20,999 -> stranded window [20500, 21500) listed high to low; genomic [20499, 21499).
GENES = [("P", "chr1", 10_000, "+"), ("M", "chr1", 20_999, "-")]
READS = [
    ("chr1", 9500, 36),  # P bin 1
    ("chr1", 9590, 36),  # P bins 1 and 2 (spans the boundary)
    ("chr1", 9464, 36),  # ends exactly at the window start: not counted
    ("chr1", 9465, 36),  # overlaps the window by 1 bp: P bin 1 (its 5' end is outside)
    ("chr1", 10_000, 36),  # P bin 6, the first bin downstream of the TSS
    ("chr1", 10_480, 36),  # P bin 10 (sticks out of the window)
    ("chr1", 10_500, 36),  # starts at the window end: not counted
    ("chr1", 9700, 36, 0x400, 60),  # duplicate: P bin 3 only with keep_duplicates
    ("chr1", 9800, 36, 0, 5),  # MAPQ 5: P bin 4 unless min_mapq > 5
    ("chr1", 9900, 36, 0x200, 60),  # QC fail: P bin 5 only with keep_qcfail
    ("chr1", 10_100, 36, 0x100, 60),  # secondary: P bin 7 unless primary_only
    ("chr1", 10_150, "200M"),  # [10150, 10350): P bins 7, 8, 9
    ("chr1", 10_300, 36, 0x4, 0),  # unmapped (placed): never counted
    ("chr1", 21_450, 36, 0x10, 60),  # reverse: M genomic [21400, 21500) = stranded bin 1
    ("chr1", 20_990, 36),  # M: genomic bins [20900,21000) and [21000,21100) = stranded bins 6 and 5
    ("chr1", 20_999, 36, 0x10, 60),  # M: covers the TSS base, [20999, 21035) -> genomic k 4, 5 -> stranded bins 6, 5
]


@pytest.fixture
def bam(tmp_path, build):
    return build.bam(tmp_path / "reads.bam", READS)


@pytest.fixture
def gtf(tmp_path, build):
    return build.gtf(tmp_path / "genes.gtf", GENES)


def counts_of(result, gene):
    index = result.data.gene_ids.tolist().index(gene)
    return result.data.counts[index, :, 0].astype(int).tolist()


def test_default_counts_match_hand_count(bam, gtf):
    result = featurize({"m": bam}, gtf, **SMALL)
    assert counts_of(result, "P") == [3, 1, 0, 1, 0, 1, 2, 1, 1, 1]
    # M stranded: bin 1 <- [21450,21486); [20990,21026) -> genomic k 4,5 -> bins 6,5; [20999,21035) -> genomic k 4,5.
    assert counts_of(result, "M") == [1, 0, 0, 0, 2, 2, 0, 0, 0, 0]
    # Fetched: 10 alignments touch P's window, 3 touch M's (the unmapped one and the two that only
    # touch the window edges are not fetched); the duplicate and the QC-failed one are skipped.
    assert result.report["inputs"]["marks"]["m"]["reads"] == {"alignments_in_windows": 13, "counted": 11, "skipped": 2}


def test_genomic_orientation(bam, gtf):
    result = featurize({"m": bam}, gtf, orientation="genomic", **SMALL)
    assert counts_of(result, "P") == [3, 1, 0, 1, 0, 1, 2, 1, 1, 1]  # + strand: unchanged
    # M genomic window [20499, 21499): [21450,21486) -> k 9; [20990,21026) -> k 4,5; [20999,21035) -> k 5.
    assert counts_of(result, "M") == [0, 0, 0, 0, 1, 2, 0, 0, 0, 1]


def test_read_filters(bam, gtf):
    assert counts_of(featurize({"m": bam}, gtf, keep_duplicates=True, **SMALL), "P")[2] == 1
    assert counts_of(featurize({"m": bam}, gtf, keep_qcfail=True, **SMALL), "P")[4] == 1
    assert counts_of(featurize({"m": bam}, gtf, min_mapq=6, **SMALL), "P")[3] == 0
    assert counts_of(featurize({"m": bam}, gtf, min_mapq=5, **SMALL), "P")[3] == 1
    assert counts_of(featurize({"m": bam}, gtf, primary_only=True, **SMALL), "P")[6] == 1


def test_five_prime_counting(bam, gtf):
    result = featurize({"m": bam}, gtf, count="5prime", **SMALL)
    # 5' ends: 9500, 9590 -> bin 1; 9800 -> 4; 10000 -> 6; 10100 and 10150 -> 7; 10480 -> 10; 9465 lies outside.
    assert counts_of(result, "P") == [2, 0, 0, 1, 0, 1, 2, 0, 0, 1]
    # M: reverse read 5' end 21485 -> bin 1; forward 20990 -> genomic k 4 -> bin 6; reverse 21034 -> k 5 -> bin 5.
    assert counts_of(result, "M") == [1, 0, 0, 0, 1, 1, 0, 0, 0, 0]


def test_chromosome_names_are_matched_and_missing_ones_reported(tmp_path, build, gtf):
    renamed = [("1",) + r[1:] for r in READS]
    bam = build.bam(tmp_path / "ensembl.bam", renamed, chroms=(("1", 60_000), ("2", 30_000)))
    extra = build.gtf(tmp_path / "more.gtf", GENES + [("U", "chrUn_gl000220", 5000, "+")])
    result = featurize({"m": bam}, extra, **SMALL)
    assert result.data.gene_ids.tolist() == ["P", "M"]
    assert counts_of(result, "P") == [3, 1, 0, 1, 0, 1, 2, 1, 1, 1]
    assert result.report["genes"]["left_out"] == {"chromosome_missing": 1}
    assert any("chr1 -> 1" in note for note in result.notes)
    assert any("chrUn_gl000220 (1)" in note for note in result.notes)


def test_windows_past_chromosome_ends_are_zero_filled(tmp_path, build):
    # chr2 is 30,000 bp: a + gene at 200 starts 300 bp before the chromosome; a - gene at 29,900 ends past it.
    gtf = build.gtf(tmp_path / "edge.gtf", [("A", "chr2", 200, "+"), ("B", "chr2", 29_900, "-")])
    bam = build.bam(tmp_path / "edge.bam", [("chr2", 0, 36), ("chr2", 29_964, 36, 0x10, 60)])
    result = featurize({"m": bam}, gtf, **SMALL)
    assert counts_of(result, "A") == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]  # [0,36) is genomic bin [0,100) = bin 4
    # B: window [29401, 30401); read [29964, 30000) -> genomic k 5 -> stranded bin 5.
    assert counts_of(result, "B") == [0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    assert result.report["genes"]["windows_past_chromosome_end"] == 2


def test_neighbouring_windows_count_a_shared_read_in_both(tmp_path, build):
    # Two + genes 150 bp apart: their windows overlap and merge into one fetched region; a read
    # in the overlap counts once for each gene and once only per gene.
    gtf = build.gtf(tmp_path / "near.gtf", [("A", "chr1", 10_000, "+"), ("B", "chr1", 10_150, "+"), ("C", "chr1", 11_040, "+")])
    bam = build.bam(tmp_path / "near.bam", [("chr1", 10_020, 36), ("chr1", 10_530, 36)])
    result = featurize({"m": bam}, gtf, **SMALL)
    assert counts_of(result, "A") == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    # B's window is [9650, 10650): [10020,10056) -> bins 4, 5; [10530,10566) -> bins 9, 10.
    assert counts_of(result, "B") == [0, 0, 0, 1, 1, 0, 0, 0, 1, 1]
    # C's window [10540, 11540) starts 4 bp after the read [10530,10566) begins: bin 1.
    assert counts_of(result, "C") == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]


def test_missing_index(tmp_path, build, gtf):
    bam = build.bam(tmp_path / "noindex.bam", READS, index=False)
    with pytest.raises(InputFormatError, match=r"has no index \(\.bai or \.csi beside it\); create one with `samtools index"):
        featurize({"m": bam}, gtf, **SMALL)


def test_unsorted_bam(tmp_path, build, gtf):
    bam = build.bam(tmp_path / "unsorted.bam", list(reversed(READS)), sort=False, sort_order="unsorted", index=False)
    with pytest.raises(InputFormatError, match=r"is not sorted by coordinate \(its header says SO:unsorted\); sort and index it"):
        featurize({"m": bam}, gtf, **SMALL)


def test_file_named_bam_that_is_not_one(tmp_path, gtf):
    fake = tmp_path / "fake.bam"
    fake.write_text("chr1\t1\t2\n")
    with pytest.raises(InputFormatError, match="is named .bam but is not a BAM file"):
        featurize({"m": fake}, gtf, **SMALL)


def test_bam_of_another_genome(tmp_path, build, gtf):
    bam = build.bam(tmp_path / "other.bam", [("NC_000001", 100, 36)], chroms=(("NC_000001", 1000),))
    with pytest.raises(InputFormatError, match="none of the genes' chromosomes"):
        featurize({"m": bam}, gtf, **SMALL)


def test_counts_do_not_depend_on_gene_order(bam, tmp_path, build):
    reordered = build.gtf(tmp_path / "reordered.gtf", list(reversed(GENES)))
    a = featurize({"m": bam}, build.gtf(tmp_path / "g.gtf", GENES), **SMALL)
    b = featurize({"m": bam}, reordered, **SMALL)
    assert b.data.gene_ids.tolist() == ["M", "P"]
    assert np.array_equal(a.data.counts, b.data.counts[::-1])


def test_truncated_bam_is_reported(tmp_path, build, gtf):
    reads = [("chr1", 9000 + 3 * i, 36) for i in range(20_000)] + [("chr1", 20_600, 36)]
    bam = build.bam(tmp_path / "cut.bam", reads)
    data = bam.read_bytes()
    bam.write_bytes(data[: len(data) // 2])  # the index still describes the whole file
    with pytest.raises(InputFormatError, match=r"cut\.bam: (could not be read at chr1|is not a readable BAM)"):
        featurize({"m": bam}, gtf, **SMALL)
