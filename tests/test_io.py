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
