"""The ``report`` command: one HTML page for a run, train-many, benchmark or interpret directory."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ._app import UsageProblem, app, check_output_file, say


@app.command()
def report(
    directory: Path = typer.Argument(..., help="A directory written by train, train-many, benchmark, interpret or interpret-benchmark."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="HTML file to write (default: DIRECTORY/report.html)."),
    max_genes: int = typer.Option(500, help="Most genes the gene search holds (run and interpret directories)."),
    genes: Optional[List[str]] = typer.Option(None, "--genes", "-g", help="Genes the gene search must hold (repeat or separate by commas)."),
    bin_size: int = typer.Option(100, help="Base pairs per bin of a run's data (positions are drawn in kb from the TSS)."),
) -> None:
    """Write one self-contained HTML page (works offline) showing a result directory: metrics, curves, tables, a gene search."""
    from ..report import detect_kind, write_report

    if out is not None:
        check_output_file(out)
    if max_genes < 1:
        raise UsageProblem(f"--max-genes must be at least 1, got {max_genes}")
    kind = detect_kind(directory)
    wanted = [g.strip() for value in (genes or []) for g in value.split(",") if g.strip()] or None
    written = write_report(directory, out, max_genes=max_genes, genes=wanted, bin_size=bin_size)
    say(f"wrote the {kind} report of {directory} to {written} ({written.stat().st_size / 1e6:.1f} MB; open it in a browser, no network needed)")
