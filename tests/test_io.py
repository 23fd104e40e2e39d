"""Atomic writes: all or nothing, with normal permissions."""

from __future__ import annotations

import os

import pytest

from attentivechrome._io import atomic_open, write_text_atomic


def test_failure_leaves_previous_content_and_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    write_text_atomic(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_permissions_follow_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "f.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "f.txt").stat().st_mode & 0o777 == 0o644


# --------------------------------------------------------------------------- write failures, stale stages, locks


def test_every_write_failure_becomes_one_output_error(tmp_path):
    import errno

    from attentivechrome._io import writing_to
    from attentivechrome.exceptions import OutputWriteError

    target = tmp_path / "out.tsv"
    with pytest.raises(OutputWriteError, match=r"out.tsv: cannot write \(No space left on device\)") as caught:
        with writing_to(target):
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / ".out.tsv.x.tmp"))
    assert caught.value.errno == errno.ENOSPC and isinstance(caught.value, OSError)
    with pytest.raises(OutputWriteError, match=r"out.tsv: cannot write \(PytorchStreamWriter failed writing file data/0: file write failed; is the disk full or read-only\?\)"):
        with writing_to(target):
            raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")
    with pytest.raises(RuntimeError, match="^boom$"):  # not a write failure: passes unchanged
        with writing_to(target):
            raise RuntimeError("boom")


def _with_file_size_limit(limit: int, fn):
    """Run ``fn`` with writes beyond ``limit`` bytes failing (EFBIG), as on a full disk."""
    import resource
    import signal

    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        return fn()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_torch_zip_writer_failure_names_the_checkpoint_and_leaves_nothing(tmp_path):
    import attentivechrome as ac
    from attentivechrome.exceptions import OutputWriteError
    from attentivechrome.models.checkpoint import save_checkpoint

    model = ac.get_model("attentivechrome", bin_hidden=4, mark_hidden=2)
    target = tmp_path / "model.pt"
    with pytest.raises(OutputWriteError, match=r"model.pt: cannot write \(.*is the disk full or read-only\?\)"):
        _with_file_size_limit(2000, lambda: save_checkpoint(model, target))
    assert list(tmp_path.iterdir()) == []


def test_a_write_failure_inside_a_stage_names_the_target(tmp_path):
    import errno

    from attentivechrome._io import staging_directory, write_text_atomic
    from attentivechrome.exceptions import OutputWriteError

    def fail_rename(*args):
        raise OSError(errno.EROFS, "Read-only file system")

    with pytest.raises(OutputWriteError, match=r"run/config.json: cannot write \(Read-only file system\)"):
        with staging_directory(tmp_path / "run") as stage:
            import attentivechrome._io as io_module

            original = io_module.os.replace
            io_module.os.replace = fail_rename
            try:
                write_text_atomic(stage / "config.json", "{}")
            finally:
                io_module.os.replace = original
    assert list(tmp_path.iterdir()) == []


def test_stages_of_dead_processes_are_removed_by_the_next_run(tmp_path):
    import json
    import subprocess
    import sys

    from attentivechrome._io import STAGE_OWNER, staging_directory, stale_stages

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    host = __import__("socket").gethostname()
    left = tmp_path / ".run.abc.staging"
    left.mkdir()
    (left / STAGE_OWNER).write_text(json.dumps({"host": host, "pid": int(dead.stdout)}))
    live = tmp_path / ".run.def.staging"
    live.mkdir()
    (live / STAGE_OWNER).write_text(json.dumps({"host": host, "pid": os.getpid()}))
    other = tmp_path / ".run2.ghi.staging"  # another target's stage
    other.mkdir()
    assert stale_stages(tmp_path / "run") == [left]
    with staging_directory(tmp_path / "run") as stage:
        assert not left.exists() and live.exists() and other.exists()
        (stage / "a.txt").write_text("x")
    assert not stage.exists()


def test_exclusive_lock_refuses_a_second_holder(tmp_path):
    from attentivechrome._io import exclusive_lock
    from attentivechrome.exceptions import DirectoryLockedError

    with exclusive_lock(tmp_path / "out", "train-many"):
        with pytest.raises(DirectoryLockedError, match=rf"out: another train-many is writing here \(pid {os.getpid()}\); wait for it"):
            with exclusive_lock(tmp_path / "out", "train-many"):
                pass
    with exclusive_lock(tmp_path / "out", "train-many"):  # released
        pass
    assert list((tmp_path / "out").iterdir()) == []  # and the lock file removed
