"""Reading, writing and simulating histone-mark data.

The names below are imported on first use, so that ``attentivechrome.data.schema`` (read by the
command line at start-up) costs nothing more than itself.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "HistoneData": ".dataset",
    "apply_transform": ".dataset",
    "MARKS": ".schema",
    "read_csv": ".csv_io",
    "write_csv": ".csv_io",
    "read_csv_cached": "._cache",
    "split_paths": ".layout",
    "cell_name": ".layout",
    "load_splits": ".layout",
    "load_regression_splits": ".layout",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
