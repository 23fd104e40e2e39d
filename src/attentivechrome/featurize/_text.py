"""Opening plain or gzip-compressed text inputs, detected by content rather than by name."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import IO

from ..exceptions import InputFormatError

GZIP_MAGIC = b"\x1f\x8b"


def check_input_file(path: str | Path, what: str) -> Path:
    """Return ``path`` as a Path after checking it is an existing regular file.

    ``what`` names the input in the message (``"mark H3K4me3"``, ``"--genes"``).
    """
    path = Path(path)
    if path.is_dir():
        raise InputFormatError(path, None, f"{what}: is a directory, expected a file")
    if not path.exists():
        raise InputFormatError(path, None, f"{what}: no such file")
    return path


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_text(path: Path) -> IO[str]:
    """Open ``path`` for reading text (UTF-8, gzip transparently); the caller closes it."""
    if is_gzip(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="strict")
    return open(path, encoding="utf-8", errors="strict")


def read_lines(path: Path):
    """Yield ``(line_number, line_without_newline)``; undecodable or damaged input raises InputFormatError."""
    line_no = 0
    try:
        with open_text(path) as handle:
            for line_no, line in enumerate(handle, start=1):
                yield line_no, line.rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise InputFormatError(path, line_no + 1, f"is not UTF-8 text ({err.reason}); is this a binary file?") from err
    except (EOFError, gzip.BadGzipFile, OSError) as err:
        if isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise InputFormatError(path, line_no + 1, f"is a damaged gzip file ({err})") from err
