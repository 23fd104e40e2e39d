"""Training defaults are written once (TrainConfig); the CLI and the estimator read them."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from attentivechrome.config import DEFAULTS, TrainConfig
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
    assert len(shared) >= 6, shared  # the command does expose the training settings
    for name in shared:
        assert options[name] == getattr(DEFAULTS, name), f"{command} --{name.replace('_', '-')}"


def test_estimator_defaults_are_train_config_defaults():
    signature = inspect.signature(AttentiveChromeClassifier.__init__)
    params = [p for p in signature.parameters.values() if p.name != "self"]
    assert params and all(p.kind is p.KEYWORD_ONLY for p in params)
    for p in params:
        assert p.default == getattr(DEFAULTS, p.name), p.name


def test_train_config_checks_its_values():
    assert TrainConfig() == DEFAULTS and TrainConfig.from_dict({**DEFAULTS.to_dict(), "unknown": 1}) == DEFAULTS
    with pytest.raises(ValueError, match="unknown model 'svm'; choose one of attentivechrome"):
        TrainConfig(model="svm")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        TrainConfig(batch_size=0)
