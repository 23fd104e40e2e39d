"""``attentivechrome featurize`` end to end: BAM + tagAlign + bigWig + GTF -> split CSVs that ``train`` accepts;
bad input ends with one line on stderr, exit status 2, and nothing written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from attentivechrome.cli.main import main
from attentivechrome.data import load_splits, read_csv


def cli(*args) -> int:
    """Run the CLI in this process; return its exit status."""
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0


def mark_args(files, **override):
    marks = {"H3K27me3": files["bam"], "H3K36me3": files["tagalign"], "H3K4me1": files["bigwig"], "H3K4me3": files["bam"], "H3K9me3": files["tagalign"]}
    marks.update(override)
    return [a for name, path in marks.items() for a in ("--mark", f"{name}={path}")]


def test_featurize_split_then_train(dataset_files, tmp_path, capsys):
    out = tmp_path / "featurized"
    status = cli(
        "featurize", *mark_args(dataset_files), "--genes", dataset_files["gtf"], "--out", out,
        "--expression", dataset_files["expression"], "--cell", "E003", "--split", "contiguous", "--quiet",
    )  # fmt: skip
    assert status == 0
    # the four outputs and the record naming the command that wrote the folder
    assert sorted(p.name for p in out.iterdir()) == [".attentivechrome-output.json", "featurize.json", "test.csv", "train.csv", "valid.csv"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left behind
    splits = load_splits(out)
    assert [splits[s].n_genes for s in ("train", "valid", "test")] == [8, 8, 8]
    whole = {s: splits[s] for s in splits}
    counts = np.concatenate([whole[s].counts for s in ("train", "valid", "test")])
    assert counts.shape == (24, 100, 5)
    # The same reads as BAM (H3K27me3) and as tagAlign (H3K36me3) give the same counts.
    assert np.array_equal(counts[:, :, 0], counts[:, :, 1]) and counts[:, :, 0].sum() > 500
    # A depth bigWig averaged per 100-bp bin is the read bases in the bin / 100: at most 36 bp per overlapping read.
    assert np.all(counts[:, :, 2] * 100 <= counts[:, :, 0] * 36 + 1e-3)
    # Labels: odd genes have values 10.x (above the median), even ones below.
    labels = np.concatenate([whole[s].labels for s in ("train", "valid", "test")])
    assert labels.tolist() == [i % 2 for i in range(24)]

    manifest = json.loads((out / "featurize.json").read_text())
    assert manifest["genes"]["featurized"] == 24 and manifest["genes"]["label_1"] == 12
    assert manifest["parameters"]["orientation"] == "stranded" and manifest["parameters"]["split"] == "contiguous"
    assert manifest["inputs"]["marks"]["H3K4me1"]["format"] == "bigwig"
    assert manifest["outputs"]["valid"]["genes"] == 8

    run_dir = tmp_path / "run"
    assert cli("train", out, "--out", run_dir, "--epochs", 1, "--batch-size", 8, "--device", "cpu", "--quiet") == 0
    assert (run_dir / "model.pt").is_file()


def test_ratio_split_is_the_contiguous_split(dataset_files, tmp_path):
    outs = {name: tmp_path / name for name in ("ratio", "contiguous")}
    for name, out in outs.items():
        assert cli("featurize", *mark_args(dataset_files), "--genes", dataset_files["gtf"], "--out", out, "--expression",
                   dataset_files["expression"], "--cell", "E003", "--split", name, "--fractions", "2,1,1", "-q") == 0  # fmt: skip
    for split in ("train", "valid", "test"):
        assert (outs["ratio"] / f"{split}.csv").read_bytes() == (outs["contiguous"] / f"{split}.csv").read_bytes()
    assert read_csv(outs["ratio"] / "train.csv").n_genes == 12
    assert json.loads((outs["ratio"] / "featurize.json").read_text())["parameters"]["split"] == "contiguous"


def test_a_constant_expression_column_is_flagged(dataset_files, tmp_path, capsys):
    # E004 is 1 for every gene: nothing lies above the median, so every label is 0.
    out = tmp_path / "one-class.csv"
    assert cli("featurize", *mark_args(dataset_files), "--genes", dataset_files["gtf"], "--out", out,
               "--expression", dataset_files["expression"], "--cell", "E004") == 0  # fmt: skip
    assert "warning: every gene is labelled 0: column 'E004' has too few distinct values" in capsys.readouterr().err
    assert read_csv(out).labels.max() == 0


def test_single_file_output_and_genomic_orientation(dataset_files, tmp_path):
    stranded, genomic = tmp_path / "s.csv", tmp_path / "g.csv.gz"
    assert cli("featurize", *mark_args(dataset_files), "--genes", dataset_files["gtf"], "--out", stranded, "-q") == 0
    assert cli("featurize", *mark_args(dataset_files), "--genes", dataset_files["gtf"], "--out", genomic, "--orientation", "genomic", "-q") == 0
    assert (tmp_path / "s.json").is_file() and (tmp_path / "g.json").is_file()
    a, b = read_csv(stranded), read_csv(genomic)
    assert a.labels is None and a.gene_ids.tolist() == [f"G{i:02d}" for i in range(24)]
    # + strand genes (even) are identical; - strand genes are reversed and shifted by 1 bp, so they differ.
    assert np.array_equal(a.counts[0::2], b.counts[0::2])
    assert not np.array_equal(a.counts[1::2], b.counts[1::2])


def test_failed_write_leaves_nothing(dataset_files, tmp_path, monkeypatch, capsys):
    import attentivechrome.featurize.pipeline as pipeline

    calls = []

    def failing_write(data, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        original(data, path)

    original = pipeline.write_csv
    monkeypatch.setattr(pipeline, "write_csv", failing_write)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as stop:  # a full disk is one line and exit 2 (issue 13), not a traceback
        main(["featurize", *mark_args(dataset_files), "--genes", str(dataset_files["gtf"]), "--out", str(out),
              "--expression", str(dataset_files["expression"]), "--cell", "E003", "--split", "random", "-q"])  # fmt: skip
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("attentivechrome: error: ") and "No space left on device" in err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def _bad_inputs(files, tmp_path, build):
    reads = files["reads"]
    noindex = build.bam(tmp_path / "noindex.bam", reads, chroms=(("chr1", 400_000),), index=False)
    unsorted = build.bam(tmp_path / "unsorted.bam", reads[::-1], chroms=(("chr1", 400_000),), sort=False, sort_order="unsorted", index=False)
    stale = build.bam(tmp_path / "stale.bam", reads, chroms=(("chr1", 400_000),))
    for index in tmp_path.glob("stale.*i"):  # an index older than its BAM (htslib would only warn, then miscount)
        os.utime(index, ns=(stale.stat().st_mtime_ns - 10**9,) * 2)
    exons = tmp_path / "exons.gtf"
    exons.write_text("".join(line for line in files["gtf"].read_text().splitlines(True) if "\tgene\t" not in line))
    base = ["--genes", files["gtf"]]
    return {
        "missing-index": (mark_args(files, H3K4me3=noindex) + base, r"noindex\.bam: has no index"),
        "stale-index": (mark_args(files, H3K4me3=stale) + base, r"stale\.bam: its index stale\.bam\.bai is older than the BAM"),
        "unsorted-bam": (mark_args(files, H3K4me3=unsorted) + base, r"unsorted\.bam: is not sorted by coordinate"),
        "missing-mark-file": (mark_args(files, H3K9me3=tmp_path / "absent.tagAlign.gz") + base, r"absent\.tagAlign\.gz: mark H3K9me3: no such file"),
        "gtf-without-genes": (mark_args(files) + ["--genes", exons], r"exons\.gtf: no 'gene' records in 25 lines \(feature types found: exon \(24\)\)"),
        "expression-without-column": (
            mark_args(files) + base + ["--expression", files["expression"], "--cell", "E999"],
            r"rpkm\.tsv:1: has no column 'E999'; its columns are E003, E004",
        ),
        "mark-left-out": ([a for a in mark_args(files) if "H3K9me3" not in a][:-1] + base, r"missing mark\(s\) H3K9me3"),
        "malformed-mark": (["--mark", "H3K4me3"] + base, r"--mark 'H3K4me3': expected MARK=PATH"),
        "split-without-labels": (mark_args(files) + base + ["--split", "contiguous"], r"needs labels"),
        "bad-orientation": (mark_args(files) + base + ["--orientation", "sideways"], r"unknown orientation 'sideways'"),
    }


@pytest.mark.parametrize(
    "case",
    ["missing-index", "stale-index", "unsorted-bam", "missing-mark-file", "gtf-without-genes", "expression-without-column",
     "mark-left-out", "malformed-mark", "split-without-labels", "bad-orientation"],
)  # fmt: skip
def test_bad_input_one_line_exit_2_nothing_written(dataset_files, tmp_path, build, capsys, case):
    args, message = _bad_inputs(dataset_files, tmp_path, build)[case]
    before = set(tmp_path.iterdir())
    out = tmp_path / "out"
    # A split run, so that a failure would have several files to leave behind.
    if "--split" in args:
        split = []
    elif "--expression" in args:
        split = ["--split", "contiguous"]
    else:
        split = ["--split", "contiguous", "--expression", dataset_files["expression"], "--cell", "E003"]
    capsys.readouterr()
    assert cli("featurize", *args, *split, "--out", out, "-q") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("attentivechrome: error: ")
    assert re.search(message, err), err
    assert set(tmp_path.iterdir()) == before  # no output, no manifest, no staging directory


def test_installed_entry_point_reports_bad_input(tmp_path):
    gtf = tmp_path / "g.gtf"
    gtf.write_text('chr1\tsrc\tgene\t100\t200\t.\t+\t.\tgene_id "A";\n')
    marks = [a for m in ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3") for a in ("--mark", f"{m}={tmp_path / 'none.bam'}")]
    result = subprocess.run(
        [sys.executable, "-m", "attentivechrome", "featurize", *marks, "--genes", str(gtf), "--out", str(tmp_path / "o.csv")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"attentivechrome: error: {tmp_path / 'none.bam'}: mark H3K27me3: no such file"
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.slow  # starts a Dask cluster
def test_marks_counted_on_a_local_dask_cluster_equal_the_serial_count(dataset_files, tmp_path):
    serial, parallel = tmp_path / "serial.csv", tmp_path / "parallel.csv"
    assert cli("featurize", *mark_args(dataset_files), "--genes", dataset_files["gtf"], "--out", serial, "-q") == 0
    assert cli("featurize", *mark_args(dataset_files), "--genes", dataset_files["gtf"], "--out", parallel, "--jobs", "2", "-q") == 0
    a, b = read_csv(serial), read_csv(parallel)
    assert a.gene_ids.tolist() == b.gene_ids.tolist() and np.array_equal(a.counts, b.counts)
    broken = tmp_path / "broken.tagAlign"
    broken.write_text("chr1\t100\tx\n")  # a bad read line fails the whole call (exit 2, nothing written), as serially
    args = mark_args(dataset_files, H3K9me3=broken)
    assert cli("featurize", *args, "--genes", dataset_files["gtf"], "--out", tmp_path / "x.csv", "-q") == 2
    assert cli("featurize", *args, "--genes", dataset_files["gtf"], "--out", tmp_path / "x.csv", "--jobs", "2", "-q") == 2
    assert not (tmp_path / "x.csv").exists()
