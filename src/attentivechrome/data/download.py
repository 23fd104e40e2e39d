"""Published AttentiveChrome files from Zenodo: the REMC input data and the per-cell weights.

Nothing is downloaded at import time. The file list, sizes and md5 checksums come from
Zenodo's records API (``{api}/records/{id}``), not from names written into this module.
Each file is fetched with :func:`pooch.retrieve`, which keeps a cached copy whose md5 matches,
checks every download against the record's md5, deletes one that does not match, and puts a
good one in place under its final name only once verified, so a truncated or corrupted download
is never used. Two parts are this module's own, because pooch lacks them:

- **resuming**: pooch restarts an interrupted download from its first byte and deletes what it
  had received; here the bytes go to ``<name>.part``, which a later call continues with an HTTP
  range request (the downloader handed to pooch, :class:`_ResumingDownloader`);
- **the records API**: pooch's Zenodo support (``doi:`` URLs) always asks ``zenodo.org``; here
  the API address can be another one (a mirror, or the tests' local server), and each record's
  entries are checked (name, size, md5, link) before anything is fetched.

Cache layout, under the package cache (:func:`attentivechrome._cache.cache_root`:
``$ATTENTIVECHROME_CACHE_DIR``, else ``$XDG_CACHE_HOME/attentivechrome``, else
``~/.cache/attentivechrome``)::

    published/weights/<CELL>_attchrome_avgAUC_model.pt   one per cell, loadable by cell name (--model E003)
    published/weights/record.json                        the record's file list (keys, sizes, md5)
    published/data/<files of the data record>
    published/data/record.json

The API address is ``https://zenodo.org/api`` unless ``$ATTENTIVECHROME_ZENODO_API`` or
the ``api_url`` argument says otherwise (tests point it at a local server).
"""

from __future__ import annotations

import fnmatch
import http.client
import json
import os
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from .. import _progress
from .._cache import cache_root
from .._io import write_text_atomic
from .._version import __version__
from ..exceptions import AttentiveChromeError, CheckpointError

#: Zenodo records of the published AttentiveChrome material.
RECORDS: dict[str, int] = {"data": 2652278, "weights": 2616712}
DEFAULT_API = "https://zenodo.org/api"
API_ENV = "ATTENTIVECHROME_ZENODO_API"
#: Name of a published weights file: the cell comes first.
WEIGHTS_FILE = re.compile(r"^(E\d{3})_attchrome_avgAUC_model\.pt$")
_CELL = re.compile(r"^[Ee]\d{3}$")
_CHUNK = 1 << 20
RECORD_FILE = "record.json"

What = Literal["weights", "data"]


class DownloadError(AttentiveChromeError):
    """A download failed, or its result did not match the record (size or checksum)."""


@dataclass(frozen=True)
class RemoteFile:
    """One file of a Zenodo record."""

    key: str
    size: int | None
    md5: str | None
    url: str


def default_cache_dir() -> Path:
    """Where downloads go: ``published/`` in the package cache (see the module docstring)."""
    return cache_root() / "published"


def api_base(api_url: str | None = None) -> str:
    """The records API address: ``api_url``, else ``$ATTENTIVECHROME_ZENODO_API``, else Zenodo's."""
    return (api_url or os.environ.get(API_ENV) or DEFAULT_API).rstrip("/")


def list_record(record_id: int, *, api_url: str | None = None, timeout: float = 60.0) -> list[RemoteFile]:
    """The files of a Zenodo record, with sizes, md5 checksums and download links.

    Raises
    ------
    DownloadError
        When the API cannot be reached, answers with an error, or lists a file without an
        md5 checksum or link.
    """
    url = f"{api_base(api_url)}/records/{record_id}"
    try:
        with _open(url, timeout=timeout) as response:
            payload = json.loads(response.read().decode("utf-8"))
    except json.JSONDecodeError as err:
        raise DownloadError(f"{url}: the records API did not answer with JSON ({err})") from err
    except (http.client.HTTPException, OSError) as err:
        raise DownloadError(f"{url}: reading the record failed ({err})") from err
    entries = payload.get("files") if isinstance(payload, dict) else None
    if isinstance(entries, dict):  # InvenioRDM shape: {"entries": {key: {...}}}
        entries = entries.get("entries", [])
    if isinstance(entries, dict):
        entries = list(entries.values())
    if not isinstance(entries, list) or not entries:
        raise DownloadError(f"{url}: the record lists no files")
    return [_remote_file(entry, i, url) for i, entry in enumerate(entries, 1)]


def _remote_file(entry, number: int, url: str) -> RemoteFile:
    """One file entry of a record, checked: a usable name, an md5 checksum, a link, a size in bytes (or none).

    Raises
    ------
    DownloadError
        Naming the record, the entry and what is wrong with it.
    """
    if not isinstance(entry, dict):
        raise DownloadError(f"{url}: file entry {number} of the record is a {type(entry).__name__}, expected an object with key, size, checksum and links")
    key = entry.get("key") or entry.get("filename")
    if not isinstance(key, str) or not key or "/" in key or "\\" in key or key in (".", "..") or key.startswith("."):
        raise DownloadError(f"{url}: file entry {number} of the record has an unusable name {key!r}")
    checksum = entry.get("checksum")
    algorithm, _, digest = (checksum if isinstance(checksum, str) else "").partition(":")
    md5 = digest.lower() if algorithm.lower() == "md5" and re.fullmatch(r"[0-9a-fA-F]{32}", digest) else None
    if md5 is None:
        raise DownloadError(f"{url}: no md5 checksum listed for {key}; refusing a download that cannot be verified")
    links = entry.get("links") or {}
    link = None
    if isinstance(links, dict):
        link = next((v for v in (links.get("content"), links.get("download"), links.get("self")) if isinstance(v, str) and v), None)
    if link is None:
        raise DownloadError(f"{url}: no download link listed for {key}")
    size = entry.get("size", entry.get("filesize"))
    if isinstance(size, str) and size.strip().isdigit():
        size = int(size)
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise DownloadError(f"{url}: the record gives the size of {key} as {size!r:.60}, not a number of bytes")
    return RemoteFile(key=key, size=size, md5=md5, url=link)


def select_files(
    what: What, files: Sequence[RemoteFile], *, cells: Sequence[str] = (), patterns: Sequence[str] = ()
) -> list[RemoteFile]:
    """The files of a record to fetch: for ``weights`` the ``<CELL>_attchrome_avgAUC_model.pt``
    files (of ``cells``, default all); otherwise those matching any glob of ``patterns`` (default all).

    Raises
    ------
    DownloadError
        When a requested cell or pattern matches nothing (listing what exists).
    """
    chosen = list(files)
    if what == "weights":
        by_cell = {m.group(1): f for f in files if (m := WEIGHTS_FILE.match(f.key))}
        if not by_cell:
            raise DownloadError(f"the weights record lists no <CELL>_attchrome_avgAUC_model.pt files (it has {_preview([f.key for f in files])})")
        wanted = [c.upper() for c in cells] or sorted(by_cell)
        unknown = [c for c in wanted if c not in by_cell]
        if unknown:
            raise DownloadError(f"no published weights for {', '.join(unknown)}; cells with weights: {_preview(sorted(by_cell), 12)}")
        chosen = [by_cell[c] for c in wanted]
    elif cells:
        raise DownloadError("--cell selects published weights; for the data record choose files with --file")
    if patterns:
        chosen = [f for f in chosen if any(fnmatch.fnmatch(f.key, p) for p in patterns)]
        if not chosen:
            raise DownloadError(f"no file matches {', '.join(patterns)}; the files are {_preview([f.key for f in files])}")
    return chosen


def download_file(remote: RemoteFile, dest: str | Path, *, timeout: float = 60.0, progress: bool | None = None) -> Path:
    """Fetch one file to ``dest`` with pooch, resuming ``dest.part`` when present, and verify it.

    A file already at ``dest`` with the right md5 is kept without a request; one with the
    wrong md5 is fetched again (and replaced only by a verified copy).

    Raises
    ------
    DownloadError
        When the transfer stops early (the ``.part`` file is kept, so the next call resumes)
        or the result has the wrong size or md5 (the received file is deleted). ``dest`` is
        only ever the verified file.
    """
    import pooch  # a few hundred milliseconds: only when something is fetched

    dest = Path(dest)
    downloader = _ResumingDownloader(remote, dest.with_name(dest.name + ".part"), timeout=timeout, progress=progress)
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel("WARNING")  # pooch says "Downloading data from ..." at INFO; the command says what it fetched
    try:
        pooch.retrieve(remote.url, known_hash=f"md5:{remote.md5}", fname=dest.name, path=dest.parent, downloader=downloader)
    except DownloadError:
        raise
    except ValueError:  # pooch: the download's hash does not match (it has deleted the file)
        raise DownloadError(
            f"{remote.key}: checksum mismatch (md5 {downloader.digest}, the record lists {remote.md5}); the damaged file was deleted, run again to retry"
        ) from None
    finally:
        logger.setLevel(level)
    return dest


def download(
    what: What,
    *,
    cells: Sequence[str] = (),
    patterns: Sequence[str] = (),
    cache_dir: str | Path | None = None,
    api_url: str | None = None,
    progress: bool | None = None,
    timeout: float = 60.0,
) -> list[Path]:
    """Download the published ``weights`` (per cell) or ``data`` into the cache; return the verified paths.

    Already cached, verified files are not fetched again.
    """
    if what not in RECORDS:
        raise DownloadError(f"unknown download {what!r}; choose one of {', '.join(RECORDS)}")
    files = list_record(RECORDS[what], api_url=api_url, timeout=timeout)
    chosen = select_files(what, files, cells=cells, patterns=patterns)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    folder = folder / what
    folder.mkdir(parents=True, exist_ok=True)
    _write_record(folder, RECORDS[what], files)
    return [download_file(remote, folder / remote.key, timeout=timeout, progress=progress) for remote in chosen]


def published_cell(reference: str) -> str | None:
    """``E003`` for a reference such as ``E003`` or ``e003``; None when it is not a cell name."""
    return reference.upper() if _CELL.match(reference) else None


def cached_weights(cell: str, cache_dir: str | Path | None = None) -> Path:
    """The cached published weights of ``cell``, checked against the md5 recorded at download.

    Raises
    ------
    CheckpointError
        When they are not cached (saying how to fetch them) or no longer match their md5.
    """
    cell = cell.upper()
    folder = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / "weights"
    candidates = sorted(folder.glob(f"{cell}_*.pt")) if folder.is_dir() else []
    exact = [p for p in candidates if WEIGHTS_FILE.match(p.name)]
    if not (exact or candidates):
        raise CheckpointError(
            f"{cell}: no such run directory or checkpoint file, and no published weights for {cell} in {folder}; "
            f"fetch them with `attentivechrome download weights --cell {cell}`"
        )
    path = (exact or candidates)[0]
    expected = _recorded_md5(folder, path.name)
    if expected is not None and md5sum(path) != expected:
        raise CheckpointError(f"{path}: does not match the md5 recorded at download ({expected}); fetch it again with `attentivechrome download weights --cell {cell}`")
    return path


def md5sum(path: str | Path) -> str:
    """Hex md5 of a file (:func:`pooch.file_hash`)."""
    import pooch

    return pooch.file_hash(str(path), alg="md5")


# --------------------------------------------------------------------------- helpers


def _open(url: str, *, timeout: float, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers={"User-Agent": f"attentivechrome/{__version__}", **(headers or {})})
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) URLs from the records API
    except urllib.error.HTTPError as err:
        raise DownloadError(f"{url}: the server answered HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, socket.timeout, ConnectionError) as err:
        reason = getattr(err, "reason", err)
        raise DownloadError(f"{url}: cannot connect ({reason}); check the network, or set {API_ENV} to another records API") from err


class _ResumingDownloader:
    """A pooch downloader that continues ``part`` with an HTTP range request, then hands the whole file to pooch.

    Pooch calls it with the temporary file it will verify and move into place; the bytes are
    gathered in ``part`` (kept when the transfer stops early, so the next call resumes) and moved
    onto that temporary file once the record's size is reached. ``digest`` is the md5 of the file
    handed over, for the message when pooch finds it does not match.
    """

    def __init__(self, remote: RemoteFile, part: Path, *, timeout: float, progress: bool | None) -> None:
        self.remote, self.part, self.timeout, self.progress = remote, part, timeout, progress
        self.digest = ""

    def __call__(self, url: str, output_file: str, _pooch=None) -> None:
        remote, part = self.remote, self.part
        offset = part.stat().st_size if part.is_file() else 0
        if remote.size is not None and offset > remote.size:
            part.unlink()
            offset = 0
        if remote.size is None or offset < remote.size:
            _fetch(remote, part, offset, timeout=self.timeout, progress=self.progress)
        size = part.stat().st_size
        if remote.size is not None and size < remote.size:
            raise DownloadError(f"{remote.key}: download stopped after {size} of {remote.size} bytes; run the command again to resume")
        if remote.size is not None and size > remote.size:
            part.unlink()
            raise DownloadError(f"{remote.key}: received {size} bytes but the record lists {remote.size}; the damaged file was deleted, run again to retry")
        self.digest = md5sum(part)
        os.replace(part, output_file)  # pooch checks it against the md5, then moves it into place or deletes it


def _fetch(remote: RemoteFile, part: Path, offset: int, *, timeout: float, progress: bool | None) -> None:
    """Append the remote bytes from ``offset`` to ``part`` (restart from 0 when the server ignores the range)."""
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        response = _open(remote.url, timeout=timeout, headers=headers)
    except DownloadError as err:
        if offset and "HTTP 416" in str(err):  # the range starts at the end: nothing left to fetch
            return
        raise
    with response:
        resumed = offset > 0 and response.status == 206
        if not resumed:
            offset = 0
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None and length.isdigit() else None
        total = remote.size if remote.size is not None else (offset + expected if expected is not None else 0)
        received = 0
        with open(part, "ab" if resumed else "wb") as handle, _progress.progress_bar(total, remote.key, enabled=progress) as advance:
            advance(offset)
            try:
                while True:
                    block = response.read(_CHUNK)
                    if not block:
                        break
                    handle.write(block)
                    received += len(block)
                    advance(len(block))
            except http.client.IncompleteRead as err:
                handle.write(err.partial)
                received += len(err.partial)
            except (OSError, http.client.HTTPException) as err:
                handle.flush()
                raise DownloadError(
                    f"{remote.key}: download interrupted after {offset + received} bytes ({err}); run the command again to resume"
                ) from err
    if expected is not None and received < expected:
        raise DownloadError(f"{remote.key}: download stopped after {offset + received} of {offset + expected} bytes; run the command again to resume")


def _write_record(folder: Path, record_id: int, files: Sequence[RemoteFile]) -> None:
    listing = {"record": record_id, "files": [asdict(f) for f in files]}
    write_text_atomic(folder / RECORD_FILE, json.dumps(listing, indent=2) + "\n")


def _recorded_md5(folder: Path, name: str) -> str | None:
    record = folder / RECORD_FILE
    if not record.is_file():
        return None
    try:
        listing = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    entries = listing.get("files") if isinstance(listing, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("key") == name and isinstance(entry.get("md5"), str):
            return entry["md5"]
    return None


def _preview(names: Sequence[str], limit: int = 6) -> str:
    names = list(names)
    head = ", ".join(names[:limit])
    return head if len(names) <= limit else f"{head}, ... ({len(names)} in all)"
