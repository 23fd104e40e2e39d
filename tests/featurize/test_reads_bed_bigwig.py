"""tagAlign/BED reads and bigWig signal per bin, checked by hand and against the BAM counts."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from attentivechrome.exceptions import InputFormatError
from attentivechrome.featurize import featurize, mark_format
from attentivechrome.featurize import reads_bed

SMALL = dict(bin_size=100, flank=500, standard_marks=False, progress=False)
GENES = [("P", "chr1", 10_000, "+"), ("M", "chr1", 20_999, "-")]


@pytest.fixture
def gtf(tmp_path, build):
    return build.gtf(tmp_path / "genes.gtf", GENES)


def counts_of(result, gene, mark=0):
    return result.data.counts[result.data.gene_ids.tolist().index(gene), :, mark].tolist()


def test_tagalign_counts_by_hand(tmp_path, gtf):
    path = tmp_path / "reads.tagAlign"
    path.write_text(
        "track name=reads\n"
        "chr1\t9590\t9626\tN\t1000\t+\n"  # P bins 1, 2
        "chr2\t100\t136\tN\t1000\t+\n"  # another chromosome
        "chr1\t10000\t10036\tN\t1000\t-\n"  # P bin 6 (unsorted order is fine)
        "chr1\t9500\t9536\tN\t1000\t+\n"  # P bin 1
        "chr1\t21450\t21486\tN\t1000\t-\n"  # M bin 1
    )
    result = featurize({"m": path}, gtf, **SMALL)
    assert counts_of(result, "P") == [2, 1, 0, 0, 0, 1, 0, 0, 0, 0]
    assert counts_of(result, "M") == [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    five = featurize({"m": path}, gtf, count="5prime", **SMALL)
    # 5' of the minus read [10000,10036) is 10035: still P bin 6; [9590,...) + : bin 1.
    assert counts_of(five, "P") == [2, 0, 0, 0, 0, 1, 0, 0, 0, 0]


def test_tagalign_gz_equals_bam_and_chunking(tmp_path, build, gtf, monkeypatch):
    rng = np.random.default_rng(3)
    reads = [("chr1", int(s), 36, int(f), 60) for s, f in zip(rng.integers(9000, 22_000, 500), rng.choice([0, 16], 500))]
    bam = build.bam(tmp_path / "r.bam", reads)
    tag = build.tagalign(tmp_path / "r.tagAlign.gz", reads)
    assert mark_format(tag) == "bed" and mark_format(bam) == "bam"
    for count in ("overlap", "5prime"):
        from_bam = featurize({"m": bam}, gtf, count=count, **SMALL).data.counts
        from_bed = featurize({"m": tag}, gtf, count=count, **SMALL).data.counts
        assert np.array_equal(from_bam, from_bed) and from_bam.sum() > 50
    whole = featurize({"m": tag}, gtf, **SMALL).data.counts
    original = reads_bed.count_reads_bed
    monkeypatch.setattr(
        "attentivechrome.featurize.pipeline._READERS", {"bed": lambda *a, **k: original(*a, chunk_lines=7, **k)}
    )
    assert np.array_equal(featurize({"m": tag}, gtf, **SMALL).data.counts, whole)


@pytest.mark.parametrize(
    "content,line,message",
    [
        ("chr1\t100\t136\nchr1\tabc\t200\n", 2, "start and end must be integers"),
        ("chr1\t100\t136\nchr1\t300\t200\n", 2, "expected 0 <= start < end"),
        ("chr1\t100\t136\nchr1\t300\n", 2, "expected at least 3 tab-separated columns"),
    ],
    ids=["not-a-number", "end-before-start", "two-columns"],
)
def test_bad_read_lines_are_named(tmp_path, gtf, content, line, message):
    path = tmp_path / "bad.bed"
    path.write_text(content)
    with pytest.raises(InputFormatError, match=rf"bad\.bed:{line}: {message}"):
        featurize({"m": path}, gtf, **SMALL)


def test_five_prime_needs_a_strand(tmp_path, gtf):
    path = tmp_path / "three.bed"
    path.write_text("chr1\t100\t136\n")
    with pytest.raises(InputFormatError, match=r"three\.bed:1: counting 5' ends needs the strand"):
        featurize({"m": path}, gtf, count="5prime", **SMALL)


def test_damaged_gzip_reads(tmp_path, gtf):
    path = tmp_path / "cut.tagAlign.gz"
    data = gzip.compress(b"chr1\t9500\t9536\tN\t1000\t+\n" * 5000)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFormatError, match=r"cut\.tagAlign\.gz"):
        featurize({"m": path}, gtf, **SMALL)


def test_bigwig_mean_and_sum_by_hand(tmp_path, build, gtf):
    # P window [9500, 10500): value 2 on [9500, 9550) -> bin 1 sum 100, mean 1.0;
    # value 1.5 on [9950, 10050) -> bins 5 and 6 sum 75 each; nothing elsewhere (0).
    bw = build.bigwig(tmp_path / "s.bw", [("chr1", 9500, 9550, 2.0), ("chr1", 9950, 10_050, 1.5), ("chr1", 21_400, 21_500, 4.0)])
    total = featurize({"m": bw}, gtf, bigwig_stat="sum", **SMALL)
    assert counts_of(total, "P") == [100, 0, 0, 0, 75, 75, 0, 0, 0, 0]
    assert counts_of(total, "M") == [400, 0, 0, 0, 0, 0, 0, 0, 0, 0]  # genomic [21400,21500) is M's bin 1
    mean = featurize({"m": bw}, gtf, **SMALL)
    assert counts_of(mean, "P") == pytest.approx([1.0, 0, 0, 0, 0.75, 0.75, 0, 0, 0, 0])
    assert mean.report["inputs"]["marks"]["m"]["value"].startswith("bigWig signal averaged")


def test_bigwig_depth_track_sums_to_read_bases(tmp_path, build, gtf):
    # A depth track of reads, summed per bin, equals the read bases inside the bin.
    bw = build.bigwig(tmp_path / "d.bw", [("chr1", 9590, 9626, 1.0)])
    result = featurize({"m": bw}, gtf, bigwig_stat="sum", **SMALL)
    assert counts_of(result, "P")[:2] == [10, 26]


def test_bigwig_missing_chromosome_and_clipping(tmp_path, build):
    gtf = build.gtf(tmp_path / "g.gtf", [("A", "chr2", 200, "+"), ("X", "chrX", 5000, "+")])
    bw = build.bigwig(tmp_path / "s.bw", [("chr2", 0, 100, 3.0)])
    result = featurize({"m": bw}, gtf, bigwig_stat="sum", **SMALL)
    assert result.data.gene_ids.tolist() == ["A"]
    assert counts_of(result, "A") == [0, 0, 0, 300, 0, 0, 0, 0, 0, 0]
    assert result.report["genes"]["left_out"] == {"chromosome_missing": 1}


def test_not_a_bigwig(tmp_path, gtf):
    path = tmp_path / "s.bw"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(InputFormatError, match="is named .bw but is not a bigWig file"):
        featurize({"m": path}, gtf, **SMALL)
