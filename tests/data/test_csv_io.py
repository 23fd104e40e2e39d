"""The AttentiveChrome CSV reader: real files, round trips, and every malformed case."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from attentivechrome.data import HistoneData, load_splits, read_csv, write_csv
from attentivechrome.data.synthetic import simulate
from attentivechrome.exceptions import InputFormatError


def _rows(n_genes=3, n_bins=4, label=True):
    rows = []
    for g in range(n_genes):
        for b in range(1, n_bins + 1):
            fields = [f"G{g}", str(b), *(str((g + b + m) % 7) for m in range(5))]
            if label:
                fields.append(str(g % 2))
            rows.append(",".join(fields))
    return rows


def _write(tmp_path, rows, name="data.csv"):
    path = tmp_path / name
    path.write_text("\n".join(rows) + "\n")
    return path


def test_reads_real_remc_split(shared_data):
    data = read_csv(shared_data / "remc-e123" / "classification" / "train.csv")
    assert data.counts.shape == (200, 100, 5)
    assert data.counts.dtype == np.float32
    assert data.gene_ids[0] == "ENSG00000130749"
    # First rows of the file: 1,0,3,9,5,0,1 and 2,1,4,6,14,0,1
    np.testing.assert_array_equal(data.counts[0, 0], [0, 3, 9, 5, 0])
    np.testing.assert_array_equal(data.counts[0, 1], [1, 4, 6, 14, 0])
    assert set(np.unique(data.labels)) == {0, 1}
    assert data.marks == ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")


def test_load_splits_accepts_classification_layout(shared_data):
    splits = load_splits(shared_data / "toy")
    assert set(splits) == {"train", "valid", "test"}
    assert all(s.n_bins == 100 and s.n_genes == 10 for s in splits.values())


def test_round_trip_plain_and_gzip(tmp_path):
    data, _ = simulate(30, 20, seed=3)
    for name in ("x.csv", "x.csv.gz"):
        write_csv(data, tmp_path / name)
        back = read_csv(tmp_path / name)
        np.testing.assert_array_equal(back.counts, data.counts)
        np.testing.assert_array_equal(back.labels, data.labels)
        np.testing.assert_array_equal(back.gene_ids, data.gene_ids)
    with gzip.open(tmp_path / "x.csv.gz", "rb") as handle:
        assert handle.read(3) == b"SIM"


def test_without_label_column(tmp_path):
    data = read_csv(_write(tmp_path, _rows(label=False)))
    assert data.labels is None and data.counts.shape == (3, 4, 5)
    assert data.counts[1, 2, 0] == (1 + 3 + 0) % 7


def test_windows_line_endings_and_missing_final_newline(tmp_path):
    path = tmp_path / "crlf.csv"
    path.write_bytes("\r\n".join(_rows()).encode())
    assert read_csv(path).counts.shape == (3, 4, 5)


MALFORMED = [
    # (description, mutate rows -> rows, expected line, message fragment)
    ("too many fields", lambda r: r[:5] + [r[5] + ",9"] + r[6:], 6, "expected 8 fields like line 1, got 9"),
    ("too few fields", lambda r: r[:2] + [r[2].rsplit(",", 1)[0]] + r[3:], 3, "got 7"),
    ("blank line inside", lambda r: r[:7] + [""] + r[7:], 8, "got 0"),
    ("non-numeric count", lambda r: r[:3] + [r[3].replace(",", ",x", 1).replace("x", "abc", 1)] + r[4:], 4, "not a number"),
    ("negative count", lambda r: r[:9] + [_set(r[9], 3, "-2")] + r[10:], 10, "must not be negative"),
    ("NaN count", lambda r: r[:1] + [_set(r[1], 4, "nan")] + r[2:], 2, r"field 5 \(H3K4me1\) must be a finite number"),
    ("count that is not a number", lambda r: r[:1] + [_set(r[1], 3, "1.2.3")] + r[2:], 2, r"field 4 \(H3K36me3\) is not a number: '1.2.3'"),
    ("empty gene id", lambda r: r[:6] + [_set(r[6], 0, "")] + r[7:], 7, "gene_id is empty"),
    ("empty gene id on line 1", lambda r: [_set(r[0], 0, " ")] + r[1:], 1, "gene_id is empty"),
    ("infinite count", lambda r: r[:1] + [_set(r[1], 4, "inf")] + r[2:], 2, "finite"),
    ("empty count", lambda r: r[:1] + [_set(r[1], 4, "")] + r[2:], 2, "finite"),
    ("label 2", lambda r: r[:4] + [_set(r[4], 7, "2")] + r[5:], 5, "label must be 0 or 1, got 2"),
    ("label changes in gene", lambda r: r[:5] + [_set(r[5], 7, "0" if r[5][-1] == "1" else "1")] + r[6:], 6, "label changes"),
    ("bin out of order", lambda r: r[:2] + [_set(r[2], 1, "4")] + r[3:], 3, "expected bin_id 3, got 4"),
    ("bins start at 0", lambda r: [_set(x, 1, str(int(x.split(",")[1]) - 1)) for x in r], 1, "expected bin_id 1, got 0"),
    ("gene rows not contiguous", lambda r: r[:4] + r[8:10] + r[4:8] + r[10:], 11, "not contiguous"),
    ("gene listed twice", lambda r: r + r[:4], 13, "listed twice"),
    ("gene with fewer bins", lambda r: r[:4] + r[4:7] + r[8:], 5, "has 3 bins, but the first gene has 4"),
]


def _set(row, index, value):
    fields = row.split(",")
    fields[index] = value
    return ",".join(fields)


@pytest.mark.parametrize("mutate,line,fragment", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_file_names_file_and_line(tmp_path, mutate, line, fragment):
    path = _write(tmp_path, mutate(_rows()))
    with pytest.raises(InputFormatError, match=fragment) as info:
        read_csv(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert "\n" not in str(info.value)


def test_first_line_with_wrong_field_count(tmp_path):
    with pytest.raises(InputFormatError, match=r":1: expected 8 fields .* or 7 \(without label\), got 4"):
        read_csv(_write(tmp_path, ["a,1,2,3"]))


@pytest.mark.parametrize(
    "content,fragment",
    [(b"", "is empty"), (b"\n\n  \n", "is empty"), (b"\x00\x01\x02binary\x00", "binary"), (b"\xff\xfe\xfdabc,1\n", "not UTF-8")],
    ids=["empty", "blank", "nul-bytes", "not-utf8"],
)
def test_empty_and_binary_files(tmp_path, content, fragment):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputFormatError, match=fragment):
        read_csv(path)


def test_damaged_gzip(tmp_path):
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(gzip.compress("\n".join(_rows()).encode())[:30])
    with pytest.raises(InputFormatError, match="damaged gzip"):
        read_csv(path)


def test_missing_split_file_is_named(tmp_path):
    _write(tmp_path, _rows(), "train.csv")
    _write(tmp_path, _rows(), "valid.csv")
    with pytest.raises(InputFormatError, match="missing test.csv"):
        load_splits(tmp_path)


def test_splits_must_share_bin_count(tmp_path):
    _write(tmp_path, _rows(n_bins=4), "train.csv")
    _write(tmp_path, _rows(n_bins=4), "valid.csv")
    _write(tmp_path, _rows(n_bins=5), "test.csv")
    with pytest.raises(InputFormatError, match="has 5 bins per gene but train has 4"):
        load_splits(tmp_path)


def test_histone_data_checks_shapes():
    with pytest.raises(ValueError, match="mark names"):
        HistoneData(gene_ids=np.array(["a"]), counts=np.zeros((1, 3, 4), np.float32), labels=None, marks=("x",) * 5)


# --------------------------------------------------------------------------- headers: any marks by name


def test_header_files_name_their_marks(shared_data):
    data = read_csv(shared_data / "roadmap-e028" / "test.csv.gz")
    assert data.marks == ("H3K27me3", "H3K36me3", "H3K4me3", "H3K9me3") and data.counts.shape == (5442, 100, 4)
    assert data.gene_ids[0] == "ENSG00000172936"
    np.testing.assert_array_equal(data.counts[0, :2], [[2, 6, 0, 0], [0, 4, 0, 1]])  # the rows after the header: ...,1,2,6,0,0,1 and ...,2,0,4,0,1,1
    assert read_csv(shared_data / "roadmap-e087" / "valid.csv.gz").marks == ("H3K27me3", "H3K36me3", "H3K4me1", "H3K9me3")


@pytest.mark.parametrize("label", [True, False])
def test_header_with_any_marks_round_trips(tmp_path, label):
    data, _ = simulate(5, 10, seed=1)
    seven = HistoneData(
        gene_ids=data.gene_ids, counts=np.concatenate([data.counts, data.counts[:, :, :2] + 1], axis=2),
        labels=data.labels if label else None, marks=(*data.marks[::-1], "H3K27ac", "H3K9ac"),
    )  # fmt: skip
    write_csv(seven, tmp_path / "seven.csv.gz")
    with gzip.open(tmp_path / "seven.csv.gz", "rt") as handle:
        assert handle.readline().strip() == "gene_id,bin_id,H3K9me3,H3K4me3,H3K4me1,H3K36me3,H3K27me3,H3K27ac,H3K9ac" + (",label" if label else "")
    back = read_csv(tmp_path / "seven.csv.gz")
    assert back.marks == seven.marks and (back.labels is None) == (not label)
    np.testing.assert_array_equal(back.counts, seven.counts)
    write_csv(data, tmp_path / "standard.csv")  # the standard five in order: no header, as the original files
    assert (tmp_path / "standard.csv").read_text().startswith(f"{data.gene_ids[0]},1,")


@pytest.mark.parametrize(
    "header, line, fragment",
    [
        ("gene_id,bin_id,A,a,label", 1, "names mark 'a' twice"),
        ("gene_id,bin_id,A,,C,label", 1, "column 4 of the header is empty"),
        ("gene_id,bin,A,B,label", 1, "must start with gene_id,bin_id"),
        ("gene_id,bin_id,label,A,B", 1, "'label' can only be the first, second or last column"),
    ],
)
def test_bad_headers_are_named(tmp_path, header, line, fragment):
    path = _write(tmp_path, [header, "G0,1,1,2,1"])
    with pytest.raises(InputFormatError, match=f"data.csv:{line}: .*{fragment}"):
        read_csv(path)


def test_errors_after_a_header_name_the_file_line(tmp_path):
    rows = _rows(n_genes=2, n_bins=3)
    rows[4] = rows[4].replace(",1,", ",x,", 1) if ",1," in rows[4] else rows[4][:-1] + "x"
    path = _write(tmp_path, ["gene_id,bin_id,m1,m2,m3,m4,m5,label", *rows])
    with pytest.raises(InputFormatError, match=r"data.csv:6: "):  # row 5 of the body is line 6 of the file
        read_csv(path)
    path = _write(tmp_path, ["gene_id,bin_id,m1,m2,m3,m4,m5", *_rows(n_genes=1, n_bins=2)], name="nolabel.csv")
    with pytest.raises(InputFormatError, match="nolabel.csv:2: the header names no label column but the rows have one"):
        read_csv(path)


# --------------------------------------------------------------------------- issue 13: faults found by attacking the reader


def test_counts_beyond_float32_are_rejected_like_inf(tmp_path):
    rows = _rows()
    rows[5] = "G1,2,0,1e39,0,0,0,1"
    with pytest.raises(InputFormatError, match=r"data.csv:6: H3K36me3 must be at most 3.403e\+38 \(counts are stored as float32.*got 1e\+39"):
        read_csv(_write(tmp_path, rows))
    rows[5] = "G1,2,0,3.4e38,0,0,0,1"  # the largest float32 is still a count
    assert np.isfinite(read_csv(_write(tmp_path, rows)).counts).all()


def test_counts_beyond_float32_in_a_headed_file_name_the_file_line(tmp_path):
    rows = ["gene_id,bin_id,H3K4me3,label", "g,1,1,0", "g,2,-1e300,0"]
    with pytest.raises(InputFormatError, match=r"data.csv:3: H3K4me3 must be at most"):
        read_csv(_write(tmp_path, rows))


def test_an_unclosed_quote_names_the_file_and_1_based_line(tmp_path):
    rows = _rows()
    rows[6] = '"G1,3,0,0,0,0,0,1'
    with pytest.raises(InputFormatError, match=r'data.csv:7: a quote \(\"\) opens a field that does not close on the same line'):
        read_csv(_write(tmp_path, rows))
    rows[6] = '"G1",3,0,"1",0,0,0,1'  # whole quoted fields are fine
    assert read_csv(_write(tmp_path, rows)).counts[1, 2, 1] == 1


@pytest.mark.parametrize("ending", ["\n\n", "\r\n\r\n", "\n\n\n"])
def test_trailing_blank_lines_are_accepted(tmp_path, ending):
    path = tmp_path / "data.csv"
    path.write_bytes(("\n".join(_rows())).encode() + ending.encode())
    assert read_csv(path).counts.shape == (3, 4, 5)
    headed = tmp_path / "headed.csv"
    headed.write_bytes(b"gene_id,bin_id,a,label\ng,1,0,1\ng,2,0,1" + ending.encode())
    assert read_csv(headed).n_bins == 2


def test_a_blank_line_inside_the_file_is_still_an_error(tmp_path):
    rows = _rows()
    rows.insert(4, "")
    with pytest.raises(InputFormatError, match="data.csv:5: expected 8 fields like line 1, got 0"):
        read_csv(_write(tmp_path, rows))
