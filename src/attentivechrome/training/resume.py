"""Resume a training run: the state of the loop after each epoch, saved for ``--resume``, checked and put back.

After each epoch the model, optimiser, averaged weights, every random state, the history and
the selection are saved (``resume.pt`` in the run's staging directory, see
:class:`~attentivechrome.run_directory.RunDirectory`); a resumed run continues from them and
ends bit for bit (on a CPU) as an uninterrupted run would.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path

import numpy as np
import torch

from .._io import atomic_path
from ..config import TrainConfig
from ..tasks import get_task
from ..trained import TrainedModel
from .build import build_optimizer, weight_average
from .fingerprint import describe_difference


#: Settings added after resume states were first written, with the value every earlier run trained with.
_NEWER_SETTINGS = {"ensemble": 1}


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training: which epoch it stopped in, how many finished, and where their state is kept (or ``None``)."""

    def __init__(self, epoch: int, finished: int, kept: Path | None) -> None:
        super().__init__(epoch, finished, kept)
        self.epoch, self.finished, self.kept = epoch, finished, kept


def save_resume_state(
    path: Path, trained: TrainedModel, optimizer: torch.optim.Optimizer, generator: torch.Generator, history: list[dict], best: dict, best_state: dict,
    averaged: torch.optim.swa_utils.AveragedModel | None = None, *, data: dict | None = None,
) -> None:
    """Everything the next epoch depends on: weights, optimiser, every random state, history and selection (weights-only loadable).

    ``data`` is the fingerprint of the training data (:func:`~attentivechrome.training.fingerprint.data_fingerprint`):
    a resume checks it continues on the same data.
    """
    numpy_state = np.random.get_state()
    state = {
        "train_config": trained.config.to_dict(),
        "data": data,
        "model": trained.module.state_dict(),
        "optimizer": optimizer.state_dict(),
        "python_random": random.getstate(),
        "numpy_random": [numpy_state[0], torch.from_numpy(numpy_state[1].astype(np.int64)), *numpy_state[2:]],
        "torch_random": torch.get_rng_state(),
        "shuffle_generator": generator.get_state(),
        "history": history,
        "best": best,
        "best_state": best_state,
        "averaged": None if averaged is None else averaged.state_dict(),
    }
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


#: How a refused resume ends its message: the state stays, and what to do instead.
_START_AGAIN = "the state is kept; train without --resume to start again"


def load_resume_state(path: Path, config: TrainConfig, trained: TrainedModel | None = None, data: dict | None = None) -> dict:
    """The loop state saved in ``path``, checked to come from a run with the same settings and data, and to fit the model.

    Nothing is changed by the checks: a refused state stays where it is for a later ``--resume``.

    Raises
    ------
    ValueError
        One line naming ``path``: when the saved run had other settings or other data
        (``data``, the fingerprint of this run's data), or the file is damaged or does not fit
        ``trained`` (its weights, optimiser, random states, history or selected epoch).
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise TypeError(f"holds a {type(state).__name__}, not a resume state")
        saved = state["train_config"]
        saved = {**_NEWER_SETTINGS, **saved}  # a state written before a setting existed trained with its default
        differ = [f"{k} {saved.get(k)!r} -> {v!r}" for k, v in config.to_dict().items() if saved.get(k) != v and k != "device"]
    except Exception as err:  # noqa: BLE001 - torch raises many types on damaged files
        raise ValueError(f"{path}: cannot resume from it ({type(err).__name__}: {_first_line(err)}); {_START_AGAIN}") from None
    if differ:
        raise ValueError(f"{path}: the interrupted run had other settings ({'; '.join(differ)}); resume with its settings, or train without --resume to start again")
    if data is not None:
        recorded = state.get("data")
        if not isinstance(recorded, dict):
            raise ValueError(f"{path}: the interrupted run does not record what data it trained on (an older version wrote it); {_START_AGAIN}")
        changed = describe_difference(recorded, data)
        if changed:
            was = f" ({recorded['source']})" if recorded.get("source") else ""
            raise ValueError(f"{path}: the interrupted run trained on other data{was} ({'; '.join(changed)}); resume it on its data; {_START_AGAIN}")
    if trained is not None:
        problem = _resume_misfit(state, trained, config)
        if problem:
            raise ValueError(f"{path}: does not fit this run ({problem}); {_START_AGAIN}")
    return state


def _resume_misfit(state: dict, trained: TrainedModel, config: TrainConfig) -> str | None:
    """Why ``state`` cannot continue ``trained`` (``None`` when it can), found by restoring it into a copy of the loop.

    The copy has its own model, optimiser, averaged weights and generator, and the global random
    states are put back afterwards: the run itself is untouched.
    """
    module = copy.deepcopy(trained.module)
    saved_random = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    try:
        optimizer = build_optimizer(module, config)
        averaged = weight_average(module, config.ema)
        if (averaged is None) != (state.get("averaged") is None):
            return "averaged weights (--ema) " + ("missing" if averaged is not None else "present but the run averages none")
        try:
            history, best, best_state = restore(state, module, optimizer, generator=torch.Generator(), averaged=averaged)
        except StopIteration:
            return f"its selected epoch {state['best'].get('epoch')!r} is not in its history"
        epochs = [record.get("epoch") if isinstance(record, dict) else None for record in history]
        if not history or epochs != list(range(1, len(history) + 1)):
            return f"its history holds epochs {epochs}, not 1 to {len(history)}"
        if len(history) > config.epochs:
            return f"it ran {len(history)} epochs, more than --epochs {config.epochs}"
        task = get_task(config.task)
        metric = task.selection_metric
        if any(metric not in record for record in history):
            return f"a record of its history lacks {metric}"
        if any(task.better(record, best) for record in history):
            return f"its selected epoch {best['epoch']} is not the best of its history"
        module.load_state_dict(best_state)  # the selected weights, loaded at the end of the run
        for group in optimizer.param_groups:
            for param in group["params"]:
                for name, value in optimizer.state.get(param, {}).items():
                    if isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape != param.shape:
                        return f"optimiser {name} of shape {tuple(value.shape)} for a parameter of shape {tuple(param.shape)}"
    except Exception as err:  # noqa: BLE001 - load_state_dict, setstate and friends raise many types
        return f"{type(err).__name__}: {_first_line(err)}"
    finally:
        random.setstate(saved_random[0])
        np.random.set_state(saved_random[1])
        torch.set_rng_state(saved_random[2])
    return None


def _first_line(err: BaseException) -> str:
    """An error's message, cut to its first line (load_state_dict lists every mismatch on its own line)."""
    text = str(err).strip()
    return text.splitlines()[0].rstrip(":. \t") if text else type(err).__name__


def restore(
    state: dict, module: torch.nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator, averaged: torch.optim.swa_utils.AveragedModel | None
) -> tuple[list[dict], dict, dict]:
    """Put the loop back in the state :func:`save_resume_state` saved; return the history, best record and best weights."""
    module.load_state_dict(state["model"])
    if averaged is not None:
        averaged.load_state_dict(state["averaged"])
    optimizer.load_state_dict(state["optimizer"])
    random.setstate(_as_tuples(state["python_random"]))
    kind, keys, *rest = state["numpy_random"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), *rest))
    torch.set_rng_state(state["torch_random"])
    generator.set_state(state["shuffle_generator"])
    history = list(state["history"])
    # The best record is one of the history's records (the test scores are added to it at the end), as in an uninterrupted run.
    best = next(record for record in history if record["epoch"] == state["best"]["epoch"])
    return history, best, state["best_state"]


def _as_tuples(value):
    """Python's random state with its tuples back (torch.load keeps tuples, but lists are accepted too)."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value
