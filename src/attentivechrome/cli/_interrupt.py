"""Ctrl-C during a command that writes: one line saying what was kept (exit status 130), as the docs promise."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from ._app import Interrupted


def says_what_was_kept(account: Callable[[Path], str]):
    """Decorate a command taking ``out``: Ctrl-C ends with ``interrupted, <account(out)>`` (exit 130) instead of a bare "interrupted".

    Put it below ``@app.command``; the command's signature (its options) is kept.
    """

    def decorate(command):
        @functools.wraps(command)
        def run(*args, **kwargs):
            try:
                return command(*args, **kwargs)
            except KeyboardInterrupt:
                raise Interrupted(f"interrupted, {account(Path(kwargs['out']))}") from None

        return run

    return decorate


def nothing_written(out: Path) -> str:
    """What an interrupted command that writes all its outputs at the end (from a staging directory) kept."""
    return f"nothing written to {out}"


def finished_runs_kept(out: Path) -> str:
    """What an interrupted train-many or benchmark kept: the runs finished so far, which a rerun skips."""
    from ..run_directory import RunDirectory

    finished = sum(1 for _ in out.rglob(RunDirectory.RESULT)) if out.is_dir() else 0
    return (
        f"{finished} finished run(s) kept in {out} (a run cut off mid-way starts over); "
        "rerun the same command to continue, finished runs are skipped"
    )
