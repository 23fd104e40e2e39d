"""Reading one TSS per gene from GTF, GFF3, BED and tables."""

from __future__ import annotations

import gzip

import pytest

from attentivechrome.exceptions import InputFormatError
from attentivechrome.featurize import read_genes


def _gtf_line(chrom, feature, start, end, strand, attributes):
    return f"{chrom}\tsrc\t{feature}\t{start}\t{end}\t.\t{strand}\t.\t{attributes}\n"


def test_gtf_tss_convention(tmp_path):
    path = tmp_path / "a.gtf.gz"
    text = (
        "##description: test\n"
        + _gtf_line("chr1", "gene", 1001, 2000, "+", 'gene_id "ENSG1.3"; gene_type "protein_coding";')
        + _gtf_line("chr1", "transcript", 1001, 2000, "+", 'gene_id "ENSG1.3"; transcript_id "T1";')
        + _gtf_line("chr2", "gene", 5001, 9000, "-", 'gene_id "ENSG2.1"; gene_type "lncRNA";')
        + _gtf_line("chr2", "gene", 7001, 7100, ".", 'gene_id "ENSG3.1"; gene_type "lncRNA";')
        + _gtf_line("chrX", "gene", 11, 20, "+", 'gene_id "ENSG1.3"; gene_type "protein_coding";')
    )
    with gzip.open(path, "wt") as handle:
        handle.write(text)
    genes = read_genes(path)
    assert genes.gene_ids.tolist() == ["ENSG1.3", "ENSG2.1"]
    # 1-based start 1001 -> 0-based 1000 on +; 1-based end 9000 -> 0-based 8999 on -.
    assert genes.tss.tolist() == [1000, 8999]
    assert genes.strand.tolist() == ["+", "-"] and genes.chroms.tolist() == ["chr1", "chr2"]
    assert genes.skipped == {"no_strand": 1, "duplicate_id": 1}
    coding = read_genes(path, biotypes=["protein_coding"])
    assert coding.gene_ids.tolist() == ["ENSG1.3"] and coding.skipped["other_biotype"] == 2


def test_gff3_ids_and_other_feature(tmp_path):
    path = tmp_path / "a.gff3"
    path.write_text(
        "##gff-version 3\n"
        "1\tensembl\tgene\t101\t300\t.\t-\t.\tID=gene:ENSG9;biotype=protein_coding;Name=ABC\n"
        "1\tensembl\tmRNA\t101\t300\t.\t-\t.\tID=transcript:ENST9;Parent=gene:ENSG9\n"
    )
    genes = read_genes(path)
    assert genes.gene_ids.tolist() == ["ENSG9"] and genes.tss.tolist() == [299]
    by_name = read_genes(path, id_attribute="Name")
    assert by_name.gene_ids.tolist() == ["ABC"]


def test_bed_and_table(tmp_path):
    bed = tmp_path / "tss.bed"
    bed.write_text("track name=tss\nchr1\t1000\t1001\tA\t0\t+\nchr1\t4999\t5000\tB\t0\t-\nchr1\t100\t9000\tC\t0\t-\n")
    genes = read_genes(bed)
    assert genes.gene_ids.tolist() == ["A", "B", "C"] and genes.tss.tolist() == [1000, 4999, 8999]
    table = tmp_path / "tss.tsv"
    table.write_text("gene_id\tchrom\ttss_1based\tstrand\nA\tchr1\t1001\t+\nB\tchr1\t5000\t-\n")
    genes = read_genes(table)
    assert genes.tss.tolist() == [1000, 4999]


def test_chromoformer_gene_table(shared_data):
    # Real genes: Chromoformer's E003 demo table, 0-based TSSs (56 on +, 44 on -).
    genes = read_genes(shared_data / "chromoformer-e003" / "genes.csv")
    assert len(genes) == 100
    assert (genes.strand == "+").sum() == 56 and (genes.strand == "-").sum() == 44
    assert "ENSG00000197106" in genes.gene_ids.tolist()


def test_gtf_without_genes(tmp_path):
    path = tmp_path / "exons.gtf"
    path.write_text(_gtf_line("chr1", "exon", 1, 10, "+", 'gene_id "A";') * 3)
    with pytest.raises(InputFormatError, match=r"exons\.gtf: no 'gene' records in 3 lines \(feature types found: exon \(3\)\)"):
        read_genes(path)


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("short.gtf", "chr1\tsrc\tgene\t1\t10\n", r"short\.gtf:1: expected 9 tab-separated GTF fields, got 5"),
        ("noid.gtf", _gtf_line("chr1", "gene", 1, 10, "+", 'gene_name "A";'), r"noid\.gtf:1: gene record without a 'gene_id' attribute"),
        ("letters.gtf", _gtf_line("chr1", "gene", "x", 10, "+", 'gene_id "A";'), r"letters\.gtf:1: start must be an integer, got 'x'"),
        ("three.bed", "chr1\t1\t2\n", r"three\.bed:1: expected at least 6 BED columns"),
        ("ambiguous.tsv", "gene_id\tchrom\ttss\tstrand\nA\tchr1\t5\t+\n", r"ambiguous\.tsv:1: column 'tss' does not say whether"),
        ("nocols.tsv", "gene\tpos\nA\t5\n", r"nocols\.tsv:1: expected a header with gene_id, chrom, strand"),
        ("empty.gtf", "", r"empty\.gtf: no 'gene' records in 0 lines"),
    ],
    ids=["short-line", "no-id", "bad-start", "bed-without-strand", "ambiguous-tss", "missing-columns", "empty"],
)
def test_bad_annotations(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputFormatError, match=message):
        read_genes(path)


def test_missing_annotation_file(tmp_path):
    with pytest.raises(InputFormatError, match=r"nothere\.gtf: --genes: no such file"):
        read_genes(tmp_path / "nothere.gtf")
