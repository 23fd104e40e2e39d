"""Checkpoints that cannot be used as written are refused, naming the file: a newer format, a regression model without its target scale."""

from __future__ import annotations

import pytest
import torch

from attentivechrome.exceptions import CheckpointError
from attentivechrome.models import AttentiveChrome
from attentivechrome.trained import TargetScale, TrainedModel, load_model

MARKS = ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")


@pytest.fixture
def regression_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = TrainedModel.from_module(AttentiveChrome(bin_hidden=4, mark_hidden=2), marks=MARKS, n_bins=20, task="regression", target_scale=TargetScale(1.5, 2.0))
    model.save(tmp_path / "model.pt")
    return tmp_path / "model.pt"


def _edited(path, edit):
    payload = torch.load(path, weights_only=True)
    edit(payload)
    torch.save(payload, path)
    return path


def test_the_intact_regression_checkpoint_keeps_its_scale(regression_checkpoint):
    assert load_model(regression_checkpoint).target_scale == TargetScale(1.5, 2.0)


@pytest.mark.parametrize(
    "edit, says",
    [
        (lambda p: p.update(format_version=99), "format_version 99 is newer than this version of attentivechrome reads (1 to 3)"),
        (lambda p: p.update(target_scale=None), "a regression model without target_scale"),
        # Version 1 kept the task and target scale in an ``extra`` dict.
        (lambda p: p.update(format_version=1, extra={"task": "regression"}), "a regression model without target_scale"),
        (lambda p: p.update(format_version=1, extra={"task": "regression", "target_std": "x"}), "target_scale must be {'mean': number, 'std': number}, got {'mean': None, 'std': 'x'}"),
    ],
    ids=["version-99", "v2-no-scale", "v1-no-scale", "v1-std-x"],
)
def test_unusable_checkpoints_are_refused(regression_checkpoint, edit, says):
    path = _edited(regression_checkpoint, edit)
    with pytest.raises(CheckpointError) as caught:
        load_model(path)
    assert str(caught.value).startswith(f"{path}: ") and says in str(caught.value)
