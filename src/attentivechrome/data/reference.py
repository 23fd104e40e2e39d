"""The reference-expression compendium and the gene prior a model reads from it.

A biologist who profiles a new cell type already knows each gene's expression in other cell
types. A table in the layout of Roadmap's ``57epigenomes.RPKM.pc`` (header ``gene_id`` then one
column per epigenome, RPKM values; tab- or comma-separated, plain or gzip) holds that knowledge.

:func:`read_reference` reads and checks such a table; :meth:`ReferenceTable.prior_for` turns
it into a :class:`ReferencePrior` for one cell: a fixed function from gene ids to a few
features per gene. The cell's own column is never among the columns a prior reads: the
columns are chosen by :func:`usable_columns`, which drops the cell's column (matched by name,
``roadmap-e012`` -> ``E012``) and every column named in ``exclude``. Two modes:

- ``new-cell`` (the default): four summaries of the gene's log(RPKM + 1) over the usable
  columns: the mean, the spread (standard deviation), the maximum and the fraction of
  epigenomes where the gene is expressed (RPKM >= 1). Nothing is fitted to the cell's own
  expression, so a model trained on one cell applies to another (its prior then leaves out the
  other cell's column instead).
- ``fitted`` (within-cell): the mean, then every usable column's log(RPKM + 1) as a feature, so
  a model learns from the training genes which reference epigenomes resemble the cell. It needs
  the cell's own expression to learn that and cannot predict a new cell.

The first feature is always the mean, :attr:`ReferencePrior.baseline`: the prior expression
that ``--task deviation`` subtracts. Genes missing from the table get the feature medians over
the table's genes (counted, and said once). Features are standardised by their mean and
deviation over the table's genes (again a function of the table alone).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import InputFormatError, ReferenceWarning

logger = logging.getLogger(__name__)

#: How a prior uses the reference: fixed summaries (a new cell), or every column as a feature (within a cell).
REFERENCE_MODES: tuple[str, ...] = ("new-cell", "fitted")
#: The summaries of ``new-cell`` mode, in feature order.
SUMMARIES: tuple[str, ...] = ("mean", "sd", "max", "frac_expressed")
#: RPKM at or above which a gene counts as expressed in a reference epigenome.
EXPRESSED_RPKM = 1.0
#: The ES and ES-derived epigenomes of the Roadmap compendium (../shared/data/README.md), for ``--reference-exclude es``.
ES_EPIGENOMES: tuple[str, ...] = ("E003", "E004", "E005", "E006", "E007", "E011", "E012", "E016", "E024")

_EPIGENOME = re.compile(r"(?:^|[^a-z0-9])(e\d{3})(?:$|[^0-9])", re.IGNORECASE)


def epigenome_of(cell: str) -> str | None:
    """The Roadmap epigenome id a cell name carries (``roadmap-e012`` -> ``E012``), or ``None``."""
    match = _EPIGENOME.search(str(cell))
    return match.group(1).upper() if match else None


def parse_exclude(text: str | None) -> tuple[str, ...]:
    """``--reference-exclude``: comma-separated epigenome ids (``es`` stands for :data:`ES_EPIGENOMES`)."""
    names: list[str] = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        names.extend(ES_EPIGENOMES if part.lower() == "es" else (part,))
    return tuple(dict.fromkeys(name.upper() for name in names))


@dataclass(frozen=True)
class ReferenceTable:
    """A checked reference-expression table: RPKM (genes x epigenomes), its source and a checksum of its content."""

    rpkm: pd.DataFrame
    source: str
    checksum: str

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.rpkm.columns)

    def prior_for(self, cell: str | None, *, exclude: tuple[str, ...] | list[str] = (), mode: str = "new-cell", columns: tuple[str, ...] | None = None) -> ReferencePrior:
        """The prior of cell ``cell``: the usable columns (never the cell's own) summarised as ``mode`` says.

        ``columns`` (fitted mode, for a model trained earlier): read exactly these columns; each
        must be usable for ``cell``.

        Raises
        ------
        ValueError
            For an unknown mode, or when no column is left to read, or a fitted column is the cell's own.
        """
        if mode not in REFERENCE_MODES:
            raise ValueError(f"reference mode must be one of {', '.join(REFERENCE_MODES)}, got {mode!r}")
        usable = usable_columns(self, cell, exclude)
        if columns is not None:
            own = [c for c in columns if c not in usable]
            if own:
                raise ValueError(
                    f"{self.source}: the model reads the reference columns {', '.join(own)}, which are excluded for cell {cell} "
                    "(a fitted-mode model reads fixed columns, and never the cell's own)"
                )
            usable = tuple(columns)
        return ReferencePrior(table=self, cell=cell, columns=usable, mode=mode, excluded=tuple(exclude))


def usable_columns(table: ReferenceTable, cell: str | None, exclude=()) -> tuple[str, ...]:
    """The table's columns a prior of ``cell`` may read: all but the cell's own and the excluded ones.

    Raises
    ------
    ValueError
        When none is left.
    """
    dropped = {name.upper() for name in exclude}
    own = epigenome_of(cell) if cell else None
    if own is not None:
        dropped.add(own)
    if cell:
        dropped.add(str(cell).upper())
    usable = tuple(c for c in table.columns if c.upper() not in dropped)
    if not usable:
        raise ValueError(f"{table.source}: no column left for cell {cell} once its own and the excluded ones ({', '.join(sorted(dropped))}) are dropped")
    return usable


@dataclass(frozen=True)
class ReferencePrior:
    """What a model reads from the reference for one cell: per-gene features, the first being the mean prior."""

    table: ReferenceTable
    cell: str | None
    columns: tuple[str, ...]
    mode: str = "new-cell"
    excluded: tuple[str, ...] = ()
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return SUMMARIES if self.mode == "new-cell" else ("mean", *self.columns)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def _table_features(self) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
        """Raw features of every gene of the table, their medians (for missing genes), means and deviations."""
        if "features" not in self._cache:
            rpkm = self.table.rpkm[list(self.columns)].to_numpy(dtype=np.float64)
            logs = np.log1p(rpkm)
            mean = logs.mean(axis=1)
            if self.mode == "new-cell":
                parts = [mean, logs.std(axis=1), logs.max(axis=1), (rpkm >= EXPRESSED_RPKM).mean(axis=1)]
            else:
                parts = [mean, *logs.T]
            values = np.stack(parts, axis=1)
            frame = pd.DataFrame(values, index=self.table.rpkm.index, columns=list(self.feature_names))
            centre, spread = values.mean(axis=0), values.std(axis=0)
            self._cache["features"] = (frame, np.median(values, axis=0), centre, np.where(spread > 0, spread, 1.0))
        return self._cache["features"]

    def raw_features(self, gene_ids, *, source: str = "") -> np.ndarray:
        """(genes, features) on the log1p scale; genes missing from the table get the table's medians (said once)."""
        frame, medians, _, _ = self._table_features()
        values = frame.reindex(np.asarray(gene_ids, dtype=str)).to_numpy(dtype=np.float64, copy=True)
        missing = np.isnan(values[:, 0])
        if missing.any():
            examples = ", ".join(map(str, np.asarray(gene_ids)[missing][:3]))
            warnings.warn(
                f"{source or 'the data'}: {int(missing.sum())} of {len(values)} genes are not in the reference table {self.table.source} "
                f"(e.g. {examples}); their prior is the median gene's",
                ReferenceWarning,
                stacklevel=2,
            )
            values[missing] = medians
        return values

    def features(self, gene_ids, *, source: str = "") -> np.ndarray:
        """(genes, features) float32, standardised over the table's genes: what a model reads."""
        return self.read(gene_ids, source=source)[0]

    def baseline(self, gene_ids, *, source: str = "") -> np.ndarray:
        """(genes,) the mean log(RPKM + 1) over the prior's columns: the prior expression deviation subtracts."""
        return self.read(gene_ids, source=source)[1]

    def read(self, gene_ids, *, source: str = "") -> tuple[np.ndarray, np.ndarray]:
        """Both at once: the standardised features (float32) and the baseline (float64) of ``gene_ids``."""
        _, _, centre, spread = self._table_features()
        raw = self.raw_features(gene_ids, source=source)
        return ((raw - centre) / spread).astype(np.float32), raw[:, 0]

    def describe(self) -> dict:
        """What a model records: enough to rebuild this function for another cell and to check the table is the same."""
        return {
            "source": os.path.abspath(self.table.source),
            "checksum": self.table.checksum,
            "mode": self.mode,
            "excluded": list(self.excluded),
            "columns": list(self.columns),
            "cell": self.cell,
            "features": list(self.feature_names),
        }


def read_reference(path: str | Path) -> ReferenceTable:
    """Read and check a reference-expression table (``gene_id`` then one RPKM column per epigenome).

    Raises
    ------
    InputFormatError
        Naming the file and line: an empty file, a header that does not start with ``gene_id``
        or repeats a column, a row with another field count, a repeated gene id, a value that is
        not a finite number >= 0, or a table without epigenome columns.
    """
    path = Path(path)
    try:
        opener = gzip.open if _is_gzip(path) else open
        with opener(path, "rt", encoding="utf-8", newline="") as handle:
            header = handle.readline()
    except FileNotFoundError:
        raise InputFormatError(path, None, "no such file (the reference-expression table)") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputFormatError(path, None, f"cannot be read as a text table ({err})") from None
    if not header.strip():
        raise InputFormatError(path, 1, "is empty; expected a header 'gene_id' then one column per epigenome")
    sep = "\t" if "\t" in header else ","
    names = [name.strip() for name in header.rstrip("\r\n").split(sep)]
    if names[0].lower() != "gene_id":
        raise InputFormatError(path, 1, f"the header must start with gene_id, got {names[0]!r} (layout of 57epigenomes.RPKM.pc: gene_id, then one column per epigenome)")
    if len(names) < 2:
        raise InputFormatError(path, 1, "has no epigenome column after gene_id")
    repeated = [n for n in names if names.count(n) > 1]
    if repeated:
        raise InputFormatError(path, 1, f"column {repeated[0]!r} is named twice")
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, on_bad_lines="error", compression="gzip" if _is_gzip(path) else None)
    except pd.errors.ParserError as err:
        raise InputFormatError(path, _line_of(str(err)), f"expected {len(names)} fields on every row ({str(err).strip()})") from None
    frame.columns = names
    ids = frame["gene_id" if "gene_id" in names else names[0]].str.strip()
    values = frame[names[1:]].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise InputFormatError(path, int(row) + 2, f"column {names[1 + column]}: expected an RPKM value (a finite number >= 0), got {frame.iloc[row, column + 1]!r}")
    duplicated = ids.duplicated().to_numpy()
    if duplicated.any():
        row = int(np.argmax(duplicated))
        raise InputFormatError(path, row + 2, f"gene {ids.iloc[row]!r} is listed twice")
    if not len(ids):
        raise InputFormatError(path, None, "has a header but no gene rows")
    rpkm = pd.DataFrame(values, index=pd.Index(ids.to_numpy(dtype=str), name="gene_id"), columns=[n.upper() for n in names[1:]])
    digest = hashlib.sha256()
    digest.update("\t".join(rpkm.columns).encode())
    digest.update("\n".join(rpkm.index).encode())
    digest.update(np.ascontiguousarray(values).tobytes())
    return ReferenceTable(rpkm=rpkm, source=str(path), checksum=digest.hexdigest()[:16])


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _line_of(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None
