"""Entry point: registers every command module on the app and turns errors into exit status 2."""

from __future__ import annotations

import importlib
import sys

import typer

from ._app import Interrupted, UsageProblem, app

# Each module registers its commands on `app` when imported; add new command modules here.
_COMMAND_MODULES = [
    "attentivechrome.cli.core",
    "attentivechrome.cli.featurize",
    "attentivechrome.cli.download",
    "attentivechrome.cli.interpret",
    "attentivechrome.cli.benchmark",
    "attentivechrome.cli.train_many",
    "attentivechrome.cli.report",
    "attentivechrome.cli.stability",
]

for _module in _COMMAND_MODULES:
    importlib.import_module(_module)


#: click's UsageError (the base of BadParameter), wherever this typer version keeps click.
_UsageError = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; bad input or usage ends with one message on stderr and exit status 2.

    Every failure to read or write a file (``OSError``: a missing file, a full or read-only
    disk, a missing permission) is bad input or usage too: one line naming the file, exit 2.
    Ctrl-C ends with exit status 130 and a line saying what was kept.
    """
    from ..exceptions import AttentiveChromeError  # light; UndefinedMetricError and the others derive from it

    handled = (AttentiveChromeError, UsageProblem, OSError, ValueError)
    try:
        # standalone_mode=False: click hands usage errors to us instead of drawing a multi-line box.
        status = app(args=argv, prog_name="attentivechrome", standalone_mode=False)
    except _UsageError as err:
        command = err.ctx.command_path if err.ctx is not None else "attentivechrome"
        message = err.format_message().strip().rstrip(".")
        if message:  # empty when click has just shown the help of a bare command
            print(f"attentivechrome: error: {message} (see `{command} --help`)", file=sys.stderr)
        sys.exit(2)
    except Interrupted as err:  # a command's own account of what an interruption kept
        print(f"attentivechrome: {err}", file=sys.stderr)
        sys.exit(130)
    except (typer.Abort, KeyboardInterrupt):  # Ctrl-C, which click may turn into Abort
        print("attentivechrome: interrupted", file=sys.stderr)
        sys.exit(130)
    except handled as err:
        print(f"attentivechrome: error: {_one_line(err)}", file=sys.stderr)
        sys.exit(2)
    if status == 130:  # typer turns Ctrl-C inside a command into exit status 130 without a word
        print("attentivechrome: interrupted", file=sys.stderr)
    sys.exit(status if isinstance(status, int) else 0)  # as click's standalone mode does; typer.Exit(code) gives code


def _one_line(err: BaseException) -> str:
    """The message of an error the user can act on, as one line naming the file where there is one."""
    from ..exceptions import AttentiveChromeError

    if isinstance(err, OSError) and not isinstance(err, AttentiveChromeError):
        if err.filename and err.strerror:
            return f"{err.filename}: {err.strerror}"
        if err.strerror:
            return err.strerror
    return str(err).strip() or type(err).__name__


if __name__ == "__main__":  # pragma: no cover
    main()
