"""Gene symbols: read from the annotation, recorded by featurize in its manifest, shown by interpret and the reports."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from attentivechrome.cli.main import main
from attentivechrome.data.gene_names import recorded_gene_names
from attentivechrome.featurize import read_genes


def cli(*args) -> int:
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0


def mark_args(files):
    marks = {"H3K27me3": files["bam"], "H3K36me3": files["tagalign"], "H3K4me1": files["bigwig"], "H3K4me3": files["bam"], "H3K9me3": files["tagalign"]}
    return [a for name, path in marks.items() for a in ("--mark", f"{name}={path}")]


def report_payload(html_path) -> dict:
    text = html_path.read_text(encoding="utf-8")
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S).group(1)
    return json.loads(data)


def test_annotations_give_symbols_where_they_have_them(tmp_path):
    gtf = tmp_path / "a.gtf"
    gtf.write_text(
        'chr1\tsrc\tgene\t1001\t2000\t.\t+\t.\tgene_id "ENSG1.3"; gene_name "TP53";\n'
        'chr1\tsrc\tgene\t5001\t6000\t.\t-\t.\tgene_id "ENSG2.1"; gene_type "lncRNA";\n'
    )
    genes = read_genes(gtf)
    assert genes.names.tolist() == ["TP53", ""] and genes.symbols() == {"ENSG1.3": "TP53"}
    assert genes.subset(np.array([1, 0])).names.tolist() == ["", "TP53"]
    gff = tmp_path / "a.gff3"
    gff.write_text("##gff-version 3\n1\tensembl\tgene\t101\t300\t.\t-\t.\tID=gene:ENSG9;Name=ABC\n")
    assert read_genes(gff).symbols() == {"ENSG9": "ABC"}
    table = tmp_path / "tss.tsv"
    table.write_text("gene_id\tchrom\ttss_1based\tstrand\tgene_name\nA\tchr1\t1001\t+\tALPHA\nB\tchr1\t5000\t-\t\n")
    assert read_genes(table).symbols() == {"A": "ALPHA"}
    bed = tmp_path / "tss.bed"
    bed.write_text("chr1\t1000\t1001\tA\t0\t+\n")
    assert read_genes(bed).names is None  # a BED names genes by id only


def test_featurize_records_symbols_and_interpret_and_reports_show_them(dataset_files, tmp_path, capsys):
    out = tmp_path / "featurized"
    assert cli("featurize", *mark_args(dataset_files), "--genes", dataset_files["gtf"], "--out", out,
               "--expression", dataset_files["expression"], "--cell", "E003", "--split", "contiguous", "-q") == 0  # fmt: skip
    manifest = json.loads((out / "featurize.json").read_text())
    assert manifest["gene_names"] == {f"G{i:02d}": f"G{i:02d}x" for i in range(24)}  # the GTF's gene_name of every featurized gene
    assert recorded_gene_names(out / "test.csv") == manifest["gene_names"] == recorded_gene_names(out)

    run = tmp_path / "run"
    assert cli("train", out, "--out", run, "--epochs", 1, "--batch-size", 8, "--preset", "original", "--device", "cpu", "-q") == 0
    assert cli("report", run, "--out", tmp_path / "run.html") == 0
    genes = report_payload(tmp_path / "run.html")["genes"]
    assert genes["names"] == [f"{g}x" for g in genes["ids"]]

    interp = tmp_path / "interp"
    assert cli("interpret", "--model", run, "--input", out / "test.csv", "--out", interp, "--methods", "attention", "--max-gene-plots", 0, "-q") == 0
    with np.load(interp / "explanations.npz") as npz:
        assert npz["gene_names"].tolist() == [f"{g}x" for g in npz["gene_ids"].tolist()]
    predictions = pd.read_csv(interp / "predictions.tsv", sep="\t")
    assert list(predictions.columns[:2]) == ["gene_id", "gene_name"] and (predictions["gene_name"] == predictions["gene_id"] + "x").all()
    assert cli("report", interp, "--out", tmp_path / "interp.html") == 0
    html = (tmp_path / "interp.html").read_text(encoding="utf-8")
    genes = report_payload(tmp_path / "interp.html")["genes"]
    assert genes["names"] == [f"{g}x" for g in genes["ids"]]
    first = genes["ids"][0]
    assert f'<option value="{first}">{first}x</option>' in html and "gene id or symbol" in html


def test_csvs_without_a_featurize_manifest_have_no_symbols(tmp_path):
    csv = tmp_path / "genes.csv"
    csv.write_text("G1,1,0,0,0,0,0,1\n")
    assert recorded_gene_names(csv) == {}
    (tmp_path / "genes.json").write_text(json.dumps({"gene_names": {"G1": "X"}}))  # some other JSON beside it
    assert recorded_gene_names(csv) == {}
    (tmp_path / "featurize.json").write_text('{"tool": "attentivechrome featurize", "gene_names": ')  # damaged
    assert recorded_gene_names(csv) == {}
    (tmp_path / "featurize.json").write_text(json.dumps({"tool": "attentivechrome featurize", "gene_names": {"G1": "ONE", "G2": 3}}))
    assert recorded_gene_names(csv) == {"G1": "ONE"}
