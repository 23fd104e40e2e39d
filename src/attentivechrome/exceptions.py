"""Exception classes users can catch. Every user-facing failure raises one of these."""

from __future__ import annotations

from pathlib import Path


class AttentiveChromeError(Exception):
    """Base class of the errors this package raises on bad input or usage."""


class InputFormatError(AttentiveChromeError, ValueError):
    """A data file breaks the expected format.

    The message reads ``path:line: what was expected, what was found``, so the
    user can open the file at the right place.
    """

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.reason = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


class CheckpointError(AttentiveChromeError, ValueError):
    """A file is not a model checkpoint this package can load, or does not fit the model."""


class UndefinedMetricError(AttentiveChromeError, ValueError):
    """A metric has no value on this data (e.g. AUROC when the labels hold one class)."""


class ModelDataMismatchError(AttentiveChromeError, ValueError):
    """Data do not fit a model: other marks or a task the model was not trained for."""


class BinCountWarning(UserWarning):
    """The data have another number of bins per gene than the model was trained on."""


class ExtraMarksWarning(UserWarning):
    """The data hold marks the model does not read; they are ignored."""


class NotFittedError(AttentiveChromeError, AttributeError):
    """A model was queried before it was trained or loaded."""
