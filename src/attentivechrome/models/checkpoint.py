"""The checkpoint file format: our self-describing checkpoint and the original's bare state_dicts.

Our checkpoint is one torch zip file holding a plain dict (format version 2)::

    {"format": "attentivechrome-checkpoint", "format_version": 2, "package_version": ...,
     "model_name": ..., "model_params": {...}, "marks": [...], "n_bins": int | None,
     "state_dict": {...},
     "task": "classification" | "regression", "target_scale": {"mean": ..., "std": ...} | None,
     "normalization": {"kind": ..., "marks": [...], "reference_mean": [...], "reference_quantiles": [[...]]} | None,
     "train_config": {...} | None, "epoch": int | None}

Version 1 files kept the task, target scale and epoch in an ``extra`` dict; they are read into
the same fields. Version 2 files still carry that ``extra`` dict, a copy for package versions
that read only version 1 (so they decode a regression model as one); this version ignores it. Everything loads with ``torch.load(weights_only=True)``: no arbitrary object is
ever unpickled. :class:`attentivechrome.trained.TrainedModel` is the object users hold; this
module only reads and writes the file.
"""

from __future__ import annotations

import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from .._io import atomic_path
from .._version import __version__
from ..data.schema import MARKS
from ..exceptions import CheckpointError
from .registry import MODEL_REGISTRY, get_model, model_name_of

CHECKPOINT_FORMAT = "attentivechrome-checkpoint"
FORMAT_VERSION = 2
#: Bins per gene of every original (legacy) AttentiveChrome checkpoint.
ORIGINAL_N_BINS = 100
#: File name of the selected model inside a run directory.
RUN_MODEL_FILE = "model.pt"


#: Keys of the payload that describe how the model is used, beyond the module itself.
METADATA_KEYS = ("task", "target_scale", "normalization", "train_config", "epoch")


@dataclass
class CheckpointContents:
    """What a checkpoint file holds: the rebuilt module, what it reads, and its metadata.

    ``metadata`` holds the :data:`METADATA_KEYS` found in the file (version 1 files are
    translated); :class:`attentivechrome.trained.TrainedModel` gives them types.
    """

    model: nn.Module
    model_name: str
    marks: tuple[str, ...]
    n_bins: int | None
    source: str
    legacy: bool = False
    metadata: dict = field(default_factory=dict)


def save_checkpoint(
    model: nn.Module,
    path: str | Path,
    *,
    marks: tuple[str, ...] = MARKS,
    n_bins: int | None = None,
    metadata: dict | None = None,
) -> None:
    """Write ``model`` and its description to ``path`` atomically (torch zip format).

    ``metadata`` holds plain values for the :data:`METADATA_KEYS` (see the module docstring).
    """
    unknown = set(metadata or {}) - set(METADATA_KEYS)
    if unknown:
        raise ValueError(f"unknown checkpoint metadata {', '.join(sorted(unknown))}; known: {', '.join(METADATA_KEYS)}")
    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "model_name": model_name_of(model),
        "model_params": model.init_params(),
        "marks": list(marks),
        "n_bins": n_bins,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **{key: (metadata or {}).get(key) for key in METADATA_KEYS},
        "extra": _version_1_extra(metadata or {}),
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def read_checkpoint(path: str | Path, *, map_location: str | torch.device = "cpu") -> CheckpointContents:
    """Load a model from a run directory, one of our checkpoints, or an original AttentiveChrome state_dict.

    Raises
    ------
    CheckpointError
        When the file is missing, is not a checkpoint, or its tensors do not fit the model.
    """
    path = Path(path)
    if path.is_dir():
        if not (path / RUN_MODEL_FILE).is_file():
            raise CheckpointError(f"{path}: run directory without {RUN_MODEL_FILE}; pass a run directory written by `train` or a .pt file")
        path = path / RUN_MODEL_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: no such model file or run directory")
    with path.open("rb") as handle:
        head = handle.read(4)
    # torch files are zip archives (PK..) or legacy pickles (protocol marker 0x80); anything else
    # (a CSV passed by mistake, say) gets a plain message instead of torch's unpickler advice.
    if not (head.startswith(b"PK\x03\x04") or head[:1] == b"\x80"):
        raise CheckpointError(f"{path}: not a PyTorch checkpoint (neither a torch zip archive nor a legacy pickle)")
    try:
        with warnings.catch_warnings():
            # torch warns that legacy files use pickle protocol 4; the original checkpoints all do.
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f"{path}: not a checkpoint of tensors and plain containers; other Python objects are never unpickled, for safety"
        ) from err
    except Exception as err:  # torch.load raises many types on foreign or truncated bytes (struct.error, RuntimeError, ...)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({first})") from err
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        return _from_payload(obj, path)
    if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return _from_legacy_state_dict(obj, path)
    raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a model checkpoint or a state_dict of tensors")


def _from_payload(payload: dict, path: Path) -> CheckpointContents:
    name = payload.get("model_name")
    if name not in MODEL_REGISTRY:
        raise CheckpointError(f"{path}: model {name!r} is not known to this version; known: {', '.join(sorted(MODEL_REGISTRY))}")
    model = get_model(name, **payload.get("model_params", {}))
    _load_state(model, payload["state_dict"], path)
    return CheckpointContents(
        model=model.eval(),
        model_name=name,
        marks=tuple(payload.get("marks", MARKS)),
        n_bins=payload.get("n_bins"),
        source=str(path),
        metadata=_metadata(payload),
    )


def _version_1_extra(metadata: dict) -> dict:
    """What a version 1 reader needs of the metadata: the epoch, and the task and target scale of a regression model."""
    extra = {} if metadata.get("epoch") is None else {"epoch": metadata["epoch"]}
    scale = metadata.get("target_scale")
    if metadata.get("task") == "regression" and scale is not None:
        extra |= {"task": "regression", "target_mean": scale["mean"], "target_std": scale["std"]}
    return extra


def _metadata(payload: dict) -> dict:
    """The metadata of a payload; version 1 kept the task, target scale and epoch in ``extra``."""
    if payload.get("format_version", 1) >= 2:
        return {key: payload[key] for key in METADATA_KEYS if payload.get(key) is not None}
    extra = payload.get("extra") or {}
    metadata = {"task": extra.get("task", "classification"), "epoch": extra.get("epoch")}
    if "target_mean" in extra:
        metadata["target_scale"] = {"mean": float(extra["target_mean"]), "std": float(extra.get("target_std", 1.0))}
    return {k: v for k, v in metadata.items() if v is not None}


def _from_legacy_state_dict(state: dict, path: Path) -> CheckpointContents:
    """Rebuild the AttentiveChrome sizes from the tensor shapes of an original checkpoint."""
    mark_ids = {int(m.group(1)) for k in state if (m := re.match(r"rnn_hms\.(\d+)\.", k))}
    try:
        bin_hidden = state["rnn_hms.0.rnn.weight_hh_l0"].shape[1]
        mark_hidden = state["hm_level_rnn_1.rnn.weight_hh_l0"].shape[1]
    except KeyError as err:
        raise CheckpointError(f"{path}: a state_dict without the AttentiveChrome tensor {err.args[0]!r}; not an AttentiveChrome checkpoint") from None
    n_marks = len(mark_ids)
    model = get_model("attentivechrome", n_marks=n_marks, bin_hidden=bin_hidden, mark_hidden=mark_hidden)
    _load_state(model, state, path)
    marks = MARKS if n_marks == len(MARKS) else tuple(f"mark{i + 1}" for i in range(n_marks))
    # The original project trained every published model on its fixed 100-bin layout (TSS +/- 5 kb).
    return CheckpointContents(
        model=model.eval(), model_name="attentivechrome", marks=marks, n_bins=ORIGINAL_N_BINS, source=str(path), legacy=True
    )


def _load_state(model: nn.Module, state: dict, path: Path) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(expected[k].shape)})" for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:3])}{' ...' if len(unexpected) > 3 else ''}")
        if wrong:
            parts.append(f"wrong shapes: {', '.join(wrong[:3])}")
        raise CheckpointError(f"{path}: tensors do not fit the model: {'; '.join(parts)}")
    model.load_state_dict(state)


def resolve_checkpoint(reference: str | Path) -> CheckpointContents:
    """Load a model named by the user: a run directory, a checkpoint file, or a cell name
    (``E003``) whose published weights ``attentivechrome download weights`` cached.

    This is the one place the CLI turns a ``--model`` value into a model, so other
    sources (e.g. cached published weights by cell name) are added here.
    """
    path = Path(reference)
    if path.exists():
        return read_checkpoint(path)
    from ..data.download import cached_weights, published_cell

    cell = published_cell(str(reference))
    if cell is not None:  # a cell name such as E003: the published weights, once downloaded
        return read_checkpoint(cached_weights(cell))
    raise CheckpointError(f"{reference}: no such run directory or checkpoint file")
