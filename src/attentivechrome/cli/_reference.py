"""The reference-expression options of the commands: read the table once, bind it to a model, say what the prior reads."""

from __future__ import annotations

from pathlib import Path

from ._app import UsageProblem, say


def read_table(path: Path | None):
    """The checked table of ``--reference-expression``, or ``None`` (a bad table stops with its file and line)."""
    if path is None:
        return None
    from ..data.reference import read_reference

    return read_reference(path)


def training_reference(path: Path | None, mode: str, exclude: str) -> dict:
    """The TrainConfig settings of the reference options: ``reference`` (``none`` without a table) and ``reference_exclude``."""
    from ..data.reference import REFERENCE_MODES, parse_exclude

    if mode not in REFERENCE_MODES:
        raise UsageProblem(f"--reference-mode must be one of {', '.join(REFERENCE_MODES)}, got {mode!r}")
    if path is None and exclude:
        raise UsageProblem("--reference-exclude needs --reference-expression")
    return {"reference": "none" if path is None else mode, "reference_exclude": parse_exclude(exclude)}


def cell_of(data_path: Path, cell: str | None) -> str:
    """The cell a file or directory holds: ``--cell``, else the directory's name."""
    from ..data.layout import cell_name

    if cell:
        return cell
    return cell_name(data_path if data_path.is_dir() else data_path.parent)


def say_prior(table, cell: str, exclude=(), *, quiet: bool = False) -> None:
    """One line on what the prior of ``cell`` reads, so the user sees the cell's own column is left out."""
    from ..data.reference import epigenome_of, usable_columns

    if quiet or table is None:
        return
    own = epigenome_of(cell)
    columns = usable_columns(table, cell, exclude)
    left_out = [c for c in table.columns if c not in columns]
    if own is None or own not in table.columns:
        say(f"reference {table.source}: cell {cell} is not one of its columns; the prior reads {len(columns)} of {len(table.columns)} columns "
            "(name the cell with --cell if it is one of them)")  # fmt: skip
    else:
        say(f"reference {table.source}: the prior of {cell} reads {len(columns)} of {len(table.columns)} columns (left out: {', '.join(left_out)})")


def bind(loaded, table_path: Path | None, data_path: Path, cell: str | None):
    """``loaded`` ready to read ``data_path``: bound to the prior of its cell when it reads a reference.

    Without ``--reference-expression`` the table recorded in the model is used when it is still
    there unchanged. A table given to a model without a reference is refused.
    """
    if not loaded.reads_reference:
        if table_path is not None:
            raise UsageProblem(f"{loaded.source}: the model was trained without a reference-expression table; drop --reference-expression")
        return loaded
    if table_path is None:
        recorded = Path(loaded.reference["source"])
        if not recorded.is_file():
            raise UsageProblem(
                f"{loaded.source}: the model reads a reference-expression prior; pass --reference-expression (it was trained with {recorded}, not found from here)"
            )
        table_path = recorded
    table = read_table(table_path)
    return loaded.with_reference(table, cell_of(data_path, cell))
