"""Training defaults are written once (TrainConfig); the CLI and the estimator read them."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from attentivechrome.config import DEFAULTS, ORIGINAL_SETTINGS, PRESET_FIELDS, TrainConfig, preset_settings
from attentivechrome.model_catalog import MODEL_CATALOG, PRIOR_ONLY_MODELS
from attentivechrome.estimator import AttentiveChromeClassifier


def _cli_defaults(command_name: str) -> dict:
    """The default of every option of a registered command, by parameter name."""
    import typer.main

    from attentivechrome.cli.main import app

    command = typer.main.get_command(app).commands[command_name]
    return {param.name: param.default for param in command.params}


@pytest.mark.parametrize("command", ["train", "train-many", "benchmark"])
def test_cli_options_default_to_train_config(command):
    options = _cli_defaults(command)
    shared = [f.name for f in dataclasses.fields(TrainConfig) if f.name in options]
    assert len(shared) >= 10, shared  # the command does expose the training settings
    for name in shared:
        # A preset's setting is left unset, so TrainConfig fills it from the chosen model's defaults.
        expected = None if name in PRESET_FIELDS else getattr(DEFAULTS, name)
        assert options[name] == expected, f"{command} --{name.replace('_', '-')}"
    assert TrainConfig(**{name: options[name] for name in shared}) == DEFAULTS  # the command's defaults are DEFAULTS


def test_estimator_defaults_are_train_config_defaults():
    signature = inspect.signature(AttentiveChromeClassifier.__init__)
    params = [p for p in signature.parameters.values() if p.name != "self"]
    assert params and all(p.kind is p.KEYWORD_ONLY for p in params)
    own = {"validation_fraction"}  # the estimator's own parameter, not a training setting
    for p in params:
        if p.name not in own:
            assert p.default == (None if p.name in PRESET_FIELDS else getattr(DEFAULTS, p.name)), p.name
    settings = {k: v for k, v in AttentiveChromeClassifier().get_params().items() if k not in own}
    assert TrainConfig(**settings) == DEFAULTS


def test_presets_fill_unset_settings_per_model_and_explicit_settings_win():
    original = TrainConfig(preset="original")
    assert {k: getattr(original, k) for k in PRESET_FIELDS} == ORIGINAL_SETTINGS
    for model in MODEL_CATALOG:
        tuned = TrainConfig(model=model, reference="new-cell" if model in PRIOR_ONLY_MODELS else "none")
        assert {k: getattr(tuned, k) for k in PRESET_FIELDS} == preset_settings(model)
        assert tuned.given == frozenset()
    given = TrainConfig(lr=0.05, preset="original")
    assert given.lr == 0.05 and given.batch_size == ORIGINAL_SETTINGS["batch_size"] and given.given == {"lr"}
    # for_model keeps what was given and takes the rest from the other model's preset
    other = given.for_model("deepchrome")
    assert other.model == "deepchrome" and other.lr == 0.05 and other.preset == "original"
    tuned_other = TrainConfig(batch_size=7).for_model("transformer")
    assert tuned_other.batch_size == 7 and tuned_other.epochs == preset_settings("transformer")["epochs"]
    # a record round-trips; a record from before presets reads as the original's settings
    assert TrainConfig.from_dict(TrainConfig(model="lstm").to_dict()) == TrainConfig(model="lstm")
    old_record = {k: v for k, v in TrainConfig(preset="original").to_dict().items() if k not in ("preset", "patience", "weight_decay", "dropout")}
    assert TrainConfig.from_dict(old_record) == TrainConfig(preset="original")
    with pytest.raises(ValueError, match="unknown preset 'best'; choose one of tuned, original"):
        TrainConfig(preset="best")


def test_train_config_checks_its_values():
    assert TrainConfig() == DEFAULTS and TrainConfig.from_dict({**DEFAULTS.to_dict(), "unknown": 1}) == DEFAULTS
    with pytest.raises(ValueError, match="unknown model 'svm'; choose one of attentivechrome"):
        TrainConfig(model="svm")
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        TrainConfig(batch_size=0)


@pytest.mark.parametrize(
    "name,value,message",
    [
        ("lr", float("inf"), r"lr must be a finite number > 0, got inf"),
        ("lr", float("nan"), r"lr must be a finite number > 0, got nan"),
        ("lr", "0.1", r"lr must be a finite number > 0, got '0.1'"),
        ("clip", float("inf"), r"clip must be a finite number > 0, got inf"),
        ("mark_dropout", float("nan"), r"mark_dropout must be a finite number in \[0, 1\), got nan"),
        ("mark_dropout", 1.0, r"mark_dropout must be a finite number in \[0, 1\), got 1.0"),
        ("epochs", True, r"epochs must be an integer >= 1, got True"),
        ("epochs", 2.0, r"epochs must be an integer >= 1, got 2.0"),
        ("seed", -1, r"seed must be an integer in \[0, 4294967295\], got -1"),
        ("seed", 2**32, r"seed must be an integer in \[0, 4294967295\]"),
        ("transform", ["log1p"], r"transform must be a string, got list"),
    ],
)
def test_non_finite_and_ill_typed_settings_are_refused_up_front(name, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{name: value})


def test_numpy_numbers_are_settings_too():
    import numpy as np

    config = TrainConfig(epochs=np.int64(3), lr=np.float32(0.5))
    assert config.epochs == 3 and config.lr == 0.5


@pytest.mark.parametrize("command", ["train", "train-many", "benchmark"])
def test_help_shows_each_models_defaults(command):
    from typer.testing import CliRunner

    from attentivechrome.cli.main import app

    text = " ".join(CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output.split())
    for model in ("attentivechrome", "deepchrome", "transformer"):
        settings = preset_settings(model)
        assert f"{model}: lr {settings['lr']:g}, batch {settings['batch_size']}, up to {settings['epochs']} epochs" in text, model
