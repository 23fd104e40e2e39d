"""An NPZ written in pieces: arrays grow along their first axis batch by batch, in flat memory.

Each growing array is spooled to a raw temporary file; :meth:`NpzStreamWriter.close` then
copies each one into its ``.npy`` member of the zip archive (deflated, as
``np.savez_compressed``), and renames the archive into place. ``np.load`` reads the result.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .._io import atomic_path

_COPY_CHUNK = 16 * 1024 * 1024


class NpzStreamWriter:
    """Collect arrays for one NPZ file; use as a context manager.

    ``append(key, chunk)`` adds rows to a growing array (same dtype and trailing shape every
    time); ``put(key, array)`` stores a whole small array. Nothing is written to ``path``
    unless the ``with`` block ends without an exception.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __enter__(self) -> NpzStreamWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._spool_dir = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        self._growing: dict[str, dict] = {}
        self._whole: dict[str, np.ndarray] = {}
        return self

    def append(self, key: str, chunk: np.ndarray) -> None:
        chunk = np.ascontiguousarray(chunk)
        entry = self._growing.get(key)
        if entry is None:
            handle = open(self._spool_dir / f"{len(self._growing)}.raw", "wb")
            entry = self._growing[key] = {"handle": handle, "dtype": chunk.dtype, "tail": chunk.shape[1:], "rows": 0}
        if chunk.dtype != entry["dtype"] or chunk.shape[1:] != entry["tail"]:
            raise ValueError(f"{key}: chunk {chunk.dtype}{chunk.shape} does not continue {entry['dtype']}(n, {entry['tail']})")
        entry["handle"].write(chunk.tobytes())
        entry["rows"] += chunk.shape[0]

    def put(self, key: str, array: np.ndarray) -> None:
        self._whole[key] = np.asarray(array)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            for entry in self._growing.values():
                entry["handle"].close()
            if exc_type is None:
                self._write_archive()
        finally:
            shutil.rmtree(self._spool_dir, ignore_errors=True)

    def _write_archive(self) -> None:
        with atomic_path(self.path) as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
                for key, array in self._whole.items():
                    buffer = io.BytesIO()
                    np.lib.format.write_array(buffer, array, allow_pickle=False)
                    archive.writestr(f"{key}.npy", buffer.getvalue())
                for key, entry in self._growing.items():
                    shape = (entry["rows"],) + tuple(entry["tail"])
                    header = {"descr": np.lib.format.dtype_to_descr(entry["dtype"]), "fortran_order": False, "shape": shape}
                    with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                        np.lib.format.write_array_header_2_0(member, header)
                        with open(entry["handle"].name, "rb") as raw:
                            shutil.copyfileobj(raw, member, _COPY_CHUNK)
