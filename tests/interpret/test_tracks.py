"""bedGraph tracks of the maps: bins placed on the genome as featurize cut them, the file format, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from attentivechrome.cli.main import main
from attentivechrome.data import read_csv, write_csv
from attentivechrome.featurize import featurize, write_featurized
from attentivechrome.interpret.tracks import GeneCoordinates, bin_intervals, read_coordinates, recorded_coordinates, track_lines, write_tracks


def cli(*args) -> int:
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0


# Two genes per strand on one chromosome; windows of 10 bins of 100 bp (flank 500).
GENES = [("P1", "chr2", 10_000, "+"), ("M1", "chr2", 20_999, "-"), ("P2", "chr1", 3_000, "+"), ("M2", "chr1", 8_000, "-")]


def _genes_bed(path):
    # BED6 of 1-bp TSS records: TSS = start on +, end - 1 on -.
    path.write_text("".join(f"{c}\t{t}\t{t + 1}\t{g}\t0\t{s}\n" for g, c, t, s in GENES))
    return path


@pytest.mark.parametrize("orientation", ["stranded", "genomic"])
def test_bins_land_where_featurize_counted_them(tmp_path, orientation):
    """One 1-bp read in several places around every TSS: the bin featurize counts it in is the interval that holds it."""
    offsets = [-500, -401, -1, 0, 1, 99, 100, 250, 499]
    reads = [(c, t + o) for _, c, t, _ in GENES for o in offsets]
    bed = tmp_path / "reads.bed"
    bed.write_text("".join(f"{c}\t{p}\t{p + 1}\n" for c, p in reads))
    result = featurize({"m": bed}, _genes_bed(tmp_path / "genes.bed"), bin_size=100, flank=500, orientation=orientation, standard_marks=False, progress=False)
    data = result.data
    assert data.orientation == ("transcript" if orientation == "stranded" else "genomic")
    coords = recorded_from_report(result.report)
    rows = coords.locate(data.gene_ids)
    starts, ends = bin_intervals(coords.tss[rows], coords.strand[rows], data.n_bins, 100, data.orientation)
    for g, gene in enumerate(data.gene_ids):
        chrom = coords.chroms[rows[g]]
        expected = np.zeros(data.n_bins, dtype=int)
        for c, p in reads:  # each read: the bins whose interval holds it
            if c == chrom:
                expected += (starts[g] <= p) & (p < ends[g])
        assert data.counts[g, :, 0].astype(int).tolist() == expected.tolist(), gene
        assert expected.sum() >= 8  # the reads inside the window were counted (the one at +499/-500 edges may fall out)


def recorded_from_report(report) -> GeneCoordinates:
    rows = report["gene_coordinates"]
    return GeneCoordinates(np.array(list(rows)), np.array([v[0] for v in rows.values()]), np.array([v[1] for v in rows.values()]), np.array([v[2] for v in rows.values()]))


def test_bin_intervals_by_strand_and_orientation():
    tss, n, size = np.array([10_000, 10_000]), 100, 100
    starts, ends = bin_intervals(tss, np.array(["+", "-"]), n, size, "transcript")
    assert (starts[0, 50], ends[0, 50]) == (10_000, 10_100)  # plus: bin 51 starts at the TSS
    assert (starts[1, 50], ends[1, 50]) == (9_901, 10_001)  # minus, 5'->3': bin 51 ends with the TSS base
    assert (starts[1, 49], ends[1, 49]) == (10_001, 10_101)  # ... and bin 50 is just upstream, at higher coordinates
    assert starts[1, 0] == 10_000 + 4_901 and np.all(np.diff(starts[1]) == -100)
    g_starts, g_ends = bin_intervals(tss, np.array(["+", "-"]), n, size, "genomic")
    assert np.array_equal(g_starts[0], g_starts[1]) and g_starts[0, 0] == 5_000 and g_ends[0, -1] == 15_000
    assert np.array_equal(g_starts[0], starts[0])  # a plus-strand gene reads the same either way
    with pytest.raises(ValueError, match="orientation is unknown"):
        bin_intervals(tss, np.array(["+", "-"]), n, size, "unknown")
    assert np.array_equal(bin_intervals(tss[:1], np.array(["+"]), n, size, "unknown")[0], starts[:1])  # plus strand only: placed


def test_track_lines_are_sorted_half_open_and_average_overlaps():
    chroms = np.array(["chr2", "chr2", "chr10", "chr2", "chr1"])
    starts = np.array([100, 150, 0, 400, -50])
    ends = np.array([200, 250, 100, 500, 50])
    values = np.array([1.0, 3.0, -2.0, 0.5, 7.0])
    c, s, e, v = track_lines(chroms, starts, ends, values)
    assert c.tolist() == ["chr1", "chr10", "chr2", "chr2", "chr2", "chr2"]  # chromosomes as text, as sort -k1,1 orders them
    assert list(zip(s.tolist(), e.tolist())) == [(0, 50), (0, 100), (100, 150), (150, 200), (200, 250), (400, 500)]  # clipped at 0
    assert v.tolist() == [7.0, -2.0, 1.0, 2.0, 3.0, 0.5]  # the overlap holds the mean of the two bins
    for chrom in set(c.tolist()):
        on = c == chrom
        assert np.all(e[on] > s[on]) and np.all(s[on][1:] >= e[on][:-1])  # sorted and non-overlapping


def test_write_tracks_files(tmp_path):
    coords = GeneCoordinates(np.array(["A", "B", "C.2"]), np.array(["chr1", "chr1", "chrX"]), np.array([1_000, 1_300, 50_000]), np.array(["+", "-", "-"]), "genes.tsv")
    rng = np.random.default_rng(0)
    maps = {"attention": rng.random((4, 2, 10)), "occlusion": rng.normal(size=(4, 2, 10))}
    written, placed = write_tracks(maps, np.array(["A", "B", "C", "D"]), ("H3K4me3", "H3K27me3"), coords, tmp_path, bin_size=100, orientation="transcript")
    assert placed == 3  # C matches C.2 without its version; D is unknown
    assert sorted(written) == ["attention.H3K27me3", "attention.H3K4me3", "occlusion.H3K27me3", "occlusion.H3K4me3"]
    lines = (tmp_path / "occlusion.H3K4me3.bedGraph").read_text().splitlines()
    assert lines[0].startswith('track type=bedGraph name="occlusion H3K4me3"')
    rows = [line.split("\t") for line in lines[1:]]
    keys = [(r[0], int(r[1])) for r in rows]
    assert keys == sorted(keys)
    # Gene C (chrX, minus, 5'->3'): its bin 1 is the highest interval [50_000 + 401, 50_000 + 501).
    c_rows = {(int(r[1]), int(r[2])): float(r[3]) for r in rows if r[0] == "chrX"}
    assert len(c_rows) == 10 and c_rows[(50_401, 50_501)] == pytest.approx(maps["occlusion"][2, 0, 0], rel=1e-5)
    # A [500, 1500) and B (minus, [801, 1801)) overlap on [801, 1500): pieces cut at every bin edge.
    chr1 = [(int(r[1]), int(r[2])) for r in rows if r[0] == "chr1"]
    assert chr1[0] == (500, 600) and chr1[-1] == (1_701, 1_801) and all(a[1] <= b[0] for a, b in zip(chr1, chr1[1:]))
    with pytest.raises(ValueError, match="none of the 1 genes"):
        write_tracks(maps, np.array(["Z"]), ("H3K4me3", "H3K27me3"), coords, tmp_path, bin_size=100, orientation="transcript")


def test_tss_file_errors_name_the_line(tmp_path):
    bad = tmp_path / "tss.tsv"
    bad.write_text("gene_id\tchrom\ttss_0based\tstrand\nA\tchr1\t100\t+\nB\tchr1\tten\t-\n")
    with pytest.raises(Exception, match=r"tss.tsv:3: tss_0based must be an integer"):
        read_coordinates(bad)
    good = tmp_path / "ok.tsv"
    good.write_text("gene_id\tchrom\ttss_1based\tstrand\nA\tchr1\t101\t+\n")
    assert read_coordinates(good).tss.tolist() == [100]


@pytest.mark.slow
def test_interpret_writes_tracks_from_tss_file_and_from_featurize_manifest(sim_dir, tiny_checkpoint, tmp_path, capsys):
    data = read_csv(sim_dir / "test.csv").subset(np.arange(6))
    csv = tmp_path / "six.csv"
    write_csv(data, csv)
    tss = tmp_path / "tss.tsv"
    tss.write_text("gene_id\tchrom\ttss_0based\tstrand\n" + "".join(f"{g}\tchr{1 + i % 2}\t{20_000 + 20_000 * i}\t{'+-'[i % 2]}\n" for i, g in enumerate(data.gene_ids)))
    args = ("interpret", "--model", tiny_checkpoint, "--input", csv, "--methods", "attention", "--max-gene-plots", 0, "--no-tsv", "--by", "rank", "-q")
    # The CSV does not say which way its bins run and half the genes are on the minus strand: refused before any work.
    assert cli(*args, "--out", tmp_path / "a", "--tss", tss) == 2
    assert "--orientation genomic or transcript" in capsys.readouterr().err and not (tmp_path / "a").exists()
    broken = tmp_path / "broken.tsv"
    broken.write_text("gene_id\tchrom\ttss_0based\tstrand\nX\tchr1\t-5\t+\n")
    assert cli(*args, "--out", tmp_path / "b", "--tss", broken, "--orientation", "genomic") == 2
    assert "broken.tsv" in capsys.readouterr().err
    assert cli(*args, "--out", tmp_path / "c", "--tss", tss, "--orientation", "genomic") == 0
    tracks = sorted(p.name for p in (tmp_path / "c" / "tracks").iterdir())
    assert len(tracks) == data.n_marks and "attention.H3K4me3.bedGraph" in tracks
    with np.load(tmp_path / "c" / "explanations.npz") as npz:
        assert str(npz["orientation"]) == "genomic"
        alpha = npz["alpha"]
    first = (tmp_path / "c" / "tracks" / "attention.H3K27me3.bedGraph").read_text().splitlines()[1].split("\t")
    assert first[:3] == ["chr1", "15000", "15100"] and float(first[3]) == pytest.approx(alpha[0, 0, 0], rel=1e-5)
    assert "genomic position relative to the TSS" in (tmp_path / "c" / "summary.md").read_text()

    # A featurize manifest beside the CSV records the bin order and the coordinates: tracks without --tss.
    manifest = {"tool": "attentivechrome featurize", "parameters": {"orientation": "stranded", "bin_order": "transcript"},
                "gene_coordinates": {g: [f"chr{1 + i % 2}", 20_000 + 20_000 * i, "+-"[i % 2]] for i, g in enumerate(data.gene_ids)}}  # fmt: skip
    (tmp_path / "six.json").write_text(json.dumps(manifest))
    assert read_csv(csv).orientation == "transcript" and len(recorded_coordinates(csv).gene_ids) == 6
    assert cli(*args, "--out", tmp_path / "d") == 0
    summary = (tmp_path / "d" / "summary.md").read_text()
    assert "bin order: transcript" in summary and "6 of 6 genes placed" in summary
    lines = {tuple(line.split("\t")[:3]): float(line.split("\t")[3]) for line in (tmp_path / "d" / "tracks" / "attention.H3K27me3.bedGraph").read_text().splitlines()[1:]}
    assert len(lines) == 6 * data.n_bins  # no overlaps: one line per bin
    with np.load(tmp_path / "d" / "explanations.npz") as npz:
        # gene 2 (minus strand, TSS 40,000, 5'->3'): bin 1 is the highest interval of its window [35,001, 45,001)
        assert lines[("chr2", "44901", "45001")] == pytest.approx(npz["alpha"][1, 0, 0], rel=1e-5)
        assert lines[("chr2", "35001", "35101")] == pytest.approx(npz["alpha"][1, 0, -1], rel=1e-5)
