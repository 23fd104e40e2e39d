"""The training loop: learns, selects on validation AUROC, writes the run, is deterministic."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from attentivechrome.data import load_splits
from attentivechrome.trained import load_model
from attentivechrome.config import TrainConfig
from attentivechrome.training.trainer import train

FAST = dict(epochs=3, batch_size=32, lr=3e-3, transform="log1p", device="cpu")


def test_short_run_learns_and_writes_run_directory(sim_dir, tmp_path):
    splits = load_splits(sim_dir)
    records = []
    result = train(splits, TrainConfig(**FAST), out_dir=tmp_path / "run", on_epoch=records.append).record
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
    # the test split is scored once, for the selected epoch only: no epoch is chosen by looking at it
    assert [("test_auroc" in r) for r in metrics["history"]] == [r["epoch"] == result.best_epoch for r in metrics["history"]]

    config = json.loads((run / "config.json").read_text())
    assert config["train"]["lr"] == FAST["lr"] and config["n_bins"] == 100

    predictions = pd.read_csv(run / "test_predictions.tsv", sep="\t")
    assert list(predictions.columns) == ["gene_id", "probability", "label"]
    assert len(predictions) == splits["test"].n_genes
    # The saved model is the selected one: it reproduces the saved test predictions.
    loaded = load_model(run)
    with torch.no_grad():
        probabilities = torch.sigmoid(loaded.module(torch.from_numpy(splits["test"].counts)).logits).numpy()
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
    (model_a, a), (model_b, b), (_, c) = (train(splits, TrainConfig(**short, seed=seed)) for seed in (5, 5, 6))
    assert a.history[0]["train_loss"] == b.history[0]["train_loss"]
    for (name, pa), pb in zip(model_a.module.state_dict().items(), model_b.module.state_dict().values()):
        assert torch.equal(pa, pb), name
    assert a.history[0]["train_loss"] != c.history[0]["train_loss"]


def test_original_preset_is_the_papers_settings():
    config = TrainConfig(preset="original")
    assert (config.lr, config.batch_size, config.epochs, config.clip, config.seed, config.transform, config.patience, config.ema) == (
        2e-4, 16, 30, 1.0, 1, "none", 0, 0.0)


def _selected_each_epoch(history: list[dict]) -> list[int]:
    """The best epoch so far after each epoch (the first of the best validation AUROCs)."""
    best, out = None, []
    for record in history:
        if best is None or record["valid_auroc"] > best["valid_auroc"]:
            best = record
        out.append(best["epoch"])
    return out


def test_early_stopping_stops_after_patience_epochs_and_keeps_the_best(sim_dir, tmp_path):
    splits = load_splits(sim_dir)
    config = TrainConfig(**dict(FAST, epochs=30, lr=3e-2), patience=2)
    result = train(splits, config, out_dir=tmp_path / "run").record
    history = result.history
    assert result.stop_reason == "patience" and len(history) < 30
    best_so_far = _selected_each_epoch(history)
    # it ran while the best was recent, and stopped exactly `patience` epochs after the last improvement
    assert all(record["epoch"] - best < 2 for record, best in zip(history[:-1], best_so_far[:-1]))
    assert history[-1]["epoch"] - best_so_far[-1] == 2 and result.best_epoch == best_so_far[-1]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["stop_reason"] == "patience" and metrics["epochs_run"] == len(history) and metrics["best_epoch"] == result.best_epoch
    # the best epoch's weights were restored, not the last epoch's
    loaded = load_model(tmp_path / "run")
    with torch.no_grad():
        logits = loaded.module(torch.from_numpy(splits["valid"].counts)).logits.numpy()
    from attentivechrome.metrics.classification import auroc

    assert auroc(splits["valid"].labels, logits) == pytest.approx(result.scores["valid_auroc"], abs=1e-6)
    unstopped = train(splits, TrainConfig(**FAST), progress=False).record
    assert unstopped.stop_reason == "epochs" and len(unstopped.history) == FAST["epochs"]


def test_weight_average_is_what_is_scored_and_saved(sim_dir, tmp_path):
    splits = load_splits(sim_dir)
    short = dict(FAST, epochs=2)
    averaged = train(splits, TrainConfig(**short, ema=0.9), out_dir=tmp_path / "ema").record
    plain = train(splits, TrainConfig(**short)).record
    assert [r["train_loss"] for r in averaged.history] == [r["train_loss"] for r in plain.history]  # the same steps
    assert averaged.scores["valid_auroc"] != plain.scores["valid_auroc"]  # judged with other weights
    loaded = load_model(tmp_path / "ema")
    with torch.no_grad():
        logits = loaded.module(torch.from_numpy(splits["valid"].counts)).logits.numpy()
    from attentivechrome.metrics.classification import auroc

    assert auroc(splits["valid"].labels, logits) == pytest.approx(averaged.scores["valid_auroc"], abs=1e-6)


def test_cosine_schedule_sets_each_steps_rate_from_lr_down_towards_zero(sim_dir, monkeypatch):
    from attentivechrome.training import callbacks

    rates = []
    real = callbacks.set_learning_rate
    monkeypatch.setattr(callbacks, "set_learning_rate", lambda optimizer, lr: (rates.append(lr), real(optimizer, lr)))
    splits = load_splits(sim_dir)
    config = TrainConfig(**FAST, schedule="cosine")
    train(splits, config, progress=False)
    steps = FAST["epochs"] * -(-splits["train"].n_genes // FAST["batch_size"])
    assert len(rates) == steps and rates[0] == FAST["lr"]
    assert all(a > b for a, b in zip(rates, rates[1:]))  # falls every step
    assert rates[steps // 2] == pytest.approx(FAST["lr"] / 2, rel=0.1) and 0 < rates[-1] < FAST["lr"] * 1e-2
    rates.clear()
    train(splits, TrainConfig(**FAST), progress=False)
    assert rates == []  # a constant rate is left to the optimiser


def test_records_written_before_a_setting_existed_read_as_the_original():
    record = TrainConfig(model="attentivechrome", forget_bias=2.0, schedule="cosine").to_dict()
    assert TrainConfig.from_dict(record) == TrainConfig(model="attentivechrome", forget_bias=2.0, schedule="cosine")
    del record["schedule"], record["forget_bias"]
    older = TrainConfig.from_dict(record)
    assert older.schedule == "constant" and older.forget_bias is None and older.preset == "tuned"


@pytest.mark.parametrize("model,expected", [("attentivechrome", 1), ("lstm-alpha", 1), ("lstm", 2)])
def test_models_train_with_the_threads_settings_give_them(sim_dir, model, expected):
    """The kernel models train with one PyTorch thread (the kernel takes its own); the others with the process's share."""
    from attentivechrome import _settings

    splits = load_splits(sim_dir)
    seen = []
    _settings.set_num_threads(2)
    try:
        train(splits, TrainConfig(**dict(FAST, epochs=1), model=model), on_epoch=lambda record: seen.append(torch.get_num_threads()))
    finally:
        _settings.set_num_threads(None)
    assert seen == [expected]


def test_dropout_and_weight_decay_reach_the_model_and_optimizer():
    from attentivechrome.training.trainer import build_model, build_optimizer

    config = TrainConfig(dropout=0.25, weight_decay=0.01)
    model = build_model(config, 5)
    assert model.init_params()["dropout"] == 0.25
    optimizer = build_optimizer(model, config)
    assert type(optimizer).__name__ == "AdamW" and optimizer.defaults["weight_decay"] == 0.01
    assert type(build_optimizer(model, TrainConfig())).__name__ == "Adam"
    with pytest.raises(ValueError, match="lstm has no dropout to set"):
        build_model(TrainConfig(model="lstm", dropout=0.1), 5)


def test_forget_bias_starts_every_lstm_forget_gate_there_and_nothing_else(caplog):
    from attentivechrome.training.trainer import build_model

    torch.manual_seed(0)
    drawn = build_model(TrainConfig(), 5)
    torch.manual_seed(0)
    set_ = build_model(TrainConfig(forget_bias=1.0), 5)
    lstms = [m for m in set_.modules() if isinstance(m, torch.nn.LSTM)]
    assert len(lstms) == 6  # five bin-level encoders and the mark level
    for lstm in lstms:
        hidden = lstm.hidden_size
        for name, bias in lstm.named_parameters():
            if name.startswith("bias_"):
                assert torch.all(bias[hidden : 2 * hidden] == 0.5)  # b_ih + b_hh = 1
    other = {k: v for k, v in set_.state_dict().items() if "bias" not in k}
    assert all(torch.equal(v, drawn.state_dict()[k]) for k, v in other.items())  # the same draw otherwise
    with caplog.at_level("WARNING"):
        build_model(TrainConfig(model="deepchrome", forget_bias=1.0), 5)
    assert "deepchrome has no LSTM: forget_bias 1 changes nothing" in caplog.text
    # one setting for a benchmark of every model: it goes to the LSTM models only
    given = TrainConfig(forget_bias=1.0)
    assert given.for_model("lstm").forget_bias == 1.0 and given.for_model("deepchrome").forget_bias is None
    assert TrainConfig().for_model("lstm").forget_bias == 2.0  # not given: the model's own default


@pytest.mark.parametrize(
    "kwargs,fragment",
    [({"lr": 0}, "lr must be a finite number > 0"), ({"batch_size": 0}, "batch_size"), ({"transform": "sqrt"}, "transform must be one of"),
     ({"patience": -1}, "patience must be an integer >= 0"), ({"ema": 1.0}, r"ema must be a finite number in \[0, 1\)"),
     ({"dropout": 1.0}, r"dropout must be a finite number in \[0, 1\)"), ({"weight_decay": -0.1}, "weight_decay must be a finite number >= 0"),
     ({"schedule": "linear"}, "schedule must be one of constant, cosine"), ({"forget_bias": float("nan")}, "forget_bias must be a finite number")],
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
    monkeypatch.setattr(trainer, "_train_model", lambda *a, **k: pytest.fail("trained before checking the splits"))
    with pytest.raises(UndefinedMetricError, match=rf"the {split} split \(cell/{split}.csv\): its 10 genes all have label 1, so AUROC is undefined"):
        trainer.train(splits, ac.TrainConfig(epochs=1, device="cpu"))
