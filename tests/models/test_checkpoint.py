"""Checkpoints: our round trip, original state_dicts, and clear errors for everything else."""

from __future__ import annotations

import pickle

import pytest
import torch

from attentivechrome.exceptions import CheckpointError
from attentivechrome.models import AttentiveChrome
from attentivechrome.models.checkpoint import save_checkpoint
from attentivechrome.trained import load_model


def test_round_trip_keeps_weights_and_description(tmp_path):
    torch.manual_seed(1)
    model = AttentiveChrome(bin_hidden=8, mark_hidden=4, transform="log1p")
    save_checkpoint(model, tmp_path / "m.pt", n_bins=50, metadata={"epoch": 3})
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.model_name == "attentivechrome" and loaded.n_bins == 50 and not loaded.legacy
    assert loaded.module.transform == "log1p" and loaded.epoch == 3 and loaded.task == "classification" and loaded.config is None
    x = torch.rand(4, 50, 5) * 10
    torch.testing.assert_close(loaded.module(x).logits, model.eval()(x).logits)
    assert list(tmp_path.iterdir()) == [tmp_path / "m.pt"]  # no temporary file left
    payload = torch.load(tmp_path / "m.pt", weights_only=True)
    assert payload["format_version"] == 2 and payload["epoch"] == 3 and "extra" not in payload  # no copy for version 1 readers
    payload["extra"] = {"epoch": 9, "task": "regression", "target_mean": 1.0, "target_std": 2.0}  # as 0.1 wrote beside the fields
    torch.save(payload, tmp_path / "v01.pt")
    again = load_model(tmp_path / "v01.pt")
    assert (again.epoch, again.task, again.target_scale) == (3, "classification", None)  # a version 2 file is read from its fields


def test_bare_state_dict_is_read_as_original_checkpoint(tmp_path):
    model = AttentiveChrome(bin_hidden=16, mark_hidden=8)
    torch.save(model.state_dict(), tmp_path / "orig.pt", _use_new_zipfile_serialization=False)
    loaded = load_model(tmp_path / "orig.pt")
    assert loaded.legacy and loaded.module.bin_hidden == 16 and loaded.module.mark_hidden == 8


def test_wrong_shapes_are_named(tmp_path):
    state = AttentiveChrome().state_dict()
    state["fdiff1_1.weight"] = torch.zeros(1, 30)
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"wrong shapes: fdiff1_1.weight \(1, 30\) \(expected \(1, 32\)\)"):
        load_model(tmp_path / "bad.pt")


def test_foreign_state_dict(tmp_path):
    torch.save({"conv.weight": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an AttentiveChrome checkpoint"):
        load_model(tmp_path / "other.pt")


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize(
    "content,fragment",
    [
        (b"gene,1,0,0,0,0,0,1\n", "neither a torch zip archive nor a legacy pickle"),
        (pickle.dumps(_Evil()), "never unpickled, for safety"),
        (pickle.dumps([1, 2, 3]), "never unpickled, for safety"),  # a bare pickle, not torch's format
        (b"PK\x03\x04truncated", "not a readable PyTorch checkpoint"),
    ],
    ids=["text", "arbitrary-object", "list", "broken-zip"],
)
def test_non_checkpoints_are_refused(tmp_path, content, fragment, capsys):
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=str(path)) as caught:
        load_model(path)
    assert fragment in str(caught.value)
    assert "weights_only" not in str(caught.value)  # never advise the unsafe load
    assert "this must never run" not in capsys.readouterr().out


def test_missing_file_and_bare_directory(tmp_path):
    with pytest.raises(CheckpointError, match="nope.pt: no such run directory or checkpoint file"):  # the one loader's message
        load_model(tmp_path / "nope.pt")
    with pytest.raises(CheckpointError, match="run directory without model.pt"):
        load_model(tmp_path)
