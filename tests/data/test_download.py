"""``download``: record listing, checksums, resume, cache, and ``--model E003`` -- against a local HTTP server.

Nothing here touches the network: a server on 127.0.0.1 plays Zenodo's records API and
serves a good file, a corrupted one (right size, wrong bytes) and a truncated one (the
connection closes half-way on the first request, then range requests are honoured).
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import threading

import pytest
import torch

from attentivechrome.cli.main import main
from attentivechrome.data import download as dl
from attentivechrome.exceptions import CheckpointError
from attentivechrome.models import get_model
from attentivechrome.trained import load_model as resolve_model

REFERENCE_MD5 = "9b4ff730ac5e70265f7a78162fa76768"


def _weights_bytes(seed: int) -> bytes:
    torch.manual_seed(seed)
    buffer = io.BytesIO()
    torch.save(get_model("attentivechrome").state_dict(), buffer)
    return buffer.getvalue()


class _Zenodo:
    """State of the fake server: files by key, what each request asked for."""

    def __init__(self):
        self.files: dict[str, bytes] = {
            "E003_attchrome_avgAUC_model.pt": _weights_bytes(0),
            "E004_attchrome_avgAUC_model.pt": _weights_bytes(1),
            "E005_attchrome_avgAUC_model.pt": _weights_bytes(2),
            "README.txt": b"published weights\n",
        }
        self.data_files = {"data.zip": b"PK-not-really-a-zip" * 100}
        self.corrupt = {"E004_attchrome_avgAUC_model.pt"}  # served with one byte changed
        self.truncate_once = {"E005_attchrome_avgAUC_model.pt"}  # first request cut in half
        self.omit_md5: set[str] = set()
        self.mangle = None  # a function applied to the listed entries (hand-broken records)
        self.requests: list[tuple[str, str | None]] = []
        self.base = ""

    def record(self, record_id: int) -> dict:
        files = self.files if record_id == dl.RECORDS["weights"] else self.data_files
        entries = []
        for key, content in files.items():
            entry = {"key": key, "size": len(content), "links": {"self": f"{self.base}/files/{record_id}/{key}"}}
            if key not in self.omit_md5:
                entry["checksum"] = "md5:" + hashlib.md5(content).hexdigest()
            entries.append(entry)
        if self.mangle is not None:
            entries = self.mangle(entries)
        return {"id": record_id, "files": entries}


def _handler(state: _Zenodo):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def do_GET(self):
            state.requests.append((self.path, self.headers.get("Range")))
            parts = self.path.strip("/").split("/")
            if parts[:2] == ["api", "records"] and len(parts) == 3:
                body = json.dumps(state.record(int(parts[2]))).encode()
                return self._send(200, body, {"Content-Type": "application/json"})
            if parts[0] == "files" and len(parts) == 3:
                content = {**state.files, **state.data_files}.get(parts[2])
                if content is None:
                    return self._send(404, b"not found")
                if parts[2] in state.corrupt:
                    content = content[:-1] + bytes([content[-1] ^ 0xFF])
                if parts[2] in state.truncate_once:
                    state.truncate_once.discard(parts[2])
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content[: len(content) // 2])
                    self.close_connection = True
                    return None
                start = 0
                if self.headers.get("Range", "").startswith("bytes="):
                    start = int(self.headers["Range"][6:].split("-")[0])
                    return self._send(206, content[start:], {"Content-Range": f"bytes {start}-{len(content) - 1}/{len(content)}"})
                return self._send(200, content)
            return self._send(404, b"not found")

        def _send(self, code, body, headers=None):
            self.send_response(code)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def zenodo(tmp_path, monkeypatch):
    """A fake records API on 127.0.0.1; the package cache points at a temporary directory."""
    state = _Zenodo()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv(dl.API_ENV, state.base + "/api")
    monkeypatch.setenv("ATTENTIVECHROME_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ATTENTIVECHROME_NO_PROGRESS", "1")
    yield state
    server.shutdown()
    server.server_close()


def _file_requests(state, key):
    return [r for r in state.requests if r[0].endswith("/" + key)]


def test_download_verifies_and_reuses_the_cache(zenodo, tmp_path):
    [path] = dl.download("weights", cells=["e003"], progress=False)
    assert path == tmp_path / "cache" / "published" / "weights" / "E003_attchrome_avgAUC_model.pt"
    assert path.read_bytes() == zenodo.files[path.name]
    listing = json.loads((path.parent / "record.json").read_text())
    assert listing["record"] == 2616712 and len(listing["files"]) == 4
    assert dl.download("weights", cells=["E003"], progress=False) == [path]
    assert len(_file_requests(zenodo, path.name)) == 1  # the second call used the verified cache


def test_corrupted_download_is_caught_and_deleted(zenodo, tmp_path):
    with pytest.raises(dl.DownloadError, match=r"E004_attchrome_avgAUC_model\.pt: checksum mismatch \(md5 [0-9a-f]{32}, the record lists [0-9a-f]{32}\); the damaged file was deleted"):
        dl.download("weights", cells=["E004"], progress=False)
    folder = tmp_path / "cache" / "published" / "weights"
    assert sorted(p.name for p in folder.iterdir()) == ["record.json"]


def test_truncated_download_is_never_used_and_resumes(zenodo, tmp_path):
    key = "E005_attchrome_avgAUC_model.pt"
    size = len(zenodo.files[key])
    with pytest.raises(dl.DownloadError, match=rf"{key}: download stopped after {size // 2} of {size} bytes; run the command again to resume"):
        dl.download("weights", cells=["E005"], progress=False)
    folder = tmp_path / "cache" / "published" / "weights"
    assert not (folder / key).exists()
    assert (folder / f"{key}.part").stat().st_size == size // 2
    assert sorted(p.name for p in folder.iterdir()) == [f"{key}.part", "record.json"]  # no temporary file of the fetch left behind
    with pytest.raises(CheckpointError, match="no published weights for E005"):
        resolve_model("E005")  # the partial file is not a model
    [path] = dl.download("weights", cells=["E005"], progress=False)
    assert path.read_bytes() == zenodo.files[key]
    assert _file_requests(zenodo, key)[-1][1] == f"bytes={size // 2}-"  # resumed, not restarted
    assert not (folder / f"{key}.part").exists()


def test_damaged_cached_copy_is_replaced(zenodo, tmp_path):
    [path] = dl.download("weights", cells=["E003"], progress=False)
    path.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="does not match the md5 recorded at download"):
        resolve_model("E003")
    assert dl.download("weights", cells=["E003"], progress=False)[0].read_bytes() == zenodo.files[path.name]


def test_selection_errors(zenodo):
    with pytest.raises(dl.DownloadError, match="no published weights for E999; cells with weights: E003, E004, E005"):
        dl.download("weights", cells=["E999"], progress=False)
    with pytest.raises(dl.DownloadError, match=r"no file matches \*\.tar; the files are data\.zip"):
        dl.download("data", patterns=["*.tar"], progress=False)
    zenodo.omit_md5.add("data.zip")
    with pytest.raises(dl.DownloadError, match="no md5 checksum listed for data.zip; refusing a download that cannot be verified"):
        dl.download("data", progress=False)


def test_data_record_and_unreachable_api(zenodo, tmp_path):
    [path] = dl.download("data", progress=False)
    assert path == tmp_path / "cache" / "published" / "data" / "data.zip"
    with pytest.raises(dl.DownloadError, match="cannot connect"):
        dl.list_record(1, api_url="http://127.0.0.1:9/api", timeout=5)


def test_resolve_model_by_cell_name(zenodo):
    with pytest.raises(CheckpointError, match=r"fetch them with `attentivechrome download weights --cell E003`"):
        resolve_model("E003")
    dl.download("weights", cells=["E003"], progress=False)
    loaded = resolve_model("E003")
    assert loaded.legacy and loaded.model_name == "attentivechrome"
    with pytest.raises(CheckpointError, match="no such run directory or checkpoint file"):
        resolve_model("not-a-cell")


def test_cli_download_and_errors(zenodo, capsys, tmp_path):
    def cli(*args):
        with pytest.raises(SystemExit) as stop:
            main(list(args))
        return stop.value.code or 0

    assert cli("download", "weights", "--list") == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in listed] == [f"E00{i}_attchrome_avgAUC_model.pt" for i in (3, 4, 5)]
    assert cli("download", "weights", "--cell", "E003", "-q") == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "cache" / "published" / "weights" / "E003_attchrome_avgAUC_model.pt")
    assert cli("download", "weights", "--cell", "E004", "-q") == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "checksum mismatch" in err
    assert cli("download", "everything") == 2
    assert "choose one of data, weights" in capsys.readouterr().err


def test_published_reference_checkpoint_by_cell_name(zenodo, shared_data, capsys):
    # Serve the original project's E003 weights; after download, `--model E003` reproduces its AUROC.
    zenodo.files["E003_attchrome_avgAUC_model.pt"] = (shared_data / "reference-checkpoint-E003.pt").read_bytes()
    [path] = dl.download("weights", cells=["E003"], progress=False)
    assert dl.md5sum(path) == REFERENCE_MD5
    with pytest.raises(SystemExit) as stop:
        main(["evaluate", "--model", "E003", "--input", str(shared_data / "remc-e003" / "classification" / "test.csv")])
    assert (stop.value.code or 0) == 0
    assert "AUROC     0.8972" in capsys.readouterr().out


@pytest.mark.parametrize(
    "mangle,message",
    [
        (lambda e: [*e[:1], "README.txt"], r"file entry 2 of the record is a str, expected an object with key, size, checksum and links"),
        (lambda e: [{**e[0], "size": "big"}], r"the record gives the size of E003_attchrome_avgAUC_model.pt as 'big', not a number of bytes"),
        (lambda e: [{**e[0], "size": -5}], r"the record gives the size of .* as -5, not a number of bytes"),
        (lambda e: [{**e[0], "key": 3}], r"file entry 1 of the record has an unusable name 3"),
        (lambda e: [{**e[0], "links": ["http://x"]}], r"no download link listed for E003_attchrome_avgAUC_model.pt"),
        (lambda e: [{**e[0], "checksum": ["md5", "0" * 32]}], r"no md5 checksum listed for E003"),
    ],
)
def test_malformed_record_entries_are_named(zenodo, mangle, message):
    zenodo.mangle = mangle
    with pytest.raises(dl.DownloadError, match=r"/records/2616712: " + message):
        dl.download("weights", cells=["E003"], progress=False)


def test_a_size_written_as_text_is_read(zenodo):
    zenodo.mangle = lambda entries: [{**entry, "size": str(entry["size"])} for entry in entries]
    [path] = dl.download("weights", cells=["E003"], progress=False)
    assert path.read_bytes() == zenodo.files["E003_attchrome_avgAUC_model.pt"]


def test_a_damaged_local_record_does_not_crash_the_cache_lookup(zenodo, tmp_path):
    [path] = dl.download("weights", cells=["E003"], progress=False)
    for damaged in ("[1, 2]", '{"files": 3}', '{"files": [7, {"key": 1}]}'):
        (path.parent / "record.json").write_text(damaged)
        assert dl.cached_weights("E003") == path
