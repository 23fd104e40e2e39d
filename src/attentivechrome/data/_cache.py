"""A binary copy of each CSV read, so the next read of the same file skips parsing.

The copy lives under :func:`attentivechrome._cache.cache_root` (``csv/``), never beside the
data, and is keyed by the file's resolved path, inode, size, modification time and
status-change time (both in ns) and the mark names: a changed, replaced or touched file is
parsed and validated again. The status-change time (ctime) is what keeps the cache honest when a
tool such as ``cp -p``, ``rsync`` or ``tar`` restores an old mtime on new content: no user call
can set it back. Only files that passed :func:`~attentivechrome.data.csv_io.read_csv` are
cached, so a cached read returns what a fresh read would.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._cache import cache_root
from .._io import atomic_path
from .csv_io import read_csv
from .dataset import HistoneData
from .orientation import recorded_orientation

logger = logging.getLogger(__name__)

#: Bump when the cached layout changes; old entries are then ignored.
_FORMAT = 3


def read_csv_cached(path: str | Path, *, marks: Sequence[str] | None = None, cache_dir: str | Path | None = None) -> HistoneData:
    """:func:`~attentivechrome.data.csv_io.read_csv` with a binary cache keyed by the file's identity and times.

    Parameters
    ----------
    path
        An AttentiveChrome CSV (plain or gzip).
    marks
        Names of the mark columns of a headerless file (see :func:`~attentivechrome.data.csv_io.read_csv`).
    cache_dir
        Where the binary copies go. Default: ``csv/`` under the package cache directory.

    Returns
    -------
    HistoneData
        The same data ``read_csv(path)`` returns.

    Raises
    ------
    InputFormatError, FileNotFoundError
        As ``read_csv`` does; a cached file is never read without its CSV being present.
    """
    path = Path(path)
    stat = path.stat()  # FileNotFoundError for a missing file, before any cache lookup
    if not path.is_file():
        return read_csv(path, marks=marks)  # directories and the like: read_csv words the error
    key = {
        "format": _FORMAT,
        "path": str(path.resolve()),
        "inode": stat.st_ino,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "ctime_ns": stat.st_ctime_ns,
        "marks": None if marks is None else list(marks),
    }
    entry = _entry_path(key, cache_dir)
    cached = _load(entry, key, path)
    if cached is not None:
        return cached
    data = read_csv(path, marks=marks)
    try:
        _store(entry, key, data)
    except OSError as err:  # a read-only or full cache only costs speed
        logger.debug("could not cache %s: %s", path, err)
    return data


def _entry_path(key: dict, cache_dir: str | Path | None) -> Path:
    root = Path(cache_dir) if cache_dir is not None else cache_root() / "csv"
    digest = hashlib.sha256(key["path"].encode()).hexdigest()[:24]
    return root / f"{Path(key['path']).name}.{digest}.npz"


def _load(entry: Path, key: dict, path: Path) -> HistoneData | None:
    if not entry.is_file():
        return None
    try:
        with np.load(entry, allow_pickle=False) as npz:
            if json.loads(str(npz["key"])) != key:
                return None  # the CSV changed since it was cached
            labels = npz["labels"]
            return HistoneData(
                gene_ids=npz["gene_ids"],
                counts=npz["counts"],
                labels=labels if labels.ndim == 1 else None,
                marks=tuple(str(m) for m in npz["marks"]),
                source=str(path),
                orientation=recorded_orientation(path),
            )
    except (OSError, ValueError, KeyError) as err:  # damaged entry: read the CSV again
        logger.debug("ignoring cache entry %s: %s", entry, err)
        return None


def _store(entry: Path, key: dict, data: HistoneData) -> None:
    entry.parent.mkdir(parents=True, exist_ok=True)
    labels = data.labels if data.labels is not None else np.zeros((0, 0), dtype=np.int64)  # 2-d: no labels
    with atomic_path(entry) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, key=np.array(json.dumps(key)), gene_ids=data.gene_ids, counts=data.counts, labels=labels, marks=np.array(data.marks))
