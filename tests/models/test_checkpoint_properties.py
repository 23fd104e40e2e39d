"""Hand-edited and damaged checkpoints: the loader gives a model or a CheckpointError naming the file, never anything else.

A property-based test (hypothesis) mutates a valid checkpoint's payload; examples it found are
kept as explicit regression tests, next to the cases issue 13 listed.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import attentivechrome as ac
from attentivechrome.exceptions import CheckpointError
from attentivechrome.trained import TargetScale, TrainedModel, load_model

_SETTINGS = settings(max_examples=int(os.environ.get("CHECKPOINT_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _payload(**changes) -> dict:
    """A valid, tiny regression checkpoint's payload (as the package writes it), with ``changes`` applied."""
    global _SAVED
    if _SAVED is None:
        module = ac.get_model("attentivechrome", bin_hidden=2, mark_hidden=2)
        trained = TrainedModel.from_module(module, marks=ac.MARKS, n_bins=10, task="regression", target_scale=TargetScale(1.0, 2.0),
                                           config=ac.TrainConfig(epochs=2), epoch=1)  # fmt: skip
        buffer = io.BytesIO()
        trained.save(_SCRATCH)
        buffer.write(_SCRATCH.read_bytes())
        _SCRATCH.unlink()
        _SAVED = buffer.getvalue()
    payload = torch.load(io.BytesIO(_SAVED), weights_only=True)
    payload.update(changes)
    return payload


_SAVED: bytes | None = None
_SCRATCH = Path(tempfile.gettempdir()) / f"attentivechrome-test-{os.getpid()}.pt"


def _load(path, payload):
    torch.save(payload, path)
    return load_model(path)


_plain = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**12) | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
_tensors = st.builds(
    lambda shape, fill, dtype: torch.full(shape, fill, dtype=dtype),
    st.lists(st.integers(0, 3), max_size=3).map(tuple),
    st.sampled_from([0.0, 1.0, float("nan"), float("inf")]),
    st.sampled_from([torch.float32, torch.float64, torch.float16]),
)
_value = _plain | _tensors
_TOP_KEYS = ["format_version", "model_name", "model_params", "marks", "n_bins", "state_dict", "task", "target_scale", "normalization",
             "train_config", "epoch", "extra"]  # fmt: skip


@st.composite
def _edits(draw):
    """A list of edits: (where, key, value or None to delete); where is the payload or one of its dicts."""
    return draw(st.lists(st.tuples(st.sampled_from(["top", "model_params", "state_dict", "target_scale", "train_config"]),
                                   st.integers(0, 50), st.booleans(), _value), min_size=1, max_size=3))  # fmt: skip


def _apply(payload: dict, edits) -> dict:
    for where, pick, delete, value in edits:
        target = payload if where == "top" else payload.get(where)
        if not isinstance(target, dict):
            continue
        keys = _TOP_KEYS if where == "top" else sorted(target) + ["bogus_key"]
        key = keys[pick % len(keys)]
        if delete:
            target.pop(key, None)
        else:
            target[key] = value
    return payload


@_SETTINGS
@given(edits=_edits())
def test_edited_checkpoints_load_or_raise_checkpoint_error(tmp_path, edits):
    path = tmp_path / "edited.pt"
    try:
        loaded = _load(path, _apply(_payload(), edits))
    except CheckpointError as err:
        assert str(err).startswith(f"{path}:")
        return
    assert all(torch.isfinite(v).all() for v in loaded.module.state_dict().values() if v.is_floating_point())


@_SETTINGS
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_raise_checkpoint_error(tmp_path, raw):
    path = tmp_path / "junk.pt"
    path.write_bytes(b"PK\x03\x04" + raw)
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_model(path)


# --------------------------------------------------------------------------- the cases issue 13 listed, and found examples


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"state_dict": None}, r"state_dict must be a dict of named tensors, got NoneType"),
        ({"state_dict": [1, 2]}, r"state_dict must be a dict of named tensors, got list"),
        ({"state_dict": {"fc.weight": [0.0]}}, r"state_dict entry 'fc.weight' is a list, expected a tensor"),
        ({"model_params": {"bin_hidden": 2, "mark_hidden": 2, "wings": 3}}, r"model_params names wings, which attentivechrome does not take"),
        ({"model_params": {"bin_hidden": "two"}}, r"model_params do not build the attentivechrome model \(TypeError"),
        ({"model_params": {"bin_hidden": {"a": 1}}}, r"model_params bin_hidden must be a number, string or list of them, got dict"),
        ({"model_params": [2, 2]}, r"model_params must be a dict of constructor arguments, got list"),
        ({"model_params": {"bin_hidden": 10**5, "mark_hidden": 2}}, r"tensors do not fit the model: .*wrong shapes"),  # never allocated
        ({"target_scale": {"mean": "high", "std": 1.0}}, r"target_scale must be \{'mean': number, 'std': number\}"),
        ({"target_scale": [1.0, 2.0]}, r"target_scale must be"),
        ({"target_scale": {"mean": 0.0, "std": 0.0}}, r"target_scale needs a finite mean and a finite positive std"),
        ({"train_config": {"lr": "fast"}}, r"train_config is not valid"),
        ({"train_config": [1]}, r"train_config must be a dict of training settings, got list"),
        ({"normalization": {"kind": "depth", "marks": 3}}, r"normalization must be a dict with kind"),
        ({"task": "clustering"}, r"task must be one of classification, regression, deviation, got 'clustering'"),
        ({"marks": "H3K4me3"}, r"marks must be a non-empty list of mark names"),
        ({"marks": ["a", "b"]}, r"model_params n_marks is 5 but marks names 2 marks"),
        ({"n_bins": "100"}, r"n_bins must be a positive integer or null, got '100'"),
        ({"format_version": "2"}, r"format_version must be a positive integer, got '2'"),
        ({"epoch": 1.5}, r"epoch must be a non-negative integer, got 1.5"),
        ({"model_name": ["attentivechrome"]}, r"model \['attentivechrome'\] is not known to this version"),
        # found by the property test above: tensors where plain values belong
        ({"model_params": torch.zeros(0)}, r"model_params must be a dict of constructor arguments, got Tensor"),
        ({"normalization": torch.zeros(())}, r"normalization must be a dict with kind"),
        ({"train_config": {"clip": torch.zeros(0)}}, r"train_config is not valid: clip must be a finite number > 0"),
    ],
)
def test_hand_edited_checkpoints_name_the_file_and_field(tmp_path, changes, message):
    path = tmp_path / "edited.pt"
    with pytest.raises(CheckpointError, match=rf"^{path}: .*{message}"):
        _load(path, _payload(**changes))


def test_a_missing_state_dict_is_named(tmp_path):
    payload = _payload()
    del payload["state_dict"]
    with pytest.raises(CheckpointError, match=r"edited.pt: holds no state_dict \(the model's weights\)"):
        _load(tmp_path / "edited.pt", payload)


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_nan_or_infinite_weights_are_refused(tmp_path, bad):
    payload = _payload()
    payload["state_dict"]["fdiff1_1.weight"][0, 0] = bad
    with pytest.raises(CheckpointError, match=r"edited.pt: the weights hold NaN or infinite values \(1 in fdiff1_1.weight\)"):
        _load(tmp_path / "edited.pt", payload)
    legacy = ac.get_model("attentivechrome", bin_hidden=2, mark_hidden=2).state_dict()
    legacy["fdiff1_1.weight"][0, 0] = bad
    torch.save(legacy, tmp_path / "legacy.pt")
    with pytest.raises(CheckpointError, match=r"legacy.pt: the weights hold NaN"):
        load_model(tmp_path / "legacy.pt")


def test_the_valid_payload_loads(tmp_path):
    loaded = _load(tmp_path / "ok.pt", _payload())
    assert loaded.task == "regression" and loaded.target_scale.std == 2.0 and loaded.config.epochs == 2
