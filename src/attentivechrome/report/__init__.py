"""One HTML page per result directory: ``attentivechrome report DIR --out report.html``.

:func:`write_report` recognises what wrote ``DIR`` (:func:`detect_kind`) and writes one
self-contained page (plotly.js inlined, no network needed) with that kind's contents:

==========================  ===========================================================================
``run`` (``train``)          metrics, ROC and PR curves, learning curves, class-average attention of the
                             test genes, and a gene search (input, alpha, beta, prediction and label)
``train-many``               the per-cell table, every cell's ROC/PR and learning curves
``benchmark``                the test scores per cell and model with bootstrap intervals, the summary and
                             per-cell tables, and the cross-cell matrix when present
``cross-cell``               the train-cell x test-cell matrix
``interpret``                prediction quality, class-average alpha, beta and method profiles, and a gene
                             search showing the input, alpha, beta and every attribution map
``interpret-benchmark``      every explanation method's score against the planted signal
==========================  ===========================================================================
"""

from __future__ import annotations

import shlex
from pathlib import Path

from .._io import write_text_atomic
from ..data.schema import DEFAULT_BIN_SIZE
from ..run_directory import RunDirectory
from ._limits import DEFAULT_MAX_GENES

#: The kinds of directory a report is made for, and a file that tells each one apart (checked in this order).
KINDS: dict[str, str] = {
    "interpret": "explanations.npz",
    "interpret-benchmark": "per_gene_scores.csv",
    "benchmark": "per_cell.csv",
    "cross-cell": "matrix.csv",
    "train-many": "train-many.json",
    "contrast": "contrast.tsv",
    "run": RunDirectory.METRICS,
}

#: The page's file name inside DIR when no ``out`` is given.
REPORT_FILE = "report.html"

__all__ = ["DEFAULT_MAX_GENES", "KINDS", "REPORT_FILE", "detect_kind", "report_command", "write_report"]


def detect_kind(directory: str | Path) -> str:
    """Which command wrote ``directory``: one of :data:`KINDS`.

    Raises
    ------
    FileNotFoundError
        When ``directory`` does not exist.
    ValueError
        When it holds none of the files that tell the kinds apart.
    """
    path = Path(directory)
    if not path.is_dir():
        raise FileNotFoundError(2, "No such directory", str(path))
    for kind, marker in KINDS.items():
        if (path / marker).is_file():
            return kind
    expected = ", ".join(f"{marker} ({kind})" for kind, marker in KINDS.items())
    raise ValueError(f"{path}: not a result directory of attentivechrome; expected one of {expected}")


def write_report(
    directory: str | Path,
    out: str | Path | None = None,
    *,
    max_genes: int = DEFAULT_MAX_GENES,
    genes: list[str] | None = None,
    bin_size: int = DEFAULT_BIN_SIZE,
) -> Path:
    """Write the HTML page of ``directory`` to ``out`` (default ``directory/report.html``); return its path.

    Parameters
    ----------
    directory
        A directory written by ``train``, ``train-many``, ``benchmark``, ``interpret`` or ``interpret-benchmark``.
    out
        The HTML file to write (atomically).
    max_genes
        Most genes the gene search holds (run and interpret directories). Default 500.
    genes
        Gene ids the gene search must hold, before the others (in file order).
    bin_size
        Base pairs per bin of a run's data (an interpret directory records its own). Default 100.
    """
    path = Path(directory)
    kind = detect_kind(path)
    if max_genes < 1:
        raise ValueError(f"max_genes must be at least 1, got {max_genes}")
    if kind == "run":
        from ._runs import run_page

        page = run_page(path, max_genes=max_genes, genes=genes, bin_size=bin_size)
    elif kind == "train-many":
        from ._runs import train_many_page

        page = train_many_page(path)
    elif kind == "contrast":
        from ._contrast import contrast_page

        page = contrast_page(path)
    elif kind == "interpret":
        from ._interpretation import interpretation_page

        page = interpretation_page(path, max_genes=max_genes, genes=genes)
    else:
        from . import _benchmarks

        page = {"benchmark": _benchmarks.benchmark_page, "cross-cell": _benchmarks.cross_cell_page, "interpret-benchmark": _benchmarks.interpret_benchmark_page}[kind](path)
    target = Path(out) if out is not None else path / REPORT_FILE
    write_text_atomic(target, page.render())
    return target


def report_command(directory: str | Path) -> str:
    """The command line that makes the page of ``directory`` (what other commands print last)."""
    path = Path(directory)
    return f"attentivechrome report {shlex.quote(str(path))} --out {shlex.quote(str(path / REPORT_FILE))}"
