"""The binary CSV cache returns what read_csv returns and is never stale."""

from __future__ import annotations

import os

import numpy as np
import pytest

from attentivechrome.data import _cache, load_splits, read_csv, write_csv
from attentivechrome.data.synthetic import simulate
from attentivechrome.exceptions import InputFormatError


def _assert_same(a, b):
    assert np.array_equal(a.gene_ids, b.gene_ids) and a.gene_ids.dtype.kind == b.gene_ids.dtype.kind
    assert np.array_equal(a.counts, b.counts) and a.counts.dtype == b.counts.dtype
    assert (a.labels is None and b.labels is None) or np.array_equal(a.labels, b.labels)
    assert a.marks == b.marks and a.source == b.source


@pytest.fixture
def csv_file(tmp_path):
    data, _ = simulate(40, 10, seed=0)
    path = tmp_path / "cell.csv"
    write_csv(data, path)
    return path


def test_second_read_comes_from_the_cache(csv_file, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = _cache.read_csv_cached(csv_file, cache_dir=cache)
    _assert_same(first, read_csv(csv_file))
    assert len(list(cache.glob("cell.csv.*.npz"))) == 1

    def no_parse(*args, **kwargs):
        raise AssertionError("parsed again")

    monkeypatch.setattr(_cache, "read_csv", no_parse)
    _assert_same(_cache.read_csv_cached(csv_file, cache_dir=cache), first)


def test_changed_file_is_read_again(csv_file, tmp_path):
    cache = tmp_path / "cache"
    _cache.read_csv_cached(csv_file, cache_dir=cache)
    text = csv_file.read_text().replace("SIM000000,", "GENEZERO0,")  # same size, other content
    stat = csv_file.stat()
    csv_file.write_text(text)
    os.utime(csv_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    again = _cache.read_csv_cached(csv_file, cache_dir=cache)
    assert again.gene_ids[0] == "GENEZERO0"


def test_new_content_with_the_old_mtime_restored_is_read_again(csv_file, tmp_path):
    # cp -p, rsync and tar put back an old mtime; only the status-change time tells.
    cache = tmp_path / "cache"
    _cache.read_csv_cached(csv_file, cache_dir=cache)
    stat = csv_file.stat()
    csv_file.write_text(csv_file.read_text().replace("SIM000000,", "GENEZERO0,"))  # same size
    os.utime(csv_file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert csv_file.stat().st_size == stat.st_size and csv_file.stat().st_mtime_ns == stat.st_mtime_ns
    assert _cache.read_csv_cached(csv_file, cache_dir=cache).gene_ids[0] == "GENEZERO0"


def test_unlabelled_files_and_damaged_entries(tmp_path):
    data, _ = simulate(12, 10, seed=1)
    path = tmp_path / "plain.csv"
    write_csv(data, path, with_labels=False)
    cache = tmp_path / "cache"
    assert _cache.read_csv_cached(path, cache_dir=cache).labels is None
    assert _cache.read_csv_cached(path, cache_dir=cache).labels is None
    entry = next(cache.glob("*.npz"))
    entry.write_bytes(b"not a zip file")
    _assert_same(_cache.read_csv_cached(path, cache_dir=cache), read_csv(path))


def test_errors_are_those_of_read_csv_and_nothing_is_cached(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(FileNotFoundError):
        _cache.read_csv_cached(tmp_path / "missing.csv", cache_dir=cache)
    broken = tmp_path / "broken.csv"
    broken.write_text("g1,1,0,0,0,0,0,1\ng1,2,0,0,x,0,0,1\n")
    with pytest.raises(InputFormatError, match=r"broken.csv:2: field 5 \(H3K4me1\) is not a number"):
        _cache.read_csv_cached(broken, cache_dir=cache)
    assert not cache.exists() or not list(cache.iterdir())


def test_load_splits_with_cache_matches(sim_dir):
    plain, cached = load_splits(sim_dir), load_splits(sim_dir, cache=True)
    for name in plain:
        _assert_same(cached[name], plain[name])
    for name, data in load_splits(sim_dir, cache=True).items():
        _assert_same(data, plain[name])
