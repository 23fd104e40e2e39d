"""High/low expression labels from an expression table (the paper's median rule).

The table has one row per gene and the gene id in its first column, tab- or
comma-separated, plain or gzip. With a header (e.g. the Roadmap RPKM matrix
``57epigenomes.RPKM.pc``: ``gene_id E000 E003 ...``) the cell's column is chosen by name;
without one (``gene_id,value``, as ``expression.csv`` of the REMC sets) the single value
column is used. A gene's label is 1 when its value is above the median of the column over
all genes of the table, as in the paper, else 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import InputFormatError
from ._text import check_input_file, read_lines

_VERSION_SUFFIX = re.compile(r"\.\d+$")


@dataclass(frozen=True)
class Expression:
    """One expression value per gene and the labels of the median rule.

    Attributes
    ----------
    gene_ids
        Genes of the table with a value, shape (genes,).
    values
        Their values, float64 of shape (genes,).
    column
        The column used (its header name, or ``"2"`` for a headerless table).
    median
        Median of ``values``; the threshold of the label.
    source
        The file read.
    """

    gene_ids: np.ndarray
    values: np.ndarray
    column: str
    median: float
    source: str = ""
    n_missing: int = 0

    @property
    def labels(self) -> np.ndarray:
        """1 where the value is above the median, else 0 (int64, shape (genes,))."""
        return (self.values > self.median).astype(np.int64)

    def lookup(self, gene_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """Value and label of each of ``gene_ids``.

        A gene missing from the table is matched again without an Ensembl-style version
        suffix (``ENSG00000197106.5`` -> ``ENSG00000197106``) on both sides.

        Returns
        -------
        values : ndarray of float64
            NaN where the gene has no value.
        labels : ndarray of int64
            -1 where the gene has no value.
        n_unversioned : int
            How many genes were matched only after dropping version suffixes.
        """
        index = {g: i for i, g in enumerate(self.gene_ids.tolist())}
        unversioned: dict[str, int] = {}
        for g, i in index.items():
            unversioned.setdefault(_VERSION_SUFFIX.sub("", g), i)
        position = np.full(len(gene_ids), -1, dtype=np.int64)
        n_unversioned = 0
        for k, gene in enumerate(np.asarray(gene_ids).tolist()):
            i = index.get(gene)
            if i is None:
                i = unversioned.get(_VERSION_SUFFIX.sub("", gene))
                n_unversioned += i is not None
            position[k] = -1 if i is None else i
        found = position >= 0
        values = np.full(len(gene_ids), np.nan)
        values[found] = self.values[position[found]]
        labels = np.full(len(gene_ids), -1, dtype=np.int64)
        labels[found] = self.labels[position[found]]
        return values, labels, n_unversioned


def read_expression_column(path: str | Path, column: str | None = None) -> Expression:
    """Read one column of an expression table and the median of that column.

    Parameters
    ----------
    path
        The table (see the module docstring).
    column
        Header name of the cell's column (e.g. ``"E003"``). Default: the table's only
        value column.

    Returns
    -------
    Expression
        Genes with a value; empty fields and ``NA``/``NaN`` count as missing (``n_missing``).

    Raises
    ------
    InputFormatError
        When the column does not exist (listing the columns), a value is not a number, a
        gene is listed twice, or the table holds no values.
    """
    path = check_input_file(path, "--expression")
    lines = ((n, l) for n, l in read_lines(path) if l.strip() and not l.startswith("#"))
    try:
        first_no, first = next(lines)
    except StopIteration:
        raise InputFormatError(path, None, "is empty; expected one row per gene: gene_id, then expression values") from None
    delimiter = "\t" if "\t" in first else ","
    fields = [f.strip() for f in first.split(delimiter)]
    has_header = not all(_is_number(f) for f in fields[1:]) if len(fields) > 1 else True
    if has_header:
        try:
            second_no, second = next(lines)
        except StopIteration:
            raise InputFormatError(path, None, "has a header but no genes") from None
        # A header one field shorter than the rows (R-style) names the value columns only.
        r_style = len(second.split(delimiter)) == len(fields) + 1
        names = fields if r_style else fields[1:]
        if column is None:
            if len(names) != 1:
                raise InputFormatError(
                    path, first_no, f"has {len(names)} value columns ({_preview(names)}); choose the cell's column with --cell"
                )
            column = names[0]
        if column not in names:
            raise InputFormatError(path, first_no, f"has no column {column!r}; its columns are {_preview(names)} (choose one with --cell)")
        field_index, width = names.index(column) + 1, len(names) + 1
        rows = _chain((second_no, second), lines)
    else:
        if len(fields) < 2:
            raise InputFormatError(path, first_no, "expected at least 2 fields (gene_id, value)")
        if column is not None:
            raise InputFormatError(path, first_no, f"has no header row, so no column named {column!r}; leave out --cell to use its value column")
        if len(fields) != 2:
            raise InputFormatError(path, first_no, f"has no header and {len(fields) - 1} value columns; add a header naming them to choose one with --cell")
        column, field_index, width = "2", 1, 2
        rows = _chain((first_no, first), lines)
    gene_ids: list[str] = []
    values: list[float] = []
    where: dict[str, int] = {}
    n_missing = 0
    for line_no, line in rows:
        row = line.split(delimiter)
        if len(row) != width:
            raise InputFormatError(path, line_no, f"expected {width} fields (gene_id and {width - 1} values), got {len(row)}")
        gene = row[0].strip()
        if gene in where:
            raise InputFormatError(path, line_no, f"gene {gene!r} is listed twice (first on line {where[gene]})")
        where[gene] = line_no
        text = row[field_index].strip()
        if text in ("", "NA", "NaN", "nan", "N/A"):
            n_missing += 1
            continue
        try:
            value = float(text)
        except ValueError:
            raise InputFormatError(path, line_no, f"column {column!r} must hold numbers, got {text!r}") from None
        if not np.isfinite(value):
            n_missing += 1
            continue
        gene_ids.append(gene)
        values.append(value)
    if not values:
        raise InputFormatError(path, None, f"column {column!r} holds no expression values")
    array = np.array(values, dtype=np.float64)
    return Expression(
        gene_ids=np.array(gene_ids, dtype=str),
        values=array,
        column=column,
        median=float(np.median(array)),
        source=str(path),
        n_missing=n_missing,
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text.strip() in ("", "NA", "N/A")
    return True


def _preview(names: list[str], limit: int = 8) -> str:
    head = ", ".join(names[:limit])
    return head if len(names) <= limit else f"{head}, ... ({len(names)} in all)"


def _chain(first, rest):
    yield first
    yield from rest
