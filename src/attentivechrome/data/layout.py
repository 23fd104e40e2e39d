"""The data-directory layout: where a cell's split files are, its name, and loading its splits for a task.

A cell directory holds ``train.csv``, ``valid.csv`` and ``test.csv`` (``.csv.gz`` too), directly
or in ``classification/`` (the original layout), and ``expression.csv`` beside them for
``task='regression'``. The cell's name is the directory's name.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..exceptions import InputFormatError
from .dataset import HistoneData
from .expression import EXPRESSION_FILE, read_expression, with_expression_targets
from ..tasks import get_task
from .schema import SPLITS


def split_paths(data_dir: str | Path) -> dict[str, Path]:
    """Locate ``train/valid/test.csv`` (or ``.csv.gz``) in ``data_dir`` or ``data_dir/classification``.

    Raises
    ------
    InputFormatError
        When the directory does not exist or lacks a split file.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InputFormatError(data_dir, None, "is not a directory; expected train.csv, valid.csv and test.csv inside")
    for root in (data_dir, data_dir / "classification"):
        found = {}
        for split in SPLITS:
            for name in (f"{split}.csv", f"{split}.csv.gz"):
                if (root / name).is_file():
                    found[split] = root / name
                    break
        if len(found) == len(SPLITS):
            return found
    missing = [s for s in SPLITS if not any((r / f"{s}.csv").is_file() or (r / f"{s}.csv.gz").is_file() for r in (data_dir, data_dir / "classification"))]
    raise InputFormatError(
        data_dir, None, f"missing {', '.join(m + '.csv' for m in missing)} (looked in the directory and in classification/)"
    )


def cell_name(cell_dir: str | Path) -> str:
    """The name of a cell: its directory name (the parent's for a ``classification/`` folder).

    A symbolic link keeps its own name: two links to one directory are two cells.
    """
    path = Path(os.path.abspath(cell_dir))
    return path.parent.name if path.name == "classification" else path.name


def expression_path(data_dir: str | Path) -> Path:
    """``expression.csv`` in the folder holding the split files of ``data_dir``.

    Raises
    ------
    InputFormatError
        When the split files or the expression file are missing.
    """
    folder = split_paths(data_dir)["train"].parent
    path = folder / EXPRESSION_FILE
    if not path.is_file():
        raise InputFormatError(path, None, "not found; regression needs expression.csv (gene_id,value; no header) beside the split files")
    return path


def load_splits(data_dir: str | Path, *, task: str = "classification", cache: bool = False) -> dict[str, HistoneData]:
    """Read the train, valid and test splits of a data directory, labelled for ``task``.

    Parameters
    ----------
    data_dir
        A cell directory (see the module docstring).
    task
        ``classification`` keeps the files' 0/1 labels; ``regression`` replaces them with
        ``log1p`` of the directory's ``expression.csv`` (so does ``deviation``; the reference
        prior is subtracted when the reference is attached). Default ``classification``.
    cache
        Read each file through :func:`attentivechrome.data.read_csv_cached` (a binary copy keyed
        by the file's identity and times), which returns the same data. Default False.

    Raises
    ------
    InputFormatError
        When a file is missing or broken, the splits differ in bins, a split has no labels, or
        (regression) a gene has no expression value.
    """
    from ._cache import read_csv_cached
    from .csv_io import read_csv

    reads_expression = get_task(task).regresses  # an unknown task raises, listing the known ones
    paths = split_paths(data_dir)
    read = read_csv_cached if cache else read_csv
    splits = {name: read(path) for name, path in paths.items()}
    n_bins, marks = splits["train"].n_bins, [m.lower() for m in splits["train"].marks]
    for name, data in splits.items():
        if [m.lower() for m in data.marks] != marks:
            raise InputFormatError(paths[name], 1, f"has the marks {', '.join(data.marks)} but train has {', '.join(splits['train'].marks)}; the splits of a cell must name the same marks")
        if data.n_bins != n_bins:
            raise InputFormatError(paths[name], None, f"has {data.n_bins} bins per gene but train has {n_bins}")
        if not data.has_labels:
            raise InputFormatError(paths[name], 1, "has no label column; training splits need labels")
    if reads_expression:  # regression and deviation read log1p(expression); deviation subtracts the prior later
        path = expression_path(data_dir)
        splits = with_expression_targets(splits, read_expression(path), source=str(path))
    return splits


def load_regression_splits(data_dir: str | Path, *, cache: bool = False) -> dict[str, HistoneData]:
    """Read the splits of ``data_dir`` with ``log1p(expression)`` targets from its ``expression.csv``."""
    return load_splits(data_dir, task="regression", cache=cache)
