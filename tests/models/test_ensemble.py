"""Ensembles: the mean of the members' outputs, saved and loaded as one model, and training one."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from attentivechrome import simulate
from attentivechrome.exceptions import CheckpointError
from attentivechrome.models import AttentiveChrome, get_model
from attentivechrome.models.ensemble import Ensemble
from attentivechrome.trained import TrainedModel, ensemble, load_model


def _members(n=2, seed=0):
    torch.manual_seed(seed)
    return [AttentiveChrome(bin_hidden=4, mark_hidden=2, transform="log1p") for _ in range(n)]


def test_ensemble_predicts_the_mean_of_its_members():
    members = _members(3)
    model = Ensemble(members).eval()
    x = torch.rand(6, 20, 5) * 10
    outs = [m.eval()(x) for m in members]
    got = model(x)
    torch.testing.assert_close(got.logits, torch.stack([o.logits for o in outs]).mean(0))
    torch.testing.assert_close(got.alpha, torch.stack([o.alpha for o in outs]).mean(0))
    torch.testing.assert_close(got.beta, torch.stack([o.beta for o in outs]).mean(0))
    assert model.n_marks == 5 and model.transform == "log1p" and model.n_members == 3  # the members' attributes


def test_members_must_be_alike():
    with pytest.raises(ValueError, match="one architecture"):
        Ensemble([get_model("deepchrome"), AttentiveChrome()])
    with pytest.raises(ValueError, match="same parameters"):
        Ensemble([AttentiveChrome(bin_hidden=4), AttentiveChrome(bin_hidden=8)])
    with pytest.raises(ValueError, match="at least one"):
        Ensemble([])


def test_saved_ensemble_loads_and_predicts_as_before(tmp_path):
    members = [TrainedModel.from_module(m, marks=("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3"), n_bins=20) for m in _members(2)]
    joined = ensemble(members)
    joined.save(tmp_path / "ens.pt")
    loaded = load_model(tmp_path / "ens.pt")
    assert isinstance(loaded.module, Ensemble) and loaded.n_members == 2 and loaded.model_name == "attentivechrome"
    data, _ = simulate(10, 20, seed=3)
    single = [m.predict(data).logits for m in members]
    np.testing.assert_allclose(loaded.predict(data).logits, np.mean(single, axis=0), rtol=1e-5, atol=1e-6)
    payload = torch.load(tmp_path / "ens.pt", weights_only=True)
    assert payload["format_version"] == 3 and payload["ensemble"] == {"members": 2}
    members[0].save(tmp_path / "one.pt")  # a single model is still written as version 2
    assert torch.load(tmp_path / "one.pt", weights_only=True)["format_version"] == 2
    payload["ensemble"] = {"members": 0}
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="bad.pt: ensemble must be"):
        load_model(tmp_path / "bad.pt")


def test_ensemble_refuses_models_that_read_other_things():
    a = TrainedModel.from_module(_members(1)[0], marks=("a", "b", "c", "d", "e"), n_bins=20)
    b = TrainedModel.from_module(_members(1, seed=1)[0], marks=("a", "b", "c", "d", "e"), n_bins=40)
    with pytest.raises(ValueError, match="n_bins"):
        ensemble([a, b])


@pytest.mark.slow
def test_train_ensemble_of_two_is_its_seeds_averaged(sim_dir, tmp_path):
    from attentivechrome.config import TrainConfig
    from attentivechrome.data import load_splits
    from attentivechrome.training.trainer import train

    splits = load_splits(sim_dir)
    splits = {k: v.subset(np.arange(min(v.n_genes, 120))) for k, v in splits.items()}
    fast = dict(model="deepchrome", epochs=2, batch_size=32, lr=3e-3, device="cpu")
    joined, record = train(splits, TrainConfig(**fast, ensemble=2, seed=3), out_dir=tmp_path / "run")
    alone = [train(splits, TrainConfig(**fast, seed=s)).model for s in (3, 4)]
    expected = np.mean([m.predict(splits["test"]).logits for m in alone], axis=0)
    loaded = load_model(tmp_path / "run")
    np.testing.assert_allclose(loaded.predict(splits["test"]).logits, expected, rtol=1e-5, atol=1e-6)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [m["seed"] for m in metrics["members"]] == [3, 4] and metrics["stop_reason"] == "ensemble"
    assert loaded.config.ensemble == 2 and record.test_auroc == pytest.approx(metrics["test_auroc"])
    from attentivechrome.report import write_report

    page = write_report(tmp_path / "run", tmp_path / "run.html")  # the run's page draws each member's learning curve
    assert "Learning curves of the ensemble" in page.read_text(encoding="utf-8")
