"""The checkpoint file format: our self-describing checkpoint and the original's bare state_dicts.

Our checkpoint is one torch zip file holding a plain dict (format version 2, or 3 for an ensemble)::

    {"format": "attentivechrome-checkpoint", "format_version": 2, "package_version": ...,
     "model_name": ..., "model_params": {...}, "marks": [...], "n_bins": int | None,
     "state_dict": {...},
     "task": "classification" | "regression", "target_scale": {"mean": ..., "std": ...} | None,
     "normalization": {"kind": ..., "marks": [...], "reference_mean": [...], "reference_quantiles": [[...]]} | None,
     "train_config": {...} | None, "epoch": int | None}

An ensemble (:class:`~attentivechrome.models.ensemble.Ensemble`, ``train --ensemble N``) is written as
version 3: ``model_name`` and ``model_params`` describe each member (they are built alike), the
``state_dict`` holds their weights under ``members.<i>.``, and ``"ensemble": {"members": N}`` says
how many; a single model is still written as version 2, so that older versions read it.
Version 1 files kept the task, target scale and epoch in an ``extra`` dict; they are read into
the same fields (version 2 files written by 0.1 also carry a copy of it, which is ignored).
Everything loads with ``torch.load(weights_only=True)``: no arbitrary object is ever unpickled. :class:`attentivechrome.trained.TrainedModel` is the object users hold; this
module only reads and writes the file.
"""

from __future__ import annotations

import inspect
import math
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
from ..run_directory import RunDirectory
from .ensemble import Ensemble
from .registry import MODEL_REGISTRY, get_model, model_name_of

CHECKPOINT_FORMAT = "attentivechrome-checkpoint"
FORMAT_VERSION = 3
#: The version written for a single model (an ensemble needs version 3, which older readers refuse plainly).
SINGLE_MODEL_VERSION = 2
#: Bins per gene of every original (legacy) AttentiveChrome checkpoint.
ORIGINAL_N_BINS = 100


#: Most members an ensemble checkpoint may hold (a bound on what a damaged file can make us build).
MAX_MEMBERS = 64

#: Keys of the payload that describe how the model is used, beyond the module itself.
METADATA_KEYS = ("task", "target_scale", "normalization", "train_config", "epoch", "reference")


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
    An :class:`~attentivechrome.models.ensemble.Ensemble` is written with its members' weights.
    """
    unknown = set(metadata or {}) - set(METADATA_KEYS)
    if unknown:
        raise ValueError(f"unknown checkpoint metadata {', '.join(sorted(unknown))}; known: {', '.join(METADATA_KEYS)}")
    ensemble = isinstance(model, Ensemble)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION if ensemble else SINGLE_MODEL_VERSION,
        "package_version": __version__,
        "model_name": model_name_of(model.members[0] if ensemble else model),
        "model_params": model.init_params(),
        "marks": list(marks),
        "n_bins": n_bins,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        **{key: (metadata or {}).get(key) for key in METADATA_KEYS},
    }
    if ensemble:
        payload["ensemble"] = {"members": model.n_members}
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
        run = RunDirectory(path)
        if not run.model.is_file():
            raise CheckpointError(f"{path}: run directory without {run.MODEL}; pass a run directory written by `train` or a .pt file")
        path = run.model
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
    checked = validate_payload(payload, path)
    name, state = checked["model_name"], checked["state_dict"]
    model = _build(name, checked["model_params"], state, path, n_members=checked["n_members"])
    return CheckpointContents(
        model=model.eval(),
        model_name=name,
        marks=checked["marks"],
        n_bins=checked["n_bins"],
        source=str(path),
        metadata=checked["metadata"],
    )


def validate_payload(payload: dict, path: str | Path) -> dict:
    """Check every field of one of our checkpoint payloads; return them typed and complete.

    This is the one place a checkpoint's contents are checked, so that a hand-edited or damaged
    file fails with a :class:`CheckpointError` naming the file and the field, never a ``KeyError``
    or ``TypeError`` from deeper in. Returns ``model_name``, ``model_params``, ``state_dict``,
    ``marks``, ``n_bins``, ``n_members`` (0 for a single model, N for an ensemble of N) and
    ``metadata`` (the :data:`METADATA_KEYS` present, checked).

    Raises
    ------
    CheckpointError
        Naming the file and what is wrong: a missing or ill-typed field, an unknown model or
        model parameter, a non-finite weight, a metadata value of the wrong kind.
    """

    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"{path}: {what} (a damaged or hand-edited checkpoint?)")

    version = payload.get("format_version", 1)
    if not _is_int(version) or version < 1:
        raise bad(f"format_version must be a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: format_version {version} is newer than this version of attentivechrome reads (1 to {FORMAT_VERSION}); "
            f"update attentivechrome (this is {__version__}), or save the model again with the version that wrote it"
        )
    name = payload.get("model_name")
    if not isinstance(name, str) or name not in MODEL_REGISTRY:
        raise CheckpointError(f"{path}: model {name!r} is not known to this version; known: {', '.join(sorted(MODEL_REGISTRY))}")
    params = payload.get("model_params")
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise bad(f"model_params must be a dict of constructor arguments, got {type(params).__name__}")
    accepted = [p for p in inspect.signature(MODEL_REGISTRY[name]).parameters if p != "self"]
    accepted += [] if "n_prior" in accepted else ["n_prior"]  # every model can read a reference prior (see get_model)
    unknown = sorted(str(k) for k in params if k not in accepted)
    if unknown:
        raise bad(f"model_params names {', '.join(unknown)}, which {name} does not take; it takes {', '.join(accepted)}")
    for key, value in params.items():
        if not _is_plain(value):
            raise bad(f"model_params {key} must be a number, string or list of them, got {type(value).__name__}")
    if "state_dict" not in payload:
        raise bad("holds no state_dict (the model's weights)")
    state = _checked_state_dict(payload["state_dict"], path)
    marks = payload.get("marks", list(MARKS))
    if not isinstance(marks, (list, tuple)) or not marks or not all(isinstance(m, str) and m for m in marks):
        raise bad(f"marks must be a non-empty list of mark names, got {marks!r}")
    if len({m.lower() for m in marks}) != len(marks):
        raise bad(f"marks names a mark twice: {', '.join(marks)}")
    if "n_marks" in params and params["n_marks"] != len(marks):
        raise bad(f"model_params n_marks is {params['n_marks']!r} but marks names {len(marks)} marks")
    n_bins = payload.get("n_bins")
    if n_bins is not None and (not _is_int(n_bins) or n_bins < 1):
        raise bad(f"n_bins must be a positive integer or null, got {n_bins!r}")
    extra = payload.get("extra")
    if extra is not None and not isinstance(extra, dict):
        raise bad(f"extra must be a dict, got {type(extra).__name__}")
    ensemble = payload.get("ensemble") if version >= 3 else None
    n_members = 0
    if ensemble is not None:
        n_members = ensemble.get("members") if isinstance(ensemble, dict) else None
        if not _is_int(n_members) or not 1 <= n_members <= MAX_MEMBERS:
            raise bad(f"ensemble must be {{'members': an integer from 1 to {MAX_MEMBERS}}}, got {ensemble!r:.200}")
    return {
        "model_name": name,
        "model_params": dict(params),
        "state_dict": state,
        "marks": tuple(marks),
        "n_bins": n_bins,
        "n_members": n_members,
        "metadata": _checked_metadata(_metadata(payload), bad),
    }


def _checked_state_dict(state, path: str | Path) -> dict[str, torch.Tensor]:
    """``state`` when it is a dict of named tensors with finite floating values."""
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: state_dict must be a dict of named tensors, got {type(state).__name__} (a damaged or hand-edited checkpoint?)")
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(
                f"{path}: state_dict entry {key!r} is a {type(value).__name__}, expected a tensor named by a string (a damaged or hand-edited checkpoint?)"
            )
    return state


def _check_finite(state: dict[str, torch.Tensor], names, path: str | Path) -> None:
    """Refuse NaN or infinite values in the learned parameters ``names`` (buffers may hold inf by design, e.g. tree thresholds)."""
    for key in names:
        value = state.get(key)
        if value is not None and (value.is_floating_point() or value.is_complex()) and not bool(torch.isfinite(value).all()):
            count = int((~torch.isfinite(value)).sum())
            raise CheckpointError(
                f"{path}: the weights hold NaN or infinite values ({count} in {key}); such a model predicts nothing usable "
                "(its training diverged, or the file is damaged); retrain it, e.g. with a lower --lr"
            )


def _checked_metadata(metadata: dict, bad) -> dict:
    """The metadata with each value checked (its type, and that it builds what it describes)."""
    from ..config import TrainConfig
    from ..data.normalize import Normalization
    from ..data.schema import NORMALIZATIONS, TASKS
    from ..tasks import get_task

    task = metadata.get("task", "classification")
    if task not in TASKS:
        raise bad(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    scale = metadata.get("target_scale")
    if get_task(task).regresses and scale is None:
        raise bad(f"a {task} model without target_scale (the mean and std of its training targets): its predictions could not be put back on the log1p-expression scale")
    if scale is not None:
        if not isinstance(scale, dict) or not all(_is_number(scale.get(k)) for k in ("mean", "std")):
            raise bad(f"target_scale must be {{'mean': number, 'std': number}}, got {scale!r}")
        if not all(math.isfinite(float(scale[k])) for k in ("mean", "std")) or float(scale["std"]) <= 0:
            raise bad(f"target_scale needs a finite mean and a finite positive std, got {scale!r}")
    normalization = metadata.get("normalization")
    if normalization is not None:
        try:
            parsed = Normalization.from_dict(normalization) if isinstance(normalization, dict) else None
            ok = (
                parsed is not None and isinstance(parsed.kind, str) and parsed.kind in NORMALIZATIONS
                and all(isinstance(m, str) for m in parsed.marks) and len(parsed.reference_mean) in (0, len(parsed.marks))
            )  # fmt: skip
        except Exception:  # noqa: BLE001 - whatever the values, they do not describe a normalisation
            ok = False
        if not ok:
            raise bad(f"normalization must be a dict with kind ({', '.join(NORMALIZATIONS)}), marks and reference values, got {normalization!r:.200}")
    config = metadata.get("train_config")
    if config is not None:
        if not isinstance(config, dict):
            raise bad(f"train_config must be a dict of training settings, got {type(config).__name__}")
        try:
            TrainConfig.from_dict(config)
        except (TypeError, ValueError) as err:
            raise bad(f"train_config is not valid: {err}") from None
    epoch = metadata.get("epoch")
    if epoch is not None and (not _is_int(epoch) or epoch < 0):
        raise bad(f"epoch must be a non-negative integer, got {epoch!r}")
    reference = metadata.get("reference")
    if reference is not None:
        fields = {"mode": str, "checksum": str, "source": str, "excluded": list, "columns": list, "features": list}
        if not isinstance(reference, dict) or not all(isinstance(reference.get(k), t) for k, t in fields.items()):
            raise bad(f"reference must describe the reference-expression prior ({', '.join(fields)}), got {reference!r:.200}")
    return metadata


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_plain(value) -> bool:
    """A constructor argument a checkpoint may hold: None, a bool, number or string, or a list of them."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    return isinstance(value, (list, tuple)) and all(v is None or isinstance(v, (bool, int, float, str)) for v in value)


def _build(name: str, params: dict, state: dict[str, torch.Tensor], path: Path, n_members: int = 0) -> nn.Module:
    """The model ``name(**params)`` with ``state`` loaded; built on the meta device first, so a hostile size allocates nothing.

    With ``n_members`` > 0: an :class:`Ensemble` of that many such models.
    """

    def build():
        if not n_members:
            return get_model(name, **params)
        return Ensemble([get_model(name, **params) for _ in range(n_members)])

    try:
        with torch.device("meta"):
            shape_only = build()
    except Exception as err:  # noqa: BLE001 - any constructor error means the parameters are wrong
        raise CheckpointError(f"{path}: model_params do not build the {name} model ({type(err).__name__}: {err}) (a damaged or hand-edited checkpoint?)") from None
    _check_fit(shape_only, state, path)
    _check_finite(state, [name for name, _ in shape_only.named_parameters()], path)
    try:
        model = build()
    except Exception as err:  # noqa: BLE001
        raise CheckpointError(f"{path}: model_params do not build the {name} model ({type(err).__name__}: {err})") from None
    _load_state(model, state, path)
    return model


def _metadata(payload: dict) -> dict:
    """The metadata of a payload; version 1 kept the task, target scale and epoch in ``extra``."""
    if payload.get("format_version", 1) >= 2:
        return {key: payload[key] for key in METADATA_KEYS if payload.get(key) is not None}
    extra = payload.get("extra") or {}
    metadata = {"task": extra.get("task", "classification"), "epoch": extra.get("epoch")}
    if "target_mean" in extra or "target_std" in extra:  # checked as a pair: a lone or ill-typed value is refused
        metadata["target_scale"] = {"mean": extra.get("target_mean"), "std": extra.get("target_std", 1.0)}
    return {k: v for k, v in metadata.items() if v is not None}


def _from_legacy_state_dict(state: dict, path: Path) -> CheckpointContents:
    """Rebuild the AttentiveChrome sizes from the tensor shapes of an original checkpoint."""
    state = _checked_state_dict(state, path)
    mark_ids = {int(m.group(1)) for k in state if (m := re.match(r"rnn_hms\.(\d+)\.", k))}
    sizes = {}
    for name, key in (("bin_hidden", "rnn_hms.0.rnn.weight_hh_l0"), ("mark_hidden", "hm_level_rnn_1.rnn.weight_hh_l0")):
        if key not in state:
            raise CheckpointError(f"{path}: a state_dict without the AttentiveChrome tensor {key!r}; not an AttentiveChrome checkpoint")
        if state[key].dim() != 2 or state[key].shape[1] < 1:
            raise CheckpointError(f"{path}: the tensor {key} has shape {tuple(state[key].shape)}, expected (4 * hidden, hidden); not an AttentiveChrome checkpoint")
        sizes[name] = int(state[key].shape[1])
    n_marks = len(mark_ids)
    model = _build("attentivechrome", {"n_marks": n_marks, **sizes}, state, path)
    marks = MARKS if n_marks == len(MARKS) else tuple(f"mark{i + 1}" for i in range(n_marks))
    # The original project trained every published model on its fixed 100-bin layout (TSS +/- 5 kb).
    return CheckpointContents(
        model=model.eval(), model_name="attentivechrome", marks=marks, n_bins=ORIGINAL_N_BINS, source=str(path), legacy=True
    )


def _check_fit(model: nn.Module, state: dict, path: Path) -> None:
    """Raise when the tensors of ``state`` are not exactly those of ``model`` (names and shapes)."""
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


def _load_state(model: nn.Module, state: dict, path: Path) -> None:
    _check_fit(model, state, path)
    try:
        model.load_state_dict(state)
    except (RuntimeError, TypeError, ValueError) as err:  # e.g. a tensor of a type the parameter cannot take
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{path}: tensors do not fit the model ({first})") from None


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
