"""Writing outputs: atomically, and with one kind of error when the system refuses.

A reader never sees a half-written output file: files are written beside their target and
renamed onto it (:func:`atomic_path`), and outputs that belong together are written into a
staging directory and moved in once all are complete (:func:`staging_directory`,
:func:`move_files`). Every failure to write (a full or read-only disk, a missing permission,
torch's zip writer giving up) comes out of these helpers as one
:class:`~attentivechrome.exceptions.OutputWriteError` naming the output the user asked for, which
the command line reports in one line with exit status 2.
"""

from __future__ import annotations

import contextlib
import errno as errno_codes
import glob
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from .exceptions import OutputWriteError

#: Inside a staging directory: which process owns it (host and pid), so a rerun can tell a live run's stage from a dead one's.
STAGE_OWNER = ".staging-owner"
#: A staging directory without an owner file (one being created, or left by an older version) is stale after this many seconds.
_UNOWNED_STALE_AFTER = 600.0


def write_failure(err: BaseException) -> str | None:
    """The reason, when ``err`` is a failure to write (an ``OSError``, or torch's zip writer failing); else ``None``."""
    if isinstance(err, OutputWriteError):
        return err.reason
    if isinstance(err, OSError):
        return err.strerror or str(err) or type(err).__name__
    if isinstance(err, RuntimeError):
        text = str(err)
        # torch.save reports a failed write from its C++ zip writer as a RuntimeError
        if any(mark in text for mark in ("PytorchStreamWriter", "inline_container", "file write failed", "unexpected pos")):
            first = text.strip().splitlines()[0] if text.strip() else "write failed"
            return f"{first}; is the disk full or read-only?"
    return None


@contextlib.contextmanager
def writing_to(path: str | Path) -> Iterator[None]:
    """Turn a failure to write inside the block into an :class:`OutputWriteError` naming ``path``.

    An :class:`OutputWriteError` raised inside (naming a more precise file) passes unchanged;
    exceptions that are not write failures pass unchanged too.
    """
    try:
        yield
    except OutputWriteError:
        raise
    except (OSError, RuntimeError) as err:
        reason = write_failure(err)
        if reason is None:
            raise
        raise OutputWriteError(path, reason, getattr(err, "errno", None)) from err


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left as it was.

    Raises
    ------
    OutputWriteError
        When the temporary file cannot be created, written (by the block) or renamed.
    """
    path = Path(path)
    with writing_to(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        try:
            yield tmp_path
            # mkstemp creates 0600 files; give the result the permissions a plain open() would.
            os.chmod(tmp_path, 0o666 & ~_current_umask())
            os.replace(tmp_path, path)
        except OutputWriteError as err:
            tmp_path.unlink(missing_ok=True)
            failed = Path(err.path)
            if failed == tmp_path or (failed.parent == tmp_path.parent and failed.name.startswith(f".{tmp_path.name}.")):
                raise OutputWriteError(path, err.reason, err.errno) from err  # name the file asked for, not a temporary one
            raise
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
def staging_directory(target: str | Path, *, reuse: Path | None = None, keep_on_interrupt: bool = False, beside: bool = False) -> Iterator[Path]:
    """Yield a new, empty hidden directory beside ``target``; remove it and what is left in it at the end.

    Outputs that belong together are written there and moved into place by :func:`move_files`
    only once all of them are complete; being on the same file system, each move is a rename.
    Staging directories of ``target`` that a killed process left (:func:`stale_stages`) are
    removed first.

    Parameters
    ----------
    reuse
        A stale staging directory of ``target`` to take over instead of a new one (resuming
        the work a killed process left in it); it is not removed with the others.
    keep_on_interrupt
        Keep the directory when the block ends with ``KeyboardInterrupt``, so a later call can
        take it over with ``reuse``.
    beside
        The staged files go beside ``target`` (a file and its companions), not into it: a failure
        to write one names ``target.parent / name``.

    Raises
    ------
    OutputWriteError
        When the directory cannot be created, or writing inside it fails (the error then names
        the file's place in ``target``).
    """
    target = Path(target)
    base = target.parent if str(target.parent) else Path(".")
    with writing_to(target):
        base.mkdir(parents=True, exist_ok=True)
        for stale in stale_stages(target):
            if reuse is None or stale.resolve() != Path(reuse).resolve():
                shutil.rmtree(stale, ignore_errors=True)
        if reuse is not None:
            stage = Path(reuse)
        else:
            stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".staging", dir=base))
        (stage / STAGE_OWNER).write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}) + "\n", encoding="utf-8")
    keep = False
    try:
        yield stage
    except KeyboardInterrupt:
        keep = keep_on_interrupt
        raise
    except OutputWriteError as err:
        inside = _relative_to(Path(err.path), stage)
        if inside is None:
            raise
        raise OutputWriteError((base if beside else target) / inside, err.reason, err.errno) from err
    finally:
        if not keep:
            shutil.rmtree(stage, ignore_errors=True)


def stale_stages(target: str | Path) -> list[Path]:
    """The staging directories of ``target`` whose process is gone (killed before it could clean up), newest first.

    A stage is stale when its owner ran on this host and is no longer alive, or when it has no
    owner file and is older than ten minutes; stages of live processes and of other hosts are never stale.
    """
    target = Path(target)
    base = target.parent if str(target.parent) else Path(".")
    if not base.is_dir():
        return []
    found = []
    for stage in base.glob(f".{glob.escape(target.name)}.*.staging"):
        if stage.is_dir() and _stage_is_stale(stage):
            found.append(stage)
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def _stage_is_stale(stage: Path) -> bool:
    try:
        owner = json.loads((stage / STAGE_OWNER).read_text(encoding="utf-8"))
        host, pid = owner["host"], int(owner["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        try:
            return time.time() - stage.stat().st_mtime > _UNOWNED_STALE_AFTER
        except OSError:
            return False
    return host == socket.gethostname() and not process_alive(pid)


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (a zombie, dead but not yet reaped, counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
        return state != b"Z"
    except (OSError, IndexError):
        return True


def _relative_to(path: Path, folder: Path) -> Path | None:
    try:
        return path.relative_to(folder)
    except ValueError:
        return None


def move_files(stage: Path, out_dir: str | Path) -> None:
    """Move every file of ``stage`` into ``out_dir`` (created), each by an atomic rename, with normal permissions.

    Subdirectories are merged the same way, so files already in ``out_dir`` that the stage
    does not replace stay where they are. The stage's owner file stays behind.

    Raises
    ------
    OutputWriteError
        Naming the file of ``out_dir`` that could not be put in place.
    """
    out = Path(out_dir)
    with writing_to(out):
        out.mkdir(parents=True, exist_ok=True)
    mode = 0o666 & ~_current_umask()
    for path in sorted(stage.iterdir()):
        if path.name == STAGE_OWNER:
            continue
        if path.is_dir():
            move_files(path, out / path.name)
            continue
        with writing_to(out / path.name):
            os.chmod(path, mode)
            os.replace(path, out / path.name)


@contextlib.contextmanager
def exclusive_lock(directory: str | Path, what: str, *, beside: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (created) for the block; refuse when another process holds it.

    The lock is ``.lock`` inside the directory, locked with ``flock`` and removed at the end; the
    system releases the lock when its process ends however it ends, so a killed run never leaves
    a stale lock (only an unlocked file, which the next call takes). Without
    ``fcntl`` (Windows) the block runs unlocked.

    With ``beside``, the lock is ``.NAME.lock`` beside the directory, which is not created: for
    outputs staged beside their directory and moved in only once complete (:func:`staging_directory`).

    Raises
    ------
    DirectoryLockedError
        When another process holds the lock, naming it (its pid when known).
    """
    from .exceptions import DirectoryLockedError

    directory = Path(directory)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield
        return
    path = directory.parent / f".{directory.name}.lock" if beside else directory / ".lock"
    with writing_to(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        with writing_to(path):
            handle = open(path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            handle.seek(0)
            pid, _, holder = handle.read().strip().partition(" ")
            handle.close()
            if err.errno not in (errno_codes.EWOULDBLOCK, errno_codes.EAGAIN, errno_codes.EACCES):
                raise OutputWriteError(path, err.strerror or str(err), err.errno) from err
            who = f" (pid {pid})" if pid.isdigit() else ""
            raise DirectoryLockedError(
                f"{directory}: another {holder or what} is writing here{who}; wait for it to finish, or use another --out"
            ) from None
        try:
            same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        handle.close()  # the holder removed the file as we opened it: lock the new one
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {what}\n")
        handle.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still holding the lock, so no one locks a file about to vanish
        handle.close()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
