"""The Typer application object, shared by the command modules, and helpers they use."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

app = typer.Typer(
    name="attentivechrome",
    help="Predict gene expression from histone marks and explain each prediction (AttentiveChrome).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class UsageProblem(Exception):
    """Bad usage found by a command after parsing (e.g. an output that exists); exit status 2."""


class Interrupted(Exception):
    """Ctrl-C during a command; the message says what was written or kept. Exit status 130."""


def say(message: str) -> None:
    """A line for the user on stderr (stdout stays for results)."""
    typer.echo(message, err=True)


def check_output_file(path: Path, *, overwrite: bool = True, inputs: tuple[Path, ...] = ()) -> None:
    """Fail early when an output file cannot be written, or would replace one of the ``inputs``."""
    for source in inputs:
        if same_file(path, source):
            raise UsageProblem(f"{path}: is the same file as {source}; writing it would destroy that file, choose another output")
    if path.is_dir():
        raise UsageProblem(f"{path}: is a directory; give a file name for the output")
    if not overwrite and path.exists():
        raise UsageProblem(f"{path}: exists; pass --overwrite to replace it")
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise UsageProblem(f"{parent}: is not a directory")


def say_report(directory: Path) -> None:
    """The last line of a command that wrote a result directory: how to see it as one HTML page."""
    from ..report import report_command  # light: the report's heavy parts load when it is written

    say(f"see it as one page: {report_command(directory)}")


def training_settings(**values):
    """A :class:`~attentivechrome.config.TrainConfig` from a command's options, checked before any work starts.

    A setting it refuses (``--lr inf``, ``--clip nan``, ``--seed -1``) is a usage error naming the option.
    """
    from ..config import TrainConfig

    try:
        return TrainConfig(**values)
    except ValueError as err:
        message = str(err)
        name = message.split(" ", 1)[0]
        if name in values:
            message = f"--{name.replace('_', '-')}{message[len(name):]}"
        raise UsageProblem(message) from None


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (after resolving links and ``..``; hard links too)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def is_interactive() -> bool:
    return sys.stderr.isatty()
