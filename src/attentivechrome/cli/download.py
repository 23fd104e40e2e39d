"""The ``download`` command: published AttentiveChrome weights and REMC data from Zenodo, verified."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ._app import UsageProblem, app, say


@app.command()
def download(
    what: str = typer.Argument(..., help="weights (published per-cell models, record 2616712) or data (published REMC inputs, record 2652278)."),
    cell: List[str] = typer.Option([], "--cell", help="weights: the cell(s) to fetch, e.g. E003 (repeat; default all)."),
    file: List[str] = typer.Option([], "--file", help="Only files whose name matches this glob (repeat)."),
    list_only: bool = typer.Option(False, "--list", help="Print the record's files (name, size, md5) and download nothing."),
    cache_dir: Optional[Path] = typer.Option(None, help="Download directory (default: published/ in the package cache, $ATTENTIVECHROME_CACHE_DIR or ~/.cache/attentivechrome). --model E003 looks only in the default."),
    api_url: Optional[str] = typer.Option(None, help="Records API address (default $ATTENTIVECHROME_ZENODO_API or https://zenodo.org/api)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Fetch published files into the cache (resumable, checked against the record's md5); print their paths."""
    from ..data import download as dl

    if what not in dl.RECORDS:
        raise UsageProblem(f"download {what!r}: choose one of {', '.join(dl.RECORDS)}")
    if list_only:
        files = dl.select_files(what, dl.list_record(dl.RECORDS[what], api_url=api_url), cells=cell, patterns=file)
        for remote in files:
            typer.echo(f"{remote.key}\t{remote.size if remote.size is not None else '?'}\t{remote.md5}")
        return
    paths = dl.download(what, cells=cell, patterns=file, cache_dir=cache_dir, api_url=api_url, progress=False if quiet else None)
    for path in paths:
        typer.echo(str(path))
    if not quiet:
        hint = f"; use them with --model {cell[0].upper()}" if what == "weights" and len(cell) == 1 else ""
        say(f"{len(paths)} file(s) verified in {paths[0].parent if paths else dl.default_cache_dir()}{hint}")
