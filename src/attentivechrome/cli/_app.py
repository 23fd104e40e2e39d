"""The Typer application object, shared by the command modules, and helpers they use."""

from __future__ import annotations

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


def say(message: str) -> None:
    """A line for the user on stderr (stdout stays for results)."""
    typer.echo(message, err=True)


def check_output_file(path: Path, *, overwrite: bool = True) -> None:
    """Fail early when an output file cannot be written."""
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


def is_interactive() -> bool:
    return sys.stderr.isatty()
