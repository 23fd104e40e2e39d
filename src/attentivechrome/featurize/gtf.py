"""One TSS and strand per gene, from a GTF/GFF3 annotation, a BED file or a table with a header.

Formats (chosen by the file name, then by content):

GTF (``.gtf``, ``.gtf.gz``)
    Records of the chosen feature type (``gene`` by default); the id comes from an attribute
    (``gene_id`` by default). TSS = ``start`` on ``+``, ``end`` on ``-`` (1-based in the file,
    stored 0-based here).
GFF3 (``.gff``, ``.gff3``, or a ``##gff-version 3`` first line)
    As GTF, with ``key=value`` attributes; without a ``gene_id`` attribute the ``ID`` is used,
    minus an Ensembl-style ``gene:`` prefix.
BED (``.bed``, ``.bed.gz``)
    At least 6 columns: chrom, start, end, name, score, strand. TSS = ``start`` on ``+`` and
    ``end - 1`` on ``-`` (so a gene's span and a 1-bp TSS interval give the same TSS).
Table (anything else: ``.tsv``, ``.csv``, ``.txt``)
    A header naming ``gene_id``, ``chrom``, ``strand`` and either ``tss_0based`` or
    ``tss_1based`` (a bare ``tss`` column is refused, since it does not say which).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import InputFormatError
from ._text import check_input_file, read_lines

GENE_FORMATS: tuple[str, ...] = ("gtf", "gff3", "bed", "table")
_BIOTYPE_KEYS = ("gene_type", "gene_biotype", "biotype")
#: GTF/GFF3 attributes holding a gene's symbol, first found wins; a table's column of the same names.
_NAME_KEYS = ("gene_name", "Name", "gene_symbol")
_NAME_COLUMNS = ("gene_name", "symbol", "gene_symbol")


@dataclass(frozen=True)
class GeneTable:
    """Genes with one TSS each.

    Attributes
    ----------
    gene_ids
        Shape (genes,), unique.
    chroms
        Chromosome of each gene, shape (genes,).
    tss
        0-based position of the first transcribed base, int64 of shape (genes,).
    strand
        ``"+"`` or ``"-"``, shape (genes,).
    source
        The file read, for messages.
    skipped
        Records left out, by reason (``duplicate_id``, ``no_strand``, ``other_biotype``).
    names
        Each gene's symbol where the annotation gives one (a GTF's ``gene_name``; ``""`` where
        unknown), shape (genes,); ``None`` when it gives none.
    """

    gene_ids: np.ndarray
    chroms: np.ndarray
    tss: np.ndarray
    strand: np.ndarray
    source: str = ""
    skipped: dict[str, int] = field(default_factory=dict)
    names: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.gene_ids)
        if not (len(self.chroms) == len(self.tss) == len(self.strand) == n) or (self.names is not None and len(self.names) != n):
            raise ValueError("gene_ids, chroms, tss, strand (and names) must have the same length")
        bad = ~np.isin(self.strand, ["+", "-"])
        if bad.any():
            raise ValueError(f"strand must be '+' or '-', got {self.strand[bad][0]!r}")

    def __len__(self) -> int:
        return len(self.gene_ids)

    def subset(self, index: np.ndarray) -> GeneTable:
        """The genes selected by a boolean mask or an index array."""
        names = None if self.names is None else self.names[index]
        return GeneTable(self.gene_ids[index], self.chroms[index], self.tss[index], self.strand[index], self.source, dict(self.skipped), names)

    def symbols(self) -> dict[str, str]:
        """``{gene_id: symbol}`` of the genes whose symbol is known."""
        if self.names is None:
            return {}
        return {str(g): str(n) for g, n in zip(self.gene_ids, self.names) if n}

    @classmethod
    def from_records(cls, records: Iterable[tuple], source: str = "") -> GeneTable:
        """Build from ``(gene_id, chrom, tss_0based, strand[, symbol])`` tuples (the first of a repeated id is kept)."""
        return _build(list(records), source, Counter())


def read_genes(
    path: str | Path,
    *,
    feature: str = "gene",
    id_attribute: str = "gene_id",
    biotypes: Sequence[str] | None = None,
) -> GeneTable:
    """Read the genes of an annotation file (GTF, GFF3, BED or a table; see the module docstring).

    Parameters
    ----------
    path
        The annotation (plain or gzip).
    feature
        GTF/GFF3 feature type whose records are genes. Default: ``"gene"``.
    id_attribute
        GTF/GFF3 attribute holding the gene id. Default: ``"gene_id"``.
    biotypes
        Keep only GTF/GFF3 genes whose ``gene_type``/``gene_biotype`` is one of these
        (e.g. ``["protein_coding"]``). Default: keep all.

    Returns
    -------
    GeneTable
        In file order; a repeated id keeps its first record (the rest are counted in ``skipped``).

    Raises
    ------
    InputFormatError
        On a malformed line (naming it), or when the file holds no genes.
    """
    path = check_input_file(path, "--genes")
    kind = gene_format(path)
    if kind in ("gtf", "gff3"):
        return _read_gtf(path, gff3=kind == "gff3", feature=feature, id_attribute=id_attribute, biotypes=biotypes)
    if biotypes:
        raise InputFormatError(path, None, "gene biotypes can only be filtered in a GTF/GFF3 annotation, not in a BED or table")
    if kind == "bed":
        return _read_bed(path)
    return _read_table(path)


def gene_format(path: Path) -> str:
    """``gtf``, ``gff3``, ``bed`` or ``table``, from the name (``.gz`` ignored), then the first line."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    if suffix == "gtf":
        return "gtf"
    if suffix in ("gff", "gff3"):
        return "gff3"
    if suffix == "bed":
        return "bed"
    for _, line in read_lines(path):
        if line.startswith("##gff-version 3"):
            return "gff3"
        if line.startswith("#!") or line.startswith("##"):
            continue
        fields = line.split("\t")
        if len(fields) == 9 and fields[3].isdigit() and fields[4].isdigit():
            return "gtf" if '"' in fields[8] else "gff3"
        break
    return "table"


# --------------------------------------------------------------------------- GTF / GFF3


def _read_gtf(path: Path, *, gff3: bool, feature: str, id_attribute: str, biotypes: Sequence[str] | None) -> GeneTable:
    kind = "GFF3" if gff3 else "GTF"
    id_pattern = _attribute_pattern(id_attribute, gff3)
    fallback = _attribute_pattern("ID", gff3) if gff3 and id_attribute == "gene_id" else None
    biotype_patterns = [_attribute_pattern(k, gff3) for k in _BIOTYPE_KEYS]
    name_patterns = [_attribute_pattern(k, gff3) for k in _NAME_KEYS]
    wanted_biotypes = set(biotypes) if biotypes else None
    records: list[tuple[str, str, int, str]] = []
    skipped: Counter = Counter()
    types_seen: Counter = Counter()
    n_lines = 0
    for line_no, line in read_lines(path):
        n_lines = line_no
        if not line or line.startswith("#"):
            if line.startswith("##FASTA"):
                break
            continue
        fields = line.split("\t")
        if len(fields) != 9:
            raise InputFormatError(path, line_no, f"expected 9 tab-separated {kind} fields, got {len(fields)}")
        if fields[2] != feature:
            types_seen[fields[2]] += 1
            continue
        start, end = _int_field(fields[3], path, line_no, "start"), _int_field(fields[4], path, line_no, "end")
        if start < 1 or end < start:
            raise InputFormatError(path, line_no, f"expected 1 <= start <= end, got start {start} and end {end}")
        attributes = fields[8]
        match = id_pattern.search(attributes)
        from_id = match is None and fallback is not None
        if from_id:
            match = fallback.search(attributes)
        if match is None:
            raise InputFormatError(
                path, line_no, f"{feature} record without a {id_attribute!r} attribute; choose the id attribute with --id-attribute"
            )
        gene_id = match.group(1).strip()
        if from_id:
            gene_id = gene_id.removeprefix("gene:")
        if wanted_biotypes is not None:
            found = next((m.group(1) for p in biotype_patterns if (m := p.search(attributes))), None)
            if found is None:
                raise InputFormatError(path, line_no, f"a biotype filter was given but this record has no {'/'.join(_BIOTYPE_KEYS)} attribute")
            if found not in wanted_biotypes:
                skipped["other_biotype"] += 1
                continue
        strand = fields[6]
        if strand not in ("+", "-"):
            skipped["no_strand"] += 1
            continue
        tss = start - 1 if strand == "+" else end - 1  # 1-based closed -> 0-based position of the TSS base
        symbol = next((m.group(1).strip() for p in name_patterns if (m := p.search(attributes))), "")
        records.append((gene_id, fields[0], tss, strand, symbol))
    if not records and not skipped:
        seen = ", ".join(f"{t} ({n})" for t, n in types_seen.most_common(5)) or "none"
        raise InputFormatError(
            path,
            None,
            f"no {feature!r} records in {n_lines} lines (feature types found: {seen}); "
            f"give an annotation with {feature} records, choose another type with --feature, or give a BED/table of TSSs",
        )
    return _build(records, str(path), skipped)


def _attribute_pattern(key: str, gff3: bool) -> re.Pattern:
    if gff3:
        return re.compile(rf"(?:^|;)\s*{re.escape(key)}=([^;]*)")
    return re.compile(rf'(?:^|;)\s*{re.escape(key)}\s+"?([^";]*)"?')


# --------------------------------------------------------------------------- BED and tables


def _read_bed(path: Path) -> GeneTable:
    records: list[tuple[str, str, int, str]] = []
    skipped: Counter = Counter()
    for line_no, line in read_lines(path):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.split("\t") if "\t" in line else line.split()
        if len(fields) < 6:
            raise InputFormatError(
                path, line_no, f"expected at least 6 BED columns (chrom, start, end, name, score, strand) to know each gene's strand, got {len(fields)}"
            )
        start, end = _int_field(fields[1], path, line_no, "start"), _int_field(fields[2], path, line_no, "end")
        if start < 0 or end <= start:
            raise InputFormatError(path, line_no, f"expected 0 <= start < end, got start {start} and end {end}")
        strand = fields[5]
        if strand not in ("+", "-"):
            skipped["no_strand"] += 1
            continue
        records.append((fields[3], fields[0], start if strand == "+" else end - 1, strand))
    if not records and not skipped:
        raise InputFormatError(path, None, "holds no genes (no BED records)")
    return _build(records, str(path), skipped)


def _read_table(path: Path) -> GeneTable:
    lines = read_lines(path)
    try:
        header_no, header = next((n, l) for n, l in lines if l.strip() and not l.startswith("#"))
    except StopIteration:
        raise InputFormatError(path, None, "is empty; expected a table with gene_id, chrom, strand and tss_0based or tss_1based columns") from None
    delimiter = "\t" if "\t" in header else ","
    columns = [c.strip() for c in next(csv.reader([header], delimiter=delimiter))]
    index = {name: i for i, name in enumerate(columns)}
    if "chromosome" in index and "chrom" not in index:
        index["chrom"] = index["chromosome"]
    missing = [c for c in ("gene_id", "chrom", "strand") if c not in index]
    tss_column = "tss_0based" if "tss_0based" in index else "tss_1based" if "tss_1based" in index else None
    if tss_column is None and "tss" in index:
        raise InputFormatError(path, header_no, "column 'tss' does not say whether positions are 0- or 1-based; rename it tss_0based or tss_1based")
    if missing or tss_column is None:
        missing += [] if tss_column else ["tss_0based or tss_1based"]
        raise InputFormatError(
            path, header_no, f"expected a header with gene_id, chrom, strand and tss_0based or tss_1based; missing {', '.join(missing)} (found: {', '.join(columns)})"
        )
    shift = 0 if tss_column == "tss_0based" else 1
    name_column = next((index[c] for c in _NAME_COLUMNS if c in index), None)
    records: list[tuple[str, str, int, str]] = []
    skipped: Counter = Counter()
    width = len(columns)
    for line_no, line in lines:
        if not line.strip():
            continue
        row = next(csv.reader([line], delimiter=delimiter))
        if len(row) != width:
            raise InputFormatError(path, line_no, f"expected {width} fields like the header, got {len(row)}")
        tss = _int_field(row[index[tss_column]], path, line_no, tss_column) - shift
        if tss < 0:
            raise InputFormatError(path, line_no, f"{tss_column} must not be below {shift}, got {tss + shift}")
        strand = row[index["strand"]].strip()
        if strand not in ("+", "-"):
            skipped["no_strand"] += 1
            continue
        symbol = row[name_column].strip() if name_column is not None else ""
        records.append((row[index["gene_id"]].strip(), row[index["chrom"]].strip(), tss, strand, symbol))
    if not records and not skipped:
        raise InputFormatError(path, None, "has a header but no genes")
    return _build(records, str(path), skipped)


# --------------------------------------------------------------------------- helpers


def _int_field(text: str, path: Path, line_no: int, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InputFormatError(path, line_no, f"{name} must be an integer, got {text!r}") from None


def _build(records: list[tuple], source: str, skipped: Counter) -> GeneTable:
    """A table of ``(gene_id, chrom, tss_0based, strand[, symbol])`` records; names only when some record gives a symbol."""
    seen: set[str] = set()
    kept = []
    for record in records:
        if record[0] in seen:
            skipped["duplicate_id"] += 1
            continue
        seen.add(record[0])
        kept.append(record)
    ids, chroms, tss, strand = (tuple(r[i] for r in kept) for i in range(4))
    symbols = [r[4] if len(r) > 4 else "" for r in kept]
    return GeneTable(
        gene_ids=np.array(ids, dtype=str),
        chroms=np.array(chroms, dtype=str),
        tss=np.array(tss, dtype=np.int64),
        strand=np.array(strand, dtype=str),
        source=source,
        skipped={k: int(v) for k, v in skipped.items()},
        names=np.array(symbols, dtype=str) if any(symbols) else None,
    )
