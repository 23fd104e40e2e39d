"""The training loop: learns, selects on validation AUROC, writes the run, is deterministic."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from attentivechrome.data import load_splits
from attentivechrome.trained import load_checkpoint
from attentivechrome.config import TrainConfig
from attentivechrome.training.trainer import train

FAST = dict(epochs=3, batch_size=32, lr=3e-3, transform="log1p", device="cpu")


def test_short_run_learns_and_writes_run_directory(sim_dir, tmp_path):
    splits = load_splits(sim_dir)
    records = []
    result = train(splits, TrainConfig(**FAST), out_dir=tmp_path / "run", on_epoch=records.append)
    assert result.test_auroc > 0.75  # planted rules are learnable in a few epochs
    assert np.isfinite(result.test_aupr) and 0 < result.test_aupr <= 1
    assert [r["epoch"] for r in records] == [1, 2, 3]

    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == ["config.json", "metrics.json", "model.pt", "test_predictions.tsv"]
    metrics = json.loads((run / "metrics.json").read_text())
    best = max(metrics["history"], key=lambda r: r["valid_auroc"])
    assert metrics["best_epoch"] == best["epoch"] == result.best_epoch
    assert metrics["test_auroc"] == pytest.approx(best["test_auroc"])
    assert len(metrics["history"]) == 3

    config = json.loads((run / "config.json").read_text())
    assert config["train"]["lr"] == FAST["lr"] and config["n_bins"] == 100

    predictions = pd.read_csv(run / "test_predictions.tsv", sep="\t")
    assert list(predictions.columns) == ["gene_id", "probability", "label"]
    assert len(predictions) == splits["test"].n_genes
    # The saved model is the selected one: it reproduces the saved test predictions.
    loaded = load_checkpoint(run)
    with torch.no_grad():
        probabilities = torch.sigmoid(loaded.model(torch.from_numpy(splits["test"].counts)).logits).numpy()
    np.testing.assert_allclose(probabilities, predictions["probability"], atol=1e-5)


@pytest.mark.parametrize("model", ["attentivechrome", "linear"])  # the epoch loop and the one-off fit
def test_a_failed_run_writes_nothing_and_keeps_an_earlier_run(sim_dir, tmp_path, model):
    splits = load_splits(sim_dir)
    run = tmp_path / "run"
    train(splits, TrainConfig(**FAST, model=model), out_dir=run)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    valid = splits["valid"]
    one_class = type(valid)(gene_ids=valid.gene_ids, counts=valid.counts, labels=np.ones_like(valid.labels), marks=valid.marks)
    with pytest.raises(ValueError, match="AUROC is undefined"):
        train({**splits, "valid": one_class}, TrainConfig(**FAST, model=model, seed=2), out_dir=run)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before  # the earlier run, whole and unmixed
    with pytest.raises(ValueError, match="AUROC is undefined"):
        train({**splits, "valid": one_class}, TrainConfig(**FAST, model=model), out_dir=tmp_path / "new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no new directory, no staging left


def test_same_seed_same_result_other_seed_differs(sim_dir):
    splits = load_splits(sim_dir)
    short = dict(FAST, epochs=1)
    a = train(splits, TrainConfig(**short, seed=5))
    b = train(splits, TrainConfig(**short, seed=5))
    c = train(splits, TrainConfig(**short, seed=6))
    assert a.history[0]["train_loss"] == b.history[0]["train_loss"]
    for (name, pa), pb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert a.history[0]["train_loss"] != c.history[0]["train_loss"]


def test_defaults_are_the_originals():
    config = TrainConfig()
    assert (config.lr, config.batch_size, config.epochs, config.clip, config.seed, config.transform) == (
        2e-4, 16, 30, 1.0, 1, "none")


@pytest.mark.parametrize(
    "kwargs,fragment",
    [({"lr": 0}, "lr must be a finite number > 0"), ({"batch_size": 0}, "batch_size"), ({"transform": "sqrt"}, "transform must be one of")],
)
def test_config_rejects_bad_values(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        TrainConfig(**kwargs)


@pytest.mark.parametrize("split", ["valid", "test"])
def test_a_one_class_split_is_named_before_any_epoch(split, monkeypatch):
    import dataclasses

    import attentivechrome as ac
    from attentivechrome.exceptions import UndefinedMetricError
    from attentivechrome.training import trainer

    data, _ = ac.simulate(30, 10, seed=0)
    splits = {name: data.subset(np.arange(10 * i, 10 * (i + 1))) for i, name in enumerate(("train", "valid", "test"))}
    splits[split] = dataclasses.replace(splits[split], labels=np.ones(10, dtype=np.int64), source=f"cell/{split}.csv")
    monkeypatch.setattr(trainer, "_train_epochs", lambda *a, **k: pytest.fail("trained before checking the splits"))
    with pytest.raises(UndefinedMetricError, match=rf"the {split} split \(cell/{split}.csv\): its 10 genes all have label 1, so AUROC is undefined"):
        trainer.train(splits, ac.TrainConfig(epochs=1, device="cpu"))
