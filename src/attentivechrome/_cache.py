"""Where the package keeps files it can rebuild: compiled kernels and binary copies of CSV files."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that moves the cache (default: ``$XDG_CACHE_HOME/attentivechrome`` or ``~/.cache/attentivechrome``).
CACHE_ENV = "ATTENTIVECHROME_CACHE_DIR"


def cache_root() -> Path:
    """The cache directory (not created here); everything in it can be deleted at any time."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "attentivechrome"
