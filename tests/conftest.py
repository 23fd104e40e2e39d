"""Shared fixtures: the shared real data, simulated data sets, an Agg pyplot."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("ATTENTIVECHROME_NO_PROGRESS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

#: ../shared/data beside the checkout (CI has it too); override with ATTENTIVECHROME_SHARED_DATA.
SHARED_DATA = Path(os.environ.get("ATTENTIVECHROME_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real data directory; tests using it are skipped when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory) -> Path:
    """A small simulated data directory (600 genes, 100 bins, seed 0) with its ground truth."""
    from attentivechrome.data.synthetic import write_simulation

    out = tmp_path_factory.mktemp("sim")
    write_simulation(out, 600, 100, seed=0)
    return out


@pytest.fixture
def pyplot():
    """matplotlib.pyplot on the Agg backend; closes every figure afterwards."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    """Keep the suite's cache files (compiled kernels, binary CSV copies) out of the user's cache.

    The processes of one ``-n`` run share one cache (the directory above each one's base
    temporary directory), so each kernel is compiled and each CSV converted once per run, not
    once per process; entries are written atomically, so processes may race for one safely.
    """
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared-cache"
    shared.mkdir(exist_ok=True)
    previous = os.environ.get("ATTENTIVECHROME_CACHE_DIR")
    os.environ["ATTENTIVECHROME_CACHE_DIR"] = str(shared)
    yield
    if previous is None:
        os.environ.pop("ATTENTIVECHROME_CACHE_DIR", None)
    else:
        os.environ["ATTENTIVECHROME_CACHE_DIR"] = previous


@pytest.fixture(scope="module")
def one_torch_thread():
    """One PyTorch thread for a module: tiny LSTMs run many times faster on one thread than on two busy cores."""
    from attentivechrome import _settings

    with _settings.torch_threads(1):
        yield


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
