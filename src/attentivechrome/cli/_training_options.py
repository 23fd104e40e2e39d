"""The training options of `train`, `train-many` and `benchmark`, added to each command by one decorator.

A command takes ``training: dict = TRAINING``; :func:`training_options` puts the options of
:data:`~._options.TRAINING_HELP` (types and defaults from
:class:`~attentivechrome.config.TrainConfig`) and the reference options in its place in the
signature Typer reads, and hands the command their values as that one dict. Adding a training
setting to TrainConfig and its help to TRAINING_HELP gives it to every training command.
"""

from __future__ import annotations

import functools
import inspect
import typing
from pathlib import Path

import typer

from ..config import DEFAULTS, PRESET_FIELDS, TrainConfig
from . import _options as opt

#: The placeholder default of a command's ``training`` parameter.
TRAINING = object()

#: The reference options, beside the settings: they become TrainConfig's ``reference`` and ``reference_exclude``.
REFERENCE_OPTIONS = {
    "reference_expression": (typing.Optional[Path], opt.REFERENCE_EXPRESSION),
    "reference_mode": (str, opt.REFERENCE_MODE),
    "excluded_references": (str, opt.REFERENCE_EXCLUDE),
}


def _setting_option(name: str, help: str):
    """The Typer option of a TrainConfig setting: its default, or ``None`` for a preset's (the model's preset fills it)."""
    if name in PRESET_FIELDS:
        return typer.Option(None, help=f"{help} {opt.PER_MODEL}")
    return typer.Option(getattr(DEFAULTS, name), help=help)


def _parameters(kind, changed: dict) -> list[inspect.Parameter]:
    """The parameters of the training options, in --help order, as ``changed`` has them."""
    types = typing.get_type_hints(TrainConfig)
    options = {name: (types[name], _setting_option(name, changed.get(name) or help)) for name, help in opt.TRAINING_HELP.items()}
    options.update(REFERENCE_OPTIONS)
    if changed.get("reference_expression"):  # a command's own words on what the table does there
        options["reference_expression"] = (options["reference_expression"][0], typer.Option(None, "--reference-expression", help=changed["reference_expression"]))
    kept = {name: option for name, option in options.items() if name not in changed or changed[name] is not None}
    return [inspect.Parameter(name, kind, default=option, annotation=annotation) for name, (annotation, option) in kept.items()]


def training_options(**changed: str | None):
    """Decorate a command taking ``training: dict = TRAINING`` with the training options, in that parameter's place.

    ``changed`` gives an option another help text (``seed="..."``), or leaves it out (``model=None``).
    """
    unknown = set(changed) - set(opt.TRAINING_HELP) - set(REFERENCE_OPTIONS)
    if unknown:
        raise TypeError(f"not training options: {', '.join(sorted(unknown))}")

    def decorate(command):
        signature = inspect.signature(command)
        own = list(signature.parameters.values())
        at = [p.name for p in own].index("training")
        added = _parameters(own[at].kind, changed)
        names = [p.name for p in added]

        @functools.wraps(command)
        def run(*args, **kwargs):
            training = {name: kwargs.pop(name) for name in names}
            return command(*args, training=training, **kwargs)

        run.__signature__ = signature.replace(parameters=[*own[:at], *added, *own[at + 1 :]])
        # Typer resolves annotations through typing.get_type_hints: the added ones are types already
        run.__annotations__ = {**{k: v for k, v in command.__annotations__.items() if k != "training"}, **{p.name: p.annotation for p in added}}
        return run

    return decorate


def training_values(training: dict) -> dict:
    """The TrainConfig settings of a command's training options (the reference options checked and turned into settings)."""
    from ._reference import training_reference

    values = {k: v for k, v in training.items() if k not in REFERENCE_OPTIONS}
    reference = training_reference(training["reference_expression"], training["reference_mode"], training["excluded_references"])
    return {**values, **reference}
