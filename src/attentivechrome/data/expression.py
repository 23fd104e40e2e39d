"""Expression values for ``--task regression``: ``expression.csv`` beside the split files.

The file has no header and one row per gene, ``gene_id,value`` (read counts or RPKM, as
DeepDiffChrome publishes them and as :func:`~attentivechrome.data.synthetic.write_simulation`
writes them). The regression target of a gene is ``log1p(value)``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import InputFormatError
from .dataset import HistoneData

#: File name of the expression table, beside train/valid/test.csv.
EXPRESSION_FILE = "expression.csv"


def read_expression(path: str | Path) -> pd.Series:
    """Read ``gene_id,value`` rows into a Series of float values indexed by gene id.

    Raises
    ------
    InputFormatError
        On a row without exactly two fields, a value that is not a finite number >= 0, or a
        gene listed twice; the message names the file and the 1-based line.
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, header=None, dtype=str, keep_default_na=False, on_bad_lines="error")
    except pd.errors.EmptyDataError:
        raise InputFormatError(path, None, "is empty; expected gene_id,value rows") from None
    except pd.errors.ParserError as err:
        raise InputFormatError(path, None, f"expected 2 fields (gene_id,value) on every row ({str(err).strip()})") from None
    if frame.shape[1] != 2:
        raise InputFormatError(path, 1, f"expected 2 fields (gene_id,value), got {frame.shape[1]}")
    values = pd.to_numeric(frame[1], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        line = int(np.argmax(bad))
        raise InputFormatError(path, line + 1, f"expected a finite expression value >= 0, got {frame.iloc[line, 1]!r}")
    duplicated = frame[0].duplicated().to_numpy()
    if duplicated.any():
        line = int(np.argmax(duplicated))
        raise InputFormatError(path, line + 1, f"gene {frame.iloc[line, 0]!r} is listed twice")
    return pd.Series(values, index=frame[0].to_numpy(), name="expression")


def with_expression_targets(splits: dict[str, HistoneData], expression: pd.Series, *, source: str = EXPRESSION_FILE) -> dict[str, HistoneData]:
    """The same splits with ``labels`` replaced by the float targets ``log1p(expression)``.

    Raises
    ------
    InputFormatError
        When a gene of a split has no expression value.
    """
    out = {}
    for name, data in splits.items():
        values = expression.reindex(data.gene_ids).to_numpy(dtype=np.float64)
        missing = np.isnan(values)
        if missing.any():
            examples = ", ".join(map(str, data.gene_ids[missing][:3]))
            raise InputFormatError(source, None, f"has no value for {int(missing.sum())} of the {data.n_genes} {name} genes (e.g. {examples})")
        out[name] = dataclasses.replace(data, labels=np.log1p(values).astype(np.float32))
    return out
