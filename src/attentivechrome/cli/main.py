"""Entry point: registers every command module on the app and turns errors into exit status 2."""

from __future__ import annotations

import importlib
import sys

from ._app import UsageProblem, app

# Each module registers its commands on `app` when imported; add new command modules here.
_COMMAND_MODULES = [
    "attentivechrome.cli.core",
    "attentivechrome.cli.featurize",
    "attentivechrome.cli.download",
    "attentivechrome.cli.interpret",
    "attentivechrome.cli.benchmark",
    "attentivechrome.cli.train_many",
]

for _module in _COMMAND_MODULES:
    importlib.import_module(_module)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; bad input or usage ends with one message on stderr and exit status 2."""
    from ..evaluation.metrics import UndefinedMetricError
    from ..exceptions import AttentiveChromeError

    handled = (AttentiveChromeError, UsageProblem, UndefinedMetricError, FileNotFoundError, IsADirectoryError, PermissionError, ValueError)
    try:
        app(args=argv, prog_name="attentivechrome")
    except handled as err:
        message = str(err)
        if isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)) and err.filename:
            message = f"{err.filename}: {err.strerror}"
        print(f"attentivechrome: error: {message}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("attentivechrome: interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
