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


class OutputWriteError(AttentiveChromeError, OSError):
    """An output could not be written: a full or read-only disk, a missing permission, an I/O error.

    The message names the output the user asked for (not a temporary file beside it) and the
    system's reason; ``errno`` is the system's error number when there is one.
    """

    def __init__(self, path: str | Path, reason: str, errno: int | None = None) -> None:
        super().__init__(f"{path}: cannot write ({reason})")
        self.path = str(path)
        self.reason = reason
        self.errno = errno
        self.filename = str(path)

    def __str__(self) -> str:
        return f"{self.path}: cannot write ({self.reason})"


class RunsFailedError(AttentiveChromeError, RuntimeError):
    """Every run of a benchmark failed, so there is nothing to tabulate; the message gives the first run's error."""


class RunSettingsError(AttentiveChromeError, ValueError):
    """An output directory holds runs trained with other settings than this call's (train-many, benchmark)."""


class DirectoryLockedError(AttentiveChromeError):
    """Another process is writing to the same output directory."""


class BinCountWarning(UserWarning):
    """The data have another number of bins per gene than the model was trained on."""


class ReferenceWarning(UserWarning):
    """Genes of the data are missing from the reference-expression table (their prior is the median gene's)."""


class ExtraMarksWarning(UserWarning):
    """The data hold marks the model does not read; they are ignored."""


class NotFittedError(AttentiveChromeError, AttributeError):
    """A model was queried before it was trained or loaded."""
