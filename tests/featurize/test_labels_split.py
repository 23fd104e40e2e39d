"""Median-rule labels from expression tables, and train/valid/test splits."""

from __future__ import annotations

import numpy as np
import pytest

from attentivechrome.exceptions import InputFormatError
from attentivechrome.featurize import read_expression_column, split_genes


def test_matrix_with_header_chooses_the_column(tmp_path):
    path = tmp_path / "57epigenomes.RPKM.pc"
    path.write_text("gene_id\tE000\tE003\tE004\nA\t1\t0.5\t9\nB\t2\t7.25\t9\nC\t3\t3\t9\nD\t4\tNA\t9\n")
    expr = read_expression_column(path, "E003")
    assert expr.gene_ids.tolist() == ["A", "B", "C"] and expr.n_missing == 1
    assert expr.median == 3.0
    assert expr.labels.tolist() == [0, 1, 0]  # strictly above the median


def test_r_style_header_and_headerless(tmp_path):
    r_style = tmp_path / "r.tsv"
    r_style.write_text("E003\tE004\nA\t1\t2\nB\t5\t0\n")
    assert read_expression_column(r_style, "E004").values.tolist() == [2.0, 0.0]
    plain = tmp_path / "expression.csv"
    plain.write_text("A,1\nB,5\nC,3\n")
    expr = read_expression_column(plain)
    assert expr.column == "2" and expr.labels.tolist() == [0, 1, 0]


def test_real_expression_file(shared_data):
    # remc-e003/expression.csv: headerless gene_id,value for 19,795 genes.
    expr = read_expression_column(shared_data / "remc-e003" / "expression.csv")
    assert len(expr.gene_ids) == 19_795
    assert abs(expr.labels.mean() - 0.5) < 0.01


def test_lookup_matches_versioned_ids(tmp_path):
    path = tmp_path / "e.tsv"
    path.write_text("gene_id\tE003\nENSG1\t1\nENSG2\t9\nENSG3\t5\n")
    values, labels, n_unversioned = read_expression_column(path, "E003").lookup(np.array(["ENSG2.4", "ENSG1", "ENSG7.1"]))
    assert values[:2].tolist() == [9.0, 1.0] and np.isnan(values[2])
    assert labels.tolist() == [1, 0, -1] and n_unversioned == 1


@pytest.mark.parametrize(
    "content,column,message",
    [
        ("gene_id\tE003\tE004\nA\t1\t2\n", "E999", r":1: has no column 'E999'; its columns are E003, E004 \(choose one with --cell\)"),
        ("gene_id\tE003\tE004\nA\t1\t2\n", None, r":1: has 2 value columns \(E003, E004\); choose the cell's column with --cell"),
        ("gene_id\tE003\nA\t1\nB\tlots\n", "E003", r":3: column 'E003' must hold numbers, got 'lots'"),
        ("gene_id\tE003\nA\t1\nA\t2\n", "E003", r":3: gene 'A' is listed twice \(first on line 2\)"),
        ("A,1\nB,2\n", "E003", r":1: has no header row, so no column named 'E003'"),
        ("gene_id\tE003\nA\tNA\n", "E003", r"column 'E003' holds no expression values"),
    ],
    ids=["unknown-column", "column-needed", "not-a-number", "duplicate", "headerless-with-cell", "all-missing"],
)
def test_bad_expression_tables(tmp_path, content, column, message):
    path = tmp_path / "e.tsv"
    path.write_text(content)
    with pytest.raises(InputFormatError, match=message):
        read_expression_column(path, column)


def test_contiguous_and_random_splits():
    chroms = np.array(["chr1"] * 10)
    parts = split_genes(chroms, "contiguous")
    assert [p.tolist() for p in parts.values()] == [[0, 1, 2], [3, 4, 5, 6], [7, 8, 9]]
    parts = split_genes(chroms, "contiguous", fractions=(8, 1, 1))
    assert [len(p) for p in parts.values()] == [8, 1, 1]
    a, b = split_genes(chroms, "random", seed=4), split_genes(chroms, "random", seed=4)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert sorted(np.concatenate(list(a.values())).tolist()) == list(range(10))
    assert any(not np.array_equal(a[k], split_genes(chroms, "random", seed=5)[k]) for k in a)


def test_chromosome_split_matches_names_across_conventions():
    chroms = np.array(["chr1", "chr2", "chr3", "chr1", "chrX"])
    parts = split_genes(chroms, "chromosome", valid_chroms=["2"], test_chroms=["chr1"])
    assert parts["train"].tolist() == [2, 4] and parts["valid"].tolist() == [1] and parts["test"].tolist() == [0, 3]


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(method="chromosome", valid_chroms=["chr9"], test_chroms=["chr1"]), "leaves valid without genes"),
        (dict(method="chromosome"), "needs held-out chromosomes"),
        (dict(method="contiguous", fractions=(1, -1, 1)), "three non-negative numbers"),
        (dict(method="thirds"), "unknown split 'thirds'"),
    ],
    ids=["empty-valid", "no-chromosomes", "negative-fraction", "unknown"],
)
def test_bad_splits(kwargs, message):
    method = kwargs.pop("method")
    with pytest.raises(ValueError, match=message):
        split_genes(np.array(["chr1", "chr2", "chr1"]), method, **kwargs)
