"""Entry point: registers every command module on the app and turns errors into exit status 2."""

from __future__ import annotations

import importlib
import sys

import typer

from ._app import UsageProblem, app

# Each module registers its commands on `app` when imported; add new command modules here.
_COMMAND_MODULES = [
    "attentivechrome.cli.core",
    "attentivechrome.cli.featurize",
    "attentivechrome.cli.download",
    "attentivechrome.cli.interpret",
    "attentivechrome.cli.benchmark",
    "attentivechrome.cli.train_many",
    "attentivechrome.cli.report",
]

for _module in _COMMAND_MODULES:
    importlib.import_module(_module)


#: click's UsageError (the base of BadParameter), wherever this typer version keeps click.
_UsageError = next(cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError")


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; bad input or usage ends with one message on stderr and exit status 2."""
    from ..exceptions import AttentiveChromeError  # light; UndefinedMetricError and the others derive from it

    handled = (AttentiveChromeError, UsageProblem, FileNotFoundError, IsADirectoryError, PermissionError, ValueError)
    try:
        # standalone_mode=False: click hands usage errors to us instead of drawing a multi-line box.
        status = app(args=argv, prog_name="attentivechrome", standalone_mode=False)
    except _UsageError as err:
        command = err.ctx.command_path if err.ctx is not None else "attentivechrome"
        message = err.format_message().strip().rstrip(".")
        if message:  # empty when click has just shown the help of a bare command
            print(f"attentivechrome: error: {message} (see `{command} --help`)", file=sys.stderr)
        sys.exit(2)
    except typer.Abort:  # Ctrl-C, which click turns into Abort
        print("attentivechrome: interrupted", file=sys.stderr)
        sys.exit(130)
    except handled as err:
        message = str(err)
        if isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)) and err.filename:
            message = f"{err.filename}: {err.strerror}"
        print(f"attentivechrome: error: {message}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("attentivechrome: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)  # as click's standalone mode does; typer.Exit(code) gives code


if __name__ == "__main__":  # pragma: no cover
    main()
