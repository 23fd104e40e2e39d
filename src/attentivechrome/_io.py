"""Atomic file writing: a reader never sees a half-written output file."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:  # name the file the user asked for, not the temporary one
        raise OSError(err.errno, f"cannot write beside it ({err.strerror})", str(path)) from err
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        os.chmod(tmp_path, 0o666 & ~_current_umask())
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; rename it onto ``path`` on success."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as handle:
            yield handle


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (UTF-8)."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


@contextlib.contextmanager
def staging_directory(target: str | Path) -> Iterator[Path]:
    """Yield a new, empty hidden directory beside ``target``; remove it and what is left in it at the end.

    Outputs that belong together are written there and moved into place by :func:`move_files`
    only once all of them are complete; being on the same file system, each move is a rename.
    """
    target = Path(target)
    base = target.parent if str(target.parent) else Path(".")
    base.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".staging", dir=base))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def move_files(stage: Path, out_dir: str | Path) -> None:
    """Move every file of ``stage`` into ``out_dir`` (created), each by an atomic rename, with normal permissions.

    Subdirectories are merged the same way, so files already in ``out_dir`` that the stage
    does not replace stay where they are.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mode = 0o666 & ~_current_umask()
    for path in sorted(stage.iterdir()):
        if path.is_dir():
            move_files(path, out / path.name)
            continue
        os.chmod(path, mode)
        os.replace(path, out / path.name)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
