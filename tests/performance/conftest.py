"""Keep this directory's cache files (compiled kernels, binary CSV copies) out of the user's cache."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    previous = os.environ.get("ATTENTIVECHROME_CACHE_DIR")
    os.environ["ATTENTIVECHROME_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if previous is None:
        os.environ.pop("ATTENTIVECHROME_CACHE_DIR", None)
    else:
        os.environ["ATTENTIVECHROME_CACHE_DIR"] = previous
