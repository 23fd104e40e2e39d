"""Maps as genome-browser tracks: one bedGraph per method and mark, each bin a genomic interval.

A gene's bins are placed from its TSS (0-based position of the first transcribed base), its
strand and the data's orientation, exactly as ``featurize`` cut them
(:mod:`attentivechrome.featurize.bins`): with ``n`` bins of ``size`` bp and ``flank = n size / 2``,

- ``genomic`` order, either strand: bin ``i`` (from 0) is ``[tss - flank + i size, tss - flank + (i+1) size)``;
- ``transcript`` order, plus strand: the same;
- ``transcript`` order, minus strand: the window is ``[tss - flank + 1, tss + flank + 1)`` and bin
  ``i`` is its ``(n - 1 - i)``-th interval from the left (bin 1 is the highest coordinate).

The windows of neighbouring genes may overlap. A bedGraph track must not, so each track is cut at
every bin edge of every gene and a piece overlapped by several genes' bins holds the mean of
their values. Lines are sorted by chromosome (as text, the order ``sort -k1,1 -k2,2n`` and
``bedGraphToBigWig`` expect) and start; coordinates are 0-based, half-open; intervals before
the chromosome start are clipped at 0.

Gene coordinates come from the ``featurize`` manifest beside the input (``gene_coordinates``) or
from a file the user gives (``interpret --tss FILE``): any format ``featurize --genes`` reads (a
GTF/GFF3, a BED6 of genes or of 1-bp TSSs, or a table with ``gene_id, chrom, strand`` and
``tss_0based`` or ``tss_1based``; :func:`attentivechrome.featurize.gtf.read_genes`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._io import atomic_open
from ..data.orientation import GENOMIC, TRANSCRIPT, UNKNOWN, check_orientation
from ..exceptions import InputFormatError

#: The folder of an interpretation directory that holds the tracks.
TRACKS = "tracks"
_VERSION = re.compile(r"\.\d+$")


@dataclass(frozen=True)
class GeneCoordinates:
    """One TSS per gene: ``gene_ids``, ``chroms``, ``tss`` (0-based, int64) and ``strand`` (``+``/``-``), shape (genes,)."""

    gene_ids: np.ndarray
    chroms: np.ndarray
    tss: np.ndarray
    strand: np.ndarray
    source: str = ""

    def locate(self, gene_ids) -> np.ndarray:
        """The row of each of ``gene_ids`` (-1 where unknown); ids also match without a version suffix (``.N``)."""
        exact = {str(g): i for i, g in enumerate(self.gene_ids)}
        bare = {}
        for i, g in enumerate(self.gene_ids):
            bare.setdefault(_VERSION.sub("", str(g)), i)
        return np.array([exact.get(str(g), bare.get(_VERSION.sub("", str(g)), -1)) for g in gene_ids], dtype=np.int64)


def read_coordinates(path: str | Path) -> GeneCoordinates:
    """Read a TSS file (any format of ``featurize --genes``).

    Raises
    ------
    InputFormatError
        Naming the file and line of the first bad record, or a file without genes.
    """
    from ..featurize.gtf import read_genes

    table = read_genes(path)
    if len(table) == 0:
        raise InputFormatError(path, None, "holds no gene with a strand ('+' or '-'); a TSS file needs gene_id, chrom, TSS and strand")
    return GeneCoordinates(table.gene_ids, table.chroms, np.asarray(table.tss, dtype=np.int64), table.strand, str(path))


def recorded_coordinates(path: str | Path | None) -> GeneCoordinates | None:
    """The coordinates ``featurize`` recorded beside a CSV (its manifest's ``gene_coordinates``), or ``None``."""
    from ..data.gene_names import COORDINATES_KEY, recorded_manifest

    manifest = recorded_manifest(path)
    rows = manifest.get(COORDINATES_KEY)
    if not isinstance(rows, dict) or not rows:
        return None
    try:
        ids = np.array(list(rows), dtype=str)
        chroms = np.array([str(v[0]) for v in rows.values()], dtype=str)
        tss = np.array([int(v[1]) for v in rows.values()], dtype=np.int64)
        strand = np.array([str(v[2]) for v in rows.values()], dtype=str)
    except (TypeError, ValueError, IndexError):
        return None  # a damaged manifest: no tracks rather than wrong ones
    if not np.isin(strand, ["+", "-"]).all():
        return None
    return GeneCoordinates(ids, chroms, tss, strand, f"{path} (featurize manifest)")


def bin_intervals(tss: np.ndarray, strand: np.ndarray, n_bins: int, bin_size: int, orientation: str) -> tuple[np.ndarray, np.ndarray]:
    """Genomic ``[start, end)`` of every bin of every gene, each of shape (genes, bins), in the data's bin order.

    >>> starts, ends = bin_intervals(np.array([1000, 1000]), np.array(["+", "-"]), 4, 100, "transcript")
    >>> starts.tolist(), ends.tolist()
    ([[800, 900, 1000, 1100], [1101, 1001, 901, 801]], [[900, 1000, 1100, 1200], [1201, 1101, 1001, 901]])
    >>> bin_intervals(np.array([1000]), np.array(["-"]), 4, 100, "genomic")[0].tolist()
    [[800, 900, 1000, 1100]]

    Raises
    ------
    ValueError
        For an ``unknown`` orientation when a gene is on the minus strand (its bins could run either way).
    """
    orientation = check_orientation(orientation)
    tss = np.asarray(tss, dtype=np.int64)
    minus = np.asarray(strand) == "-"
    if orientation == UNKNOWN and minus.any():
        raise ValueError("the bins' orientation is unknown, so the bins of minus-strand genes cannot be placed; state it (--orientation genomic or transcript)")
    flank = n_bins * bin_size // 2
    reverse = minus if orientation == TRANSCRIPT else np.zeros(len(tss), dtype=bool)
    lo = tss - flank + reverse.astype(np.int64)  # a reversed (5'->3' minus-strand) window is shifted by one base, as featurize cuts it
    slot = np.arange(n_bins, dtype=np.int64)
    position = np.where(reverse[:, None], n_bins - 1 - slot[None, :], slot[None, :])  # each bin's place from the window's left end
    starts = lo[:, None] + position * bin_size
    return starts, starts + bin_size


def track_lines(chroms: np.ndarray, starts: np.ndarray, ends: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sorted, non-overlapping pieces of a track from possibly overlapping intervals (their mean where they overlap).

    All inputs are flat arrays of one length. Returns ``(chrom, start, end, value)`` arrays.

    >>> c, s, e, v = track_lines(np.array(["1", "1"]), np.array([0, 50]), np.array([100, 150]), np.array([1.0, 3.0]))
    >>> s.tolist(), e.tolist(), v.tolist()
    ([0, 50, 100], [50, 100, 150], [1.0, 2.0, 3.0])
    """
    starts = np.maximum(np.asarray(starts, dtype=np.int64), 0)
    ends = np.asarray(ends, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    keep = ends > starts
    chroms, starts, ends, values = np.asarray(chroms, dtype=str)[keep], starts[keep], ends[keep], values[keep]
    out = ([], [], [], [])
    for chrom in sorted(set(chroms.tolist())):
        on = chroms == chrom
        s, e, v = starts[on], ends[on], values[on]
        edges = np.unique(np.concatenate([s, e]))
        i, j = np.searchsorted(edges, s), np.searchsorted(edges, e)
        n = len(edges)
        # Over the pieces between consecutive edges: how many intervals cover each (integers, exact), the sum of
        # their values (differences at each interval's ends, summed along), and -- exact where one covers it -- which one.
        count = np.cumsum(np.bincount(i, minlength=n) - np.bincount(j, minlength=n))[:-1]
        which = np.zeros(n, dtype=np.int64)
        np.add.at(which, i, np.arange(len(s)))
        np.add.at(which, j, -np.arange(len(s)))
        which = np.cumsum(which)[:-1]
        total = np.cumsum(np.bincount(i, weights=v, minlength=n) - np.bincount(j, weights=v, minlength=n))[:-1]
        covered = count > 0
        mean = np.where(count == 1, v[np.clip(which, 0, len(v) - 1)], total / np.maximum(count, 1))[covered]
        out[0].append(np.full(int(covered.sum()), chrom))
        out[1].append(edges[:-1][covered])
        out[2].append(edges[1:][covered])
        out[3].append(mean)
    if not out[0]:
        return np.zeros(0, dtype=str), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    return tuple(np.concatenate(part) for part in out)  # type: ignore[return-value]


def write_tracks(
    maps: dict[str, np.ndarray],
    gene_ids: np.ndarray,
    marks: tuple[str, ...],
    coordinates: GeneCoordinates,
    out_dir: str | Path,
    *,
    bin_size: int,
    orientation: str,
    labels: dict[str, str] | None = None,
) -> tuple[dict[str, Path], int]:
    """Write ``<method>.<mark>.bedGraph`` for every map (genes, marks, bins) in ``maps`` into ``out_dir``.

    Returns the written paths by track name and the number of genes placed (genes that
    ``coordinates`` lacks are left out).

    Raises
    ------
    ValueError
        When no gene of ``gene_ids`` is in ``coordinates``, or the orientation is unknown and
        a placed gene is on the minus strand.
    """
    rows = coordinates.locate(gene_ids)
    placed = rows >= 0
    if not placed.any():
        shown = ", ".join(str(g) for g in list(gene_ids)[:2])
        raise ValueError(f"none of the {len(gene_ids)} genes explained ({shown}, ...) is in {coordinates.source}; its gene ids must match the input's")
    rows = rows[placed]
    n_bins = next(iter(maps.values())).shape[2]
    starts, ends = bin_intervals(coordinates.tss[rows], coordinates.strand[rows], n_bins, bin_size, orientation)
    chroms = np.repeat(coordinates.chroms[rows], n_bins)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    where = "genomic order" if orientation == GENOMIC else "5'->3' order" if orientation == TRANSCRIPT else "plus-strand genes"
    for method, values in maps.items():
        for j, mark in enumerate(marks):
            c, s, e, v = track_lines(chroms, starts.reshape(-1), ends.reshape(-1), values[placed, j, :].reshape(-1))
            name = f"{method}.{_safe(mark)}"
            path = out_dir / f"{name}.bedGraph"
            label = (labels or {}).get(method, method)
            with atomic_open(path, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(
                    f'track type=bedGraph name="{label} {mark}" description="attentivechrome interpret: {label} of {mark} per bin '
                    f'({bin_size} bp bins, {where}; mean where genes overlap)" visibility=full autoScale=on alwaysZero=on\n'
                )
                handle.writelines(f"{ci}\t{si}\t{ei}\t{vi:.6g}\n" for ci, si, ei, vi in zip(c.tolist(), s.tolist(), e.tolist(), v.tolist()))
            written[name] = path
    return written, int(placed.sum())


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def tracks_from_npz(npz_path: str | Path, coordinates: GeneCoordinates, out_dir: str | Path, *, orientation: str) -> tuple[dict[str, Path], int]:
    """The tracks of every map in an ``explanations.npz`` (``attention`` is alpha), by :func:`write_tracks`."""
    from .attribution import METHODS

    with np.load(npz_path, allow_pickle=False) as npz:
        methods = [str(m) for m in npz["methods"]]
        maps = {m: npz["alpha" if m == "attention" else m] for m in methods if ("alpha" if m == "attention" else m) in npz.files}
        gene_ids, marks, bin_size = npz["gene_ids"], tuple(str(m) for m in npz["marks"]), int(npz["bin_size"])
    if not maps:
        return {}, 0
    labels = {m: ("alpha" if m == "attention" else METHODS[m].label if m in METHODS else m) for m in maps}
    return write_tracks(maps, gene_ids, marks, coordinates, out_dir, bin_size=bin_size, orientation=orientation, labels=labels)
