"""Progress bars on stderr, switched off by one setting (``_settings.SHOW_PROGRESS``)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from . import _settings


@contextlib.contextmanager
def progress_bar(total: int, description: str, *, enabled: bool | None = None) -> Iterator[Callable[..., None]]:
    """Show a bar of ``total`` steps; yield ``advance(n=1, description=None)`` (a new description replaces the old).

    A no-op when progress is off.
    """
    show = _settings.SHOW_PROGRESS if enabled is None else enabled
    if not show:
        yield lambda n=1, description=None: None
        return
    # rich is imported only here, when a bar may be drawn: importing it costs start-up time.
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    console = Console(file=sys.stderr)
    if not console.is_terminal:  # no bar in logs and pipes; the per-epoch lines say enough there
        yield lambda n=1, description=None: None
        return
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(description, total=total)

        def advance(n: int = 1, description: str | None = None) -> None:
            progress.update(task, advance=n, **({} if description is None else {"description": description}))

        yield advance
