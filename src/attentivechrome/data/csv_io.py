"""Read and write the AttentiveChrome CSV.

The standard file has no header and one row per gene and bin::

    gene_id,bin_id,H3K27me3,H3K36me3,H3K4me1,H3K4me3,H3K9me3[,label]

A file may instead start with a header line naming its columns, ``gene_id,bin_id,<mark>,...[,label]``:
any marks, in any order (the four-mark Roadmap cells and the seven-mark Chromoformer panel are
written so). :func:`write_csv` writes a header exactly when the marks are not the standard five
in their standard order, so the standard files stay as the original tools expect them.

Reading is vectorised: the bytes are checked for field counts with NumPy, parsed by
pandas' C parser, and every structural rule is checked on whole arrays. A broken
file raises :class:`~attentivechrome.exceptions.InputFormatError` naming the file
and the 1-based line of the first problem.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_open
from ..exceptions import InputFormatError
from .dataset import HistoneData
from .orientation import recorded_orientation
from .schema import MARKS

_GZIP_MAGIC = b"\x1f\x8b"
#: Counts are stored as float32; a larger number would become infinite.
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def read_csv(path: str | Path, *, marks: Sequence[str] | None = None) -> HistoneData:
    """Load an AttentiveChrome CSV (plain or gzip), with or without the label column.

    Parameters
    ----------
    path
        The file. ``.gz`` files (detected by content, not name) are decompressed.
    marks
        Names of the mark columns of a headerless file, in file order. Default: the five
        standard marks. A file with a header line takes its marks from the header (and
        ``marks``, when given, must name the same columns).

    Returns
    -------
    HistoneData
        ``counts`` of shape (genes, bins, marks), float32; ``labels`` (genes,) int64
        or ``None`` when the file has no label column; ``orientation`` as ``featurize`` recorded
        it beside the file, else ``unknown`` (a plain CSV does not say).

    Raises
    ------
    InputFormatError
        On the first broken line, naming the file and the line.
    FileNotFoundError
        When the file does not exist.
    """
    path = Path(path)
    raw = _read_bytes(path)
    header, body = _split_header(raw, path)
    if header is None:
        return _read_body(raw, path, tuple(MARKS if marks is None else marks), line_offset=0)
    header_marks, header_label = header
    if marks is not None and [m.lower() for m in marks] != [m.lower() for m in header_marks]:
        raise InputFormatError(path, 1, f"the header names the marks {', '.join(header_marks)}, but {', '.join(marks)} were asked for")
    if not body.strip():
        raise InputFormatError(path, None, "has a header but no rows: expected one row per gene and bin")
    data = _read_body(body, path, header_marks, line_offset=1)
    if header_label != data.has_labels:
        raise InputFormatError(path, 2, "the header " + ("names a label column but the rows have none" if header_label else "names no label column but the rows have one"))
    return data


def _read_body(raw: bytes, path: Path, marks: tuple[str, ...], *, line_offset: int) -> HistoneData:
    """Parse and check the rows (``line_offset`` header lines precede them in the file)."""
    try:
        return _parse_rows(raw, path, marks)
    except InputFormatError as err:
        if line_offset and err.line is not None:
            raise InputFormatError(err.path, err.line + line_offset, err.reason) from None
        raise


def _parse_rows(raw: bytes, path: Path, marks: tuple[str, ...]) -> HistoneData:
    n_marks = len(marks)
    has_label = _check_field_counts(raw, path, n_marks)
    names = ["gene_id", "bin_id", *marks] + (["label"] if has_label else [])
    frame = _parse(raw, path, names)
    gene_ids = frame[0].to_numpy(dtype=object)
    values = frame.iloc[:, 1:].to_numpy(dtype=np.float64)  # (rows, 1 + marks [+ label])
    _check_numbers(values, path, names[1:], has_label)

    bins = values[:, 0]
    counts = values[:, 1 : 1 + n_marks]
    labels = values[:, 1 + n_marks] if has_label else None
    starts, n_bins = _check_structure(gene_ids, bins, labels, path)

    n_genes = len(starts)
    return HistoneData(
        gene_ids=np.asarray(gene_ids[starts], dtype=str),
        counts=counts.astype(np.float32).reshape(n_genes, n_bins, n_marks),
        labels=None if labels is None else labels[starts].astype(np.int64),
        marks=tuple(marks),
        source=str(path),
        orientation=recorded_orientation(path),
    )


def write_csv(data: HistoneData, path: str | Path, *, with_labels: bool = True, header: bool | None = None) -> None:
    """Write ``data`` in the AttentiveChrome layout, atomically; integers stay integers.

    ``header``: write the column names first. Default: only when the marks are not the standard
    five in their standard order (a standard file stays headerless).
    """
    n_genes, n_bins, n_marks = data.counts.shape
    flat = data.counts.reshape(n_genes * n_bins, n_marks)
    frame = pd.DataFrame({"gene": np.repeat(data.gene_ids, n_bins), "bin": np.tile(np.arange(1, n_bins + 1), n_genes)})
    integral = bool(np.all(flat == np.round(flat)))
    for j in range(n_marks):
        frame[f"m{j}"] = flat[:, j].astype(np.int64) if integral else flat[:, j]
    if with_labels and data.labels is not None:
        frame["label"] = np.repeat(data.labels, n_bins)
    if header is None:
        header = tuple(data.marks) != tuple(MARKS)
    names = ["gene_id", "bin_id", *data.marks] + (["label"] if "label" in frame else [])
    compression = "gzip" if str(path).endswith(".gz") else None
    with atomic_open(path, "wb") as handle:
        frame.to_csv(handle, header=names if header else False, index=False, compression=compression)


# --------------------------------------------------------------------------- helpers


def _read_bytes(path: Path) -> bytes:
    if path.is_dir():
        raise InputFormatError(path, None, "is a directory, expected an AttentiveChrome CSV file")
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as err:
            raise InputFormatError(path, None, f"is a damaged gzip file ({err})") from err
    if not raw.strip():
        raise InputFormatError(path, None, "is empty: expected one row per gene and bin")
    raw = _drop_trailing_blank_lines(raw)
    if b"\x00" in raw[:65536]:
        raise InputFormatError(path, None, "looks like a binary file, expected comma-separated text")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InputFormatError(path, line, "is not UTF-8 text (binary file?)") from err
    return raw


def _drop_trailing_blank_lines(raw: bytes) -> bytes:
    """``raw`` without empty lines at its end (an editor's extra newline is harmless), ending in one newline."""
    end = len(raw)
    while end and raw[end - 1 : end] in (b"\n", b"\r"):
        end -= 1
    return raw[:end] + b"\n" if end < len(raw) else raw


def _split_header(raw: bytes, path: Path) -> tuple[tuple[tuple[str, ...], bool] | None, bytes]:
    """``((marks, has_label), rows)`` when the first line is a header (it starts with ``gene_id``), else ``(None, raw)``."""
    end = raw.find(b"\n")
    first = (raw if end < 0 else raw[:end]).decode("utf-8").strip().rstrip("\r")
    names = [name.strip() for name in first.split(",")]
    if names[0].lower() != "gene_id":
        return None, raw
    if len(names) < 3 or names[1].lower() != "bin_id":
        raise InputFormatError(path, 1, f"a header must start with gene_id,bin_id and name at least one mark, got {first!r}")
    has_label = names[-1].lower() == "label"
    marks = tuple(names[2:-1] if has_label else names[2:])
    if not marks:
        raise InputFormatError(path, 1, "the header names no mark column")
    lowered = [m.lower() for m in marks]
    for i, mark in enumerate(marks):
        if not mark:
            raise InputFormatError(path, 1, f"column {i + 3} of the header is empty; name every mark")
        if mark.lower() in ("gene_id", "bin_id", "label"):
            raise InputFormatError(path, 1, f"{mark!r} can only be the first, second or last column of the header")
        if lowered.index(mark.lower()) != i:
            raise InputFormatError(path, 1, f"the header names mark {mark!r} twice (mark names are compared case-insensitively)")
    return (marks, has_label), (b"" if end < 0 else raw[end + 1 :])


def _check_field_counts(raw: bytes, path: Path, n_marks: int) -> bool:
    """Check every line's field count at once; return whether the file has labels."""
    buf = np.frombuffer(raw, dtype=np.uint8)
    newline_at = np.flatnonzero(buf == ord("\n"))
    if len(buf) and buf[-1] != ord("\n"):
        newline_at = np.append(newline_at, len(buf))  # last line without newline
    commas_before = np.concatenate(([0], np.cumsum(buf == ord(","))))
    line_ends = newline_at
    line_starts = np.concatenate(([0], newline_at[:-1] + 1))
    fields = commas_before[line_ends] - commas_before[line_starts] + 1
    quotes_before = np.concatenate(([0], np.cumsum(buf == ord('"'))))
    unclosed = np.flatnonzero((quotes_before[line_ends] - quotes_before[line_starts]) % 2 == 1)
    if len(unclosed):
        i = int(unclosed[0])
        raise InputFormatError(path, i + 1, 'a quote (") opens a field that does not close on the same line; quote whole fields, or remove the quote')
    empty = line_ends == line_starts
    if len(fields) and empty[-1] and len(fields) > 1:
        # A trailing blank line at the end of the file is harmless.
        fields, empty = fields[:-1], empty[:-1]
    expected_labelled, expected_plain = 2 + n_marks + 1, 2 + n_marks
    first = int(fields[0])
    if first not in (expected_labelled, expected_plain) or empty[0]:
        raise InputFormatError(
            path,
            1,
            f"expected {expected_labelled} fields (gene_id,bin_id,{n_marks} marks,label) "
            f"or {expected_plain} (without label), got {0 if empty[0] else first}",
        )
    bad = np.flatnonzero((fields != first) | empty)
    if len(bad):
        i = int(bad[0])
        got = 0 if empty[i] else int(fields[i])
        raise InputFormatError(path, i + 1, f"expected {first} fields like line 1, got {got}")
    return first == expected_labelled


def _parse(raw: bytes, path: Path, names: Sequence[str]) -> pd.DataFrame:
    """Parse the columns ``names`` (gene_id as text, the rest as numbers); name the first bad field."""
    n_fields = len(names)
    try:
        return pd.read_csv(
            io.BytesIO(raw),
            header=None,
            names=range(n_fields),
            dtype={0: str, **{j: np.float64 for j in range(1, n_fields)}},
            skip_blank_lines=False,
            na_filter=True,
            keep_default_na=False,
            na_values=[""],
            engine="c",
        )
    except pd.errors.ParserError as err:
        raise _parser_error(err, path) from None
    except ValueError:
        pass  # a non-numeric field: parse as text to find and name it
    try:
        frame = pd.read_csv(io.BytesIO(raw), header=None, names=range(n_fields), dtype=str, keep_default_na=False, skip_blank_lines=False)
    except pd.errors.ParserError as err:
        raise _parser_error(err, path) from None
    first_bad: tuple[int, int] | None = None  # (row, column) of the earliest bad field
    for j in range(1, n_fields):
        parsed = pd.to_numeric(frame[j], errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(parsed))
        if len(bad) and (first_bad is None or bad[0] < first_bad[0]):
            first_bad = (int(bad[0]), j)
    if first_bad is None:
        raise InputFormatError(path, None, "could not be parsed as comma-separated numbers")
    i, j = first_bad
    text = frame.iat[i, j]
    if text.strip().lower().lstrip("+-") in ("", "nan", "inf", "infinity"):
        raise InputFormatError(path, i + 1, f"field {j + 1} ({names[j]}) must be a finite number, got {text!r}")
    raise InputFormatError(path, i + 1, f"field {j + 1} ({names[j]}) is not a number: {text!r}")


def _parser_error(err: Exception, path: Path) -> InputFormatError:
    """pandas' tokenizer error as ours, with the 1-based line where pandas gives one (its rows count from 0)."""
    text = str(err)
    if match := re.search(r"inside string starting at row (\d+)", text):
        return InputFormatError(path, int(match.group(1)) + 1, 'a quote (") opens a field that does not close on the same line; quote whole fields, or remove the quote')
    if match := re.search(r"in line (\d+)", text):
        return InputFormatError(path, int(match.group(1)), f"cannot be split into fields ({text.split('C error: ')[-1].strip()})")
    return InputFormatError(path, None, f"cannot be split into comma-separated fields ({text.split('C error: ')[-1].strip()})")


def _check_numbers(values: np.ndarray, path: Path, names: Sequence[str], has_label: bool) -> None:
    """Check the numeric columns ``names`` (bin_id, the marks[, label]) of every row."""
    finite = np.isfinite(values)
    if not finite.all():
        i, j = np.argwhere(~finite)[0]
        what = "an empty or NaN value" if np.isnan(values[i, j]) else f"{values[i, j]}"
        raise InputFormatError(path, int(i) + 1, f"{names[j]} must be a finite number, got {what}")
    too_large = np.abs(values) > _FLOAT32_MAX
    if too_large.any():
        i, j = np.argwhere(too_large)[0]
        raise InputFormatError(
            path, int(i) + 1, f"{names[j]} must be at most {_FLOAT32_MAX:.4g} (counts are stored as float32; a larger one would be infinite), got {values[i, j]:g}"
        )
    negative = values < 0
    if negative.any():
        i, j = np.argwhere(negative)[0]
        raise InputFormatError(path, int(i) + 1, f"{names[j]} must not be negative, got {values[i, j]:g}")
    if has_label:
        label = values[:, -1]
        bad = np.flatnonzero((label != 0) & (label != 1))
        if len(bad):
            i = int(bad[0])
            raise InputFormatError(path, i + 1, f"label must be 0 or 1, got {label[i]:g}")


def _check_structure(
    gene_ids: np.ndarray, bins: np.ndarray, labels: np.ndarray | None, path: Path
) -> tuple[np.ndarray, int]:
    """Check genes are contiguous blocks of bins 1..T; return block starts and T."""
    n_rows = len(gene_ids)
    codes, distinct = pd.factorize(gene_ids)  # an empty id (read as NaN) gets code -1
    blank = np.flatnonzero(pd.Series(distinct, dtype=object).str.strip().to_numpy() == "")
    if (codes < 0).any() or len(blank):
        first = np.flatnonzero((codes < 0) | np.isin(codes, blank))[0]
        raise InputFormatError(path, int(first) + 1, "gene_id is empty")
    new_block = np.ones(n_rows, dtype=bool)
    new_block[1:] = codes[1:] != codes[:-1]
    starts = np.flatnonzero(new_block)
    block_codes = codes[starts]

    # A gene seen in two blocks: listed twice, or its rows interrupted by another gene.
    seen_first = np.unique(block_codes, return_index=True)[1]
    if len(seen_first) != len(starts):
        repeated = np.ones(len(starts), dtype=bool)
        repeated[seen_first] = False
        k = int(np.flatnonzero(repeated)[0])
        line = int(starts[k]) + 1
        first_block = int(np.flatnonzero(block_codes == block_codes[k])[0])
        ended = int(starts[first_block + 1]) if first_block + 1 < len(starts) else n_rows
        gene = gene_ids[starts[k]]
        kind = "is listed twice" if bins[starts[k]] == 1 else "has rows that are not contiguous"
        raise InputFormatError(
            path, line, f"gene {gene!r} {kind}: its rows already ended at line {ended}; each gene must be one block of bins 1..T"
        )

    # Bin ids must run 1, 2, ..., T inside each block.
    block_index = np.cumsum(new_block) - 1
    expected_bin = np.arange(n_rows) - starts[block_index] + 1
    bad = np.flatnonzero(bins != expected_bin)
    if len(bad):
        i = int(bad[0])
        raise InputFormatError(
            path, i + 1, f"gene {gene_ids[i]!r}: expected bin_id {expected_bin[i]}, got {bins[i]:g} (bins must be 1..T in order)"
        )

    lengths = np.diff(np.append(starts, n_rows))
    n_bins = int(lengths[0])
    bad = np.flatnonzero(lengths != n_bins)
    if len(bad):
        k = int(bad[0])
        raise InputFormatError(
            path,
            int(starts[k]) + 1,
            f"gene {gene_ids[starts[k]]!r} has {lengths[k]} bins, but the first gene has {n_bins}; all genes need the same bin count",
        )

    if labels is not None:
        changed = np.flatnonzero(labels != labels[starts[block_index]])
        if len(changed):
            i = int(changed[0])
            raise InputFormatError(
                path, i + 1, f"gene {gene_ids[i]!r}: label changes from {labels[starts[block_index[i]]]:g} to {labels[i]:g} inside the gene"
            )
    return starts, n_bins
