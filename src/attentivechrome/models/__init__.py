"""Model classes and the registry that names them.

:data:`MODEL_CATALOG` (:mod:`attentivechrome.model_catalog`) is plain data, so the command line
lists and checks model names without importing PyTorch; the classes, :data:`MODEL_REGISTRY`,
:func:`get_model` and :func:`model_name_of` are imported from :mod:`attentivechrome.models.registry`
on first use.
"""

from __future__ import annotations

import importlib

from ..model_catalog import MODEL_CATALOG, ModelEntry, available_models, check_model_name

#: Names looked up in the registry on first use: its functions, and every model class by its class name.
_LAZY = {"MODEL_CLASSES", "MODEL_REGISTRY", "get_model", "model_name_of", "ModelOutput", *(entry.cls for entry in MODEL_CATALOG.values())}

__all__ = ["MODEL_CATALOG", "ModelEntry", "available_models", "check_model_name", *sorted(_LAZY)]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(".registry", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
