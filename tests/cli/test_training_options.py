"""The training options are written once: one decorator gives them to every training command."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from attentivechrome.cli._options import TRAINING_HELP
from attentivechrome.cli._training_options import REFERENCE_OPTIONS, TRAINING, training_options, training_values
from attentivechrome.config import TrainConfig

# TrainConfig's fields that are not options of their own: the reference options set the two reference ones
NOT_OPTIONS = {"eval_batch_size", "reference", "reference_exclude", "given"}


def test_every_training_setting_is_an_option():
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    assert set(TRAINING_HELP) == fields - NOT_OPTIONS


def _command(**changed):
    app = typer.Typer()
    seen = {}

    @app.command()
    @training_options(**changed)
    def run(data: Path, training: dict = TRAINING, quiet: bool = typer.Option(False, "--quiet")) -> None:
        seen.update(training, data=data, quiet=quiet)

    return app, seen


def test_the_command_gets_its_options_as_one_dict_in_place():
    app, seen = _command(seed=None, task="The command's own words.")
    result = CliRunner().invoke(app, ["cells", "--lr", "0.01", "--quiet", "--reference-exclude", "E003"])
    assert result.exit_code == 0, result.output
    assert seen["data"] == Path("cells") and seen["quiet"] is True and seen["lr"] == 0.01 and seen["batch_size"] is None
    assert "seed" not in seen and set(seen) == set(TRAINING_HELP) - {"seed"} | set(REFERENCE_OPTIONS) | {"data", "quiet"}
    helped = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "300"}).output
    assert "The command's own words." in helped and "--seed" not in helped
    assert helped.index("--model") < helped.index("--reference-exclude") < helped.index("--quiet")  # in the placeholder's place


def test_reference_options_become_settings_and_unknown_changes_are_refused():
    app, seen = _command()
    assert CliRunner().invoke(app, ["cells"]).exit_code == 0
    values = training_values({k: v for k, v in seen.items() if k not in ("data", "quiet")})
    assert values["reference"] == "none" and values["reference_exclude"] == ()
    assert TrainConfig(**values) == TrainConfig()
    with pytest.raises(TypeError, match="not training options: sed"):
        training_options(sed=None)
