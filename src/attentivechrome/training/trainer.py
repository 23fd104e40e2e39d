"""The training loop: Adam, gradient clipping, model selection on validation AUROC.

:func:`train` returns a :class:`~attentivechrome.training.result.TrainingResult`: the
:class:`~attentivechrome.trained.TrainedModel` (the selected module with its marks, bins, task,
target scale and settings) and beside it the record of the selected epoch, its scores and the history.

A run directory receives these files once the run is complete (they are written in a staging
directory beside it and moved in at the end, so a failed or interrupted run writes nothing):

- ``config.json``: the training settings, model parameters and data;
- ``model.pt``: the selected (best validation AUROC) model, a self-describing checkpoint;
- ``metrics.json``: ``best_epoch``, ``valid_auroc``, ``test_auroc``, ``test_aupr``, ``epochs_run``,
  ``stop_reason`` and the history (per epoch: the training loss and the validation scores; the
  selected epoch's record also holds its test scores: the test split is scored once, at the end);
- ``test_predictions.tsv``: ``gene_id``, ``probability``, ``label`` of the selected model.

With ``task='regression'`` the labels hold float targets (log1p expression, see
:mod:`attentivechrome.data.expression`); the loss is the mean squared error on targets
standardised with the training mean and deviation, the epoch is selected on validation
Pearson correlation, the metrics are ``*_pearson``, ``*_spearman`` and ``*_mse`` on the
original scale, and the predictions file has ``gene_id``, ``prediction``, ``target``.
Models fitted by scikit-learn (:func:`~attentivechrome.models.classical.is_fitted_once`)
are fitted once instead of running epochs and write the same files with one record.
"""

from __future__ import annotations

import contextlib
import inspect
import random
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import _settings
from .._io import atomic_path, move_files, stale_stages, staging_directory, write_text_atomic
from .._progress import progress_bar
from .._version import __version__
from ..config import TrainConfig
from ..data.dataset import HistoneData
from ..exceptions import UndefinedMetricError
from ..inference import predict_tensor, write_prediction_table
from ..models.base import init_forget_gate_bias
from ..models.checkpoint import RUN_MODEL_FILE
from ..models.classical import is_fitted_once
from ..models.registry import MODEL_REGISTRY, get_model
from ..data.reference import ReferenceTable
from ..tasks import Task, get_task
from ..trained import TargetScale, TrainedModel
from .result import TrainingRecord, TrainingResult
from . import distributed
from .distributed import Ranks
from .fingerprint import data_fingerprint, describe_difference
from .pooling import PooledData, Splits, as_cells, attach_reference, pool_cells

logger = logging.getLogger(__name__)


def build_model(config: TrainConfig, n_marks: int, n_prior: int = 0) -> nn.Module:
    """The untrained model a config describes (weights drawn from the config's seed); ``n_prior`` reference-prior features beside the marks."""
    extra = {"missing_marks": True} if config.missing_marks else {}
    if n_prior:
        extra["n_prior"] = n_prior
    if config.dropout is not None:
        if "dropout" not in inspect.signature(MODEL_REGISTRY[config.model]).parameters:
            raise ValueError(f"{config.model} has no dropout to set (drop --dropout)")
        extra["dropout"] = config.dropout
    model = get_model(config.model, n_marks=n_marks, transform=config.transform, **extra)
    if config.forget_bias is not None and not init_forget_gate_bias(model, config.forget_bias) and not is_fitted_once(model):
        logger.warning("%s has no LSTM: forget_bias %g changes nothing", config.model, config.forget_bias)
    return model


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam, or AdamW (decoupled weight decay) when the config asks for weight decay."""
    fused = _fused_adam_applies(model)
    if config.weight_decay > 0:
        return torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=fused)
    return torch.optim.Adam(model.parameters(), lr=config.lr, fused=fused)


def train(
    splits: Splits | Mapping[str, Splits],
    config: TrainConfig | None = None,
    *,
    out_dir: str | Path | None = None,
    data_source: str = "",
    on_epoch: Callable[[dict], None] | None = None,
    progress: bool | None = None,
    ranks: Ranks | None = None,
    resume: bool = False,
    reference: ReferenceTable | None = None,
    cell: str | None = None,
) -> TrainingResult:
    """Train a model on ``splits['train']``, select it on ``splits['valid']``, score ``splits['test']``.

    The model trains with the PyTorch threads :func:`attentivechrome._settings.training_threads` gives it.

    Parameters
    ----------
    splits
        ``train``, ``valid`` and ``test`` :class:`HistoneData` with labels; or, to pool several
        cells, ``{cell name: such splits}``: the train splits are trained on together, the
        epoch is selected on the pooled valid splits, and the test metrics are reported pooled
        and per cell (``record.cell_scores``). Marks are matched by name (see
        :mod:`attentivechrome.training.pooling`) and each cell is normalised from its own input
        (``config.normalize``).
    config
        Hyper-parameters; default :class:`TrainConfig()` (AttentiveChrome with its tuned defaults).
    out_dir
        Run directory to write (see the module docstring); nothing is written when ``None``.
    on_epoch
        Called after each epoch with that epoch's record (epoch, loss, AUROCs, seconds).
    progress
        Show a progress bar per epoch; default: the package setting.
    ranks
        Train as one rank of a DDP group (see :mod:`attentivechrome.training.distributed`, which
        starts it): each rank computes on its share of every global batch, and only rank 0
        writes ``out_dir``. Default: one process.
    resume
        Continue the run that a killed or interrupted call with the same ``out_dir`` and settings
        left in its staging directory (after each epoch the model, optimiser, random states,
        history and selection state are kept there, in ``resume.pt``): the result is the same,
        bit for bit on a CPU, as an uninterrupted run's. Without such a run, training starts at epoch 1.
    reference
        The reference-expression table (:func:`attentivechrome.data.reference.read_reference`) of
        a model with ``config.reference`` other than ``none``: each gene's prior is read from it
        beside the marks, never from the cell's own column.
    cell
        The name of the cell whose splits ``splits`` are (``E012``, ``roadmap-e012``): the column
        its prior leaves out. Required with a reference when ``splits`` is one cell's splits;
        pooled cells are named by their keys.


    Returns
    -------
    TrainingResult
        ``model``: the selected :class:`~attentivechrome.trained.TrainedModel`; ``record``: its
        epoch, validation and test scores and the history (``model, record = train(...)``).
    """
    config = config or TrainConfig()
    started = time.perf_counter()
    device = _settings.resolve_device(config.device) if ranks is None else ranks.device
    if ranks is not None and not ranks.writes:
        out_dir = None  # only rank 0 writes the run directory
    cells = as_cells(splits, cell)
    reference_record = None
    if config.reference != "none":
        if reference is None:
            raise ValueError(f"reference {config.reference!r} needs the reference-expression table (reference=read_reference(path))")
        if "cell" in cells and cell is None:
            raise ValueError("name the cell (cell='E012', or its directory name) so that its own column of the reference is left out")
        cells, reference_record, _ = attach_reference(cells, reference, config)
    elif reference is not None:
        raise ValueError("a reference table was given but config.reference is 'none'; set reference='new-cell' (or 'fitted')")
    pooled = pool_cells(cells, config)
    check_both_classes(pooled.splits, config.task)
    generator = _settings.seed_everything(config.seed)
    n_prior = 0 if pooled.splits["train"].prior is None else pooled.splits["train"].prior.shape[1]
    model = build_model(config, pooled.splits["train"].n_marks, n_prior).to(device)
    with _settings.torch_threads(_settings.training_threads(uses_kernel(model, device))):
        return _train_model(
            model, config, pooled, device, generator, started, out_dir=out_dir, data_source=data_source, on_epoch=on_epoch, progress=progress, ranks=ranks,
            resume=resume, reference_record=reference_record,
        )  # fmt: skip


def uses_kernel(model: nn.Module, device: torch.device) -> bool:
    """Whether the model's heavy work runs in the compiled CPU encoder kernel (AttentiveChrome's bin-level LSTMs)."""
    return device.type == "cpu" and getattr(model, "encoder", None) == "fast"


def _train_model(
    model: nn.Module,
    config: TrainConfig,
    pooled: PooledData,
    device: torch.device,
    generator: torch.Generator,
    started: float,
    *,
    out_dir: str | Path | None,
    data_source: str,
    on_epoch: Callable[[dict], None] | None,
    progress: bool | None,
    ranks: Ranks | None,
    resume: bool,
    reference_record: dict | None = None,
) -> TrainingResult:
    """:func:`train` once the model is built: fit it (epochs, or once for scikit-learn models), select, score and write."""
    splits = pooled.splits
    train_data, valid_data, test_data = splits["train"], splits["valid"], splits["test"]
    task = get_task(config.task)
    scale = TargetScale.fit(train_data.labels) if task.regresses else None
    trained = TrainedModel(
        module=model, model_name=config.model, marks=pooled.marks, n_bins=train_data.n_bins, task=config.task, target_scale=scale,
        normalization=pooled.normalization, config=config, reference=reference_record,
    )  # fmt: skip
    if is_fitted_once(model) and ranks is not None and ranks.world_size > 1:
        raise ValueError(f"{config.model} is fitted once by scikit-learn; it cannot train on several processes (drop --distributed)")
    if is_fitted_once(model):  # scikit-learn baselines: one fit instead of epochs
        return _fit_once(trained, pooled, out_dir=out_dir, data_source=data_source, on_epoch=on_epoch, started=started, device=device)
    if ranks is not None and ranks.world_size > 1:
        # The weights started equal on every rank (same seed); dropout inside a model must not draw the
        # same masks on every rank's share, so the global generator now differs per rank. (Batch order
        # and mark dropout use `generator`, the same on every rank.)
        torch.manual_seed(config.seed * 7919 + ranks.rank)
    optimizer = build_optimizer(model, config)
    loss_fn = task.loss()

    # Whole splits live on the device once; batches are index slices (no per-batch host work).
    x_train, y_train = _to_device(train_data, device, ranks)  # a DDP rank keeps only its shard of the training genes
    x_valid = _to_device(valid_data, device)[0]  # scored every epoch; the test split only once, with the selected weights
    if scale is not None:
        y_train = scale.encode(y_train)

    out = Path(out_dir) if out_dir is not None else None
    if resume and ranks is not None and ranks.world_size > 1:
        raise ValueError("--resume continues a run of one process; it cannot resume a --distributed run")
    previous = resumable_stage(out) if resume and out is not None else None
    resume_state = None if previous is None else _load_resume_state(previous / RESUME_FILE, config, trained, data_fingerprint(pooled, data_source))  # checked before the stage is touched
    # The run is written to a staging directory and moved into out_dir only once it is complete:
    # a failed or interrupted run leaves nothing behind, and never mixes with an earlier run there.
    # Ctrl-C keeps the stage (with the last epoch's state) for --resume; a killed process leaves it too.
    stages = staging_directory(out, reuse=previous, keep_on_interrupt=True) if out is not None else contextlib.nullcontext()
    with stages as stage:
        best, best_state, history, stop_reason = _train_epochs(
            trained, optimizer, loss_fn, device, generator, pooled, stage,
            x_train=x_train, y_train=y_train, x_valid=x_valid, on_epoch=on_epoch, progress=progress, data_source=data_source, ranks=ranks,
            resume_state=resume_state,
        )  # fmt: skip
        model.load_state_dict(best_state)
        model.eval()
        test_predictions = trained.decode(
            predict_tensor(model, _to_device(test_data, device)[0], batch_size=config.eval_batch_size, with_attention=False, prior=_prior_tensor(test_data, device))[0].cpu().numpy()
        )
        best.update(task.scores("test", test_data.labels, test_predictions, test_data.baseline))  # the selected epoch's record gains its test scores
        cell_scores = _cell_scores(trained, pooled, test_predictions)
        if stage is not None:
            trained.epoch = best["epoch"]
            trained.save(stage / RUN_MODEL_FILE)
            test_cells = pooled.test_cells if len(pooled.cells) > 1 else None
            _write_predictions(stage / "test_predictions.tsv", test_data, test_predictions, task=task, cells=test_cells)
            _write_metrics(stage / "metrics.json", best, history, cell_scores, stop_reason=stop_reason)
            (stage / RESUME_FILE).unlink(missing_ok=True)  # the run is complete: nothing to resume
            move_files(stage, out)

    trained.epoch = best["epoch"]
    record = TrainingRecord(
        best_epoch=best["epoch"], scores=_metric_fields(best), history=history, seconds=time.perf_counter() - started, out_dir=out,
        cell_scores=cell_scores, stop_reason=stop_reason,
    )  # fmt: skip
    return TrainingResult(trained, record)


def _train_epochs(
    trained: TrainedModel,
    optimizer: torch.optim.Optimizer,
    loss_fn: nn.Module,
    device: torch.device,
    generator: torch.Generator,
    pooled: PooledData,
    out: Path | None,
    *,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_valid: torch.Tensor,
    on_epoch: Callable[[dict], None] | None,
    progress: bool | None,
    data_source: str,
    ranks: Ranks | None = None,
    resume_state: dict | None = None,
) -> tuple[dict, dict[str, torch.Tensor], list[dict], str]:
    """Run the epochs, scoring the valid split after each; write ``config.json`` and the metrics so far into ``out`` (when given).

    Returns the best record, its weights, the history and why training ended (``epochs``, or
    ``patience`` when ``config.patience`` epochs passed without a better validation score).
    After each epoch the whole state of the loop is saved to ``out / RESUME_FILE``; ``resume_state``
    (such a file's contents, from :func:`_load_resume_state`) continues from it.
    """
    model, config, decode, task = trained.module, trained.config, trained.decode, trained.task_spec
    step_model = model if ranks is None else distributed.wrap(model, ranks)
    p_train, p_valid = _prior_tensor(pooled.splits["train"], device, ranks), _prior_tensor(pooled.splits["valid"], device)
    train_data, valid_data = pooled.splits["train"], pooled.splits["valid"]
    if out is not None:
        write_text_atomic(out / "config.json", json.dumps(_run_config(config, model, pooled, data_source, trained.reference), indent=2) + "\n")
    fingerprint = data_fingerprint(pooled, data_source) if out is not None else None  # what the resume state was trained on
    history: list[dict] = []
    best: dict | None = None
    best_state: dict[str, torch.Tensor] | None = None
    n_train = train_data.n_genes  # every rank draws batches over all genes; a DDP rank holds a shard of them
    present = torch.from_numpy(~np.isnan(train_data.counts).all(axis=1)) if config.mark_dropout > 0 else None  # (genes, marks), every gene
    n_batches = (n_train + config.batch_size - 1) // config.batch_size
    averaged = weight_average(model, config.ema)
    first_epoch = 1
    if resume_state is not None:
        history, best, best_state = _restore(resume_state, trained, optimizer, generator, averaged)
        first_epoch = len(history) + 1
        if config.patience and len(history) - best["epoch"] >= config.patience and len(history) < config.epochs:
            return best, best_state, history, "patience"  # the interrupted run had already stopped early
    epoch = first_epoch - 1
    try:
        for epoch in range(first_epoch, config.epochs + 1):
            epoch_start = time.perf_counter()
            model.train()
            order = torch.randperm(n_train, generator=generator).to(device)  # the same on every rank (same seed)
            loss_sum = torch.zeros((), device=device)
            with progress_bar(n_batches, f"epoch {epoch}/{config.epochs}", enabled=progress) as advance:
                for b in range(n_batches):
                    index = order[b * config.batch_size : (b + 1) * config.batch_size]  # the global batch
                    # Drawn for the global batch from the shared generator, so every rank hides the same marks.
                    hide = None if present is None else mark_dropout_mask(present[index.cpu()], config.mark_dropout, generator).to(device)
                    weight, n_mine = 1.0, index.shape[0]
                    if ranks is None or ranks.world_size == 1:
                        x_batch, y_batch = x_train[index], y_train[index]
                        p_batch = None if p_train is None else p_train[index]
                    else:  # the genes of the batch this rank holds; DDP averages over ranks, the weight makes it the global mean
                        mine = index % ranks.world_size == ranks.rank
                        local = index[mine] // ranks.world_size  # position in this rank's shard
                        n_mine = local.shape[0]
                        weight = n_mine * ranks.world_size / index.shape[0]
                        if n_mine == 0:  # a short last batch: take part in the all-reduce with a zero gradient
                            local = local.new_zeros(1)
                        x_batch, y_batch = x_train[local], y_train[local]
                        p_batch = None if p_train is None else p_train[local]
                        hide = None if hide is None else (hide[mine] if n_mine else torch.zeros_like(hide[:1]))
                    if hide is not None:
                        x_batch = x_batch.masked_fill(hide.unsqueeze(1), float("nan"))
                    logits = (step_model(x_batch) if p_batch is None else step_model(x_batch, p_batch)).logits
                    loss = loss_fn(logits, y_batch)
                    optimizer.zero_grad(set_to_none=True)
                    if config.schedule != "constant":
                        set_learning_rate(optimizer, scheduled_lr(config, (epoch - 1) * n_batches + b, config.epochs * n_batches))
                    (loss * weight if weight != 1.0 else loss).backward()
                    nn.utils.clip_grad_norm_(model.parameters(), config.clip)
                    optimizer.step()
                    if averaged is not None:
                        averaged.update_parameters(model)
                    loss_sum += loss.detach() * n_mine
                    advance(1)
            if ranks is not None:
                loss_sum = distributed.sum_over_ranks(loss_sum)

            scored = model if averaged is None else averaged.module  # the weights this epoch is judged (and kept) by
            valid_predictions = decode(predict_tensor(scored, x_valid, batch_size=config.eval_batch_size, with_attention=False, prior=p_valid)[0].cpu().numpy())
            record = {
                "epoch": epoch,
                "train_loss": float(loss_sum) / n_train,
                **task.scores("valid", valid_data.labels, valid_predictions, valid_data.baseline),
                "seconds": time.perf_counter() - epoch_start,
            }
            history.append(record)
            improved = best is None or task.better(record, best)
            if improved:
                best = record
                best_state = {k: v.detach().clone() for k, v in scored.state_dict().items()}
            record["selected"] = improved
            if out is not None:
                _write_metrics(out / "metrics.json", best, history)
            if on_epoch is not None:
                on_epoch(record)
            logger.info(_epoch_line(record, config.epochs, task))
            if out is not None:  # everything the next epoch depends on, for --resume
                _save_resume_state(out / RESUME_FILE, trained, optimizer, generator, history, best, best_state, averaged, data=fingerprint)
            if config.patience and epoch - best["epoch"] >= config.patience and epoch < config.epochs:
                logger.info("no better validation score in %d epochs: stopped after epoch %d, kept epoch %d", config.patience, epoch, best["epoch"])
                return best, best_state, history, "patience"

    except KeyboardInterrupt as err:
        kept = out / RESUME_FILE if out is not None and (out / RESUME_FILE).is_file() else None
        raise TrainingInterrupted(epoch, len(history), kept) from err

    assert best is not None and best_state is not None  # epochs >= 1 is validated in TrainConfig
    return best, best_state, history, "epochs"


def scheduled_lr(config: TrainConfig, step: int, total_steps: int) -> float:
    """The learning rate of optimisation step ``step`` (from 0) of ``total_steps``, by ``config.schedule``.

    A function of the step alone, so a resumed run continues the schedule without saving it.
    """
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * min(step, total_steps) / max(total_steps, 1)))
    return config.lr


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate (Adam's and AdamW's ``lr`` is read at each step)."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def weight_average(model: nn.Module, decay: float) -> torch.optim.swa_utils.AveragedModel | None:
    """An exponential moving average of the weights, updated after every step (``None`` for ``decay`` 0).

    With it, each epoch is scored, selected and saved with the averaged weights: a smoother
    estimate of the weights than the last step's.
    """
    if decay <= 0:
        return None
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def check_both_classes(splits: Mapping[str, HistoneData], task: str) -> None:
    """Before any epoch: the valid and test splits of a classification hold both classes (AUROC needs them).

    Raises
    ------
    UndefinedMetricError
        Naming the split (and its file) whose genes all have one label.
    """
    if not get_task(task).binary:
        return
    for name in ("valid", "test"):
        labels = splits[name].labels
        classes = np.unique(labels) if labels is not None else np.array([])
        if len(classes) < 2:
            where = f" ({splits[name].source})" if splits[name].source else ""
            which = f"all have label {int(classes[0])}" if len(classes) else "have no labels"
            raise UndefinedMetricError(
                f"the {name} split{where}: its {splits[name].n_genes} genes {which}, so AUROC is undefined on it; "
                "AUROC selects and scores the model: each split needs genes of both classes (0 and 1)"
            )


#: In a run's staging directory: the state of the training loop after the last finished epoch.
RESUME_FILE = "resume.pt"


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during training: which epoch it stopped in, how many finished, and where their state is kept (or ``None``)."""

    def __init__(self, epoch: int, finished: int, kept: Path | None) -> None:
        super().__init__(epoch, finished, kept)
        self.epoch, self.finished, self.kept = epoch, finished, kept


def resumable_stage(out: str | Path) -> Path | None:
    """The staging directory a killed or interrupted run of ``out`` left with its loop state, newest first; ``None`` if none."""
    return next((stage for stage in stale_stages(out) if (stage / RESUME_FILE).is_file()), None)


def _save_resume_state(
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


def _load_resume_state(path: Path, config: TrainConfig, trained: TrainedModel | None = None, data: dict | None = None) -> dict:
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
    import copy
    import types

    module = copy.deepcopy(trained.module)
    saved_random = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    try:
        optimizer = build_optimizer(module, config)
        averaged = weight_average(module, config.ema)
        if (averaged is None) != (state.get("averaged") is None):
            return "averaged weights (--ema) " + ("missing" if averaged is not None else "present but the run averages none")
        try:
            history, best, best_state = _restore(state, types.SimpleNamespace(module=module), optimizer, generator=torch.Generator(), averaged=averaged)
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


def _restore(
    state: dict, trained: TrainedModel, optimizer: torch.optim.Optimizer, generator: torch.Generator, averaged: torch.optim.swa_utils.AveragedModel | None
) -> tuple[list[dict], dict, dict]:
    """Put the loop back in the state :func:`_save_resume_state` saved; return the history, best record and best weights."""
    trained.module.load_state_dict(state["model"])
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


def mark_dropout_mask(present: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Which marks to hide: bool (genes, marks), each present mark with probability ``p``, at least one kept per gene.

    ``present`` is bool (genes, marks) on the CPU. The draws depend only on ``present`` and the
    generator, so DDP ranks that share the generator hide the same marks of a global batch.
    """
    drop = (torch.rand(present.shape, generator=generator) < p) & present
    emptied = ~(present & ~drop).any(dim=1)  # genes that would lose every mark: keep one of theirs
    if emptied.any():
        keep = torch.multinomial(present[emptied].float(), 1, generator=generator).squeeze(1)
        drop[emptied.nonzero().squeeze(1), keep] = False
    return drop


def _cell_scores(trained: TrainedModel, pooled: PooledData, test_predictions: np.ndarray) -> dict[str, dict[str, float]]:
    """The selected model's test metrics per cell (empty for a single cell: the pooled metrics are that cell's)."""
    if len(pooled.cells) < 2:
        return {}
    labels = pooled.splits["test"].labels
    scores = {}
    for cell in pooled.cells:
        mine = pooled.test_cells == cell
        baseline = None if pooled.splits["test"].baseline is None else pooled.splits["test"].baseline[mine]
        try:
            scores[cell] = trained.task_spec.scores("test", labels[mine], test_predictions[mine], baseline)
        except UndefinedMetricError:  # a cell whose test genes are all of one class: its AUROC is undefined
            scores[cell] = {f"test_{m}": float("nan") for m in ("auroc", "aupr")}
    return scores


def _fused_adam_applies(model: nn.Module) -> bool:
    """Whether Adam can update all parameters in one fused kernel (float parameters on CPU or CUDA)."""
    params = list(model.parameters())
    return bool(params) and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)


def epoch_summary(record: dict, epochs: int, task: str | Task = "classification") -> str:
    """One line describing an epoch, for logs and the CLI."""
    return _epoch_line(record, epochs, get_task(task))


def _epoch_line(record: dict, epochs: int, task: Task) -> str:
    """The epoch's loss and validation scores (the test split is scored once, for the selected epoch)."""
    mark = " *" if record.get("selected") else ""
    scores = task.epoch_scores(record)
    return f"epoch {record['epoch']:>3}/{epochs}  loss {record['train_loss']:.4f}  {scores}  {record['seconds']:.1f}s{mark}"


def _to_device(data: HistoneData, device: torch.device, ranks: Ranks | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Counts and labels on the device; for a DDP rank only its shard (genes ``i`` with ``i % world_size == rank``)."""
    x = torch.from_numpy(np.ascontiguousarray(data.counts, dtype=np.float32))
    y = None if data.labels is None else torch.from_numpy(data.labels.astype(np.float32))
    if ranks is not None and ranks.world_size > 1:
        x, y = x[ranks.rank :: ranks.world_size], None if y is None else y[ranks.rank :: ranks.world_size]
    return x.to(device), None if y is None else y.to(device)


def _write_predictions(path: Path, data: HistoneData, values: np.ndarray, *, task: Task, cells: np.ndarray | None = None) -> None:
    """The test predictions (decoded ``values``), in the task's columns; with ``cells`` (a pooled run), a ``cell`` column first."""
    write_prediction_table(path, data.gene_ids, task.prediction_columns(values, data.labels, data.baseline), cells=cells)


def _prior_tensor(data: HistoneData, device: torch.device, ranks: Ranks | None = None) -> torch.Tensor | None:
    """The genes' reference-prior features on the device (a DDP rank's shard, as :func:`_to_device`), or ``None``."""
    if data.prior is None:
        return None
    prior = torch.from_numpy(np.ascontiguousarray(data.prior, dtype=np.float32))
    if ranks is not None and ranks.world_size > 1:
        prior = prior[ranks.rank :: ranks.world_size]
    return prior.to(device)


def _write_metrics(path: Path, best: dict, history: list[dict], cell_scores: dict | None = None, *, stop_reason: str | None = None) -> None:
    """``metrics.json``: the selected epoch's scores, how many epochs ran and why they stopped (once known), the history."""
    metrics = {"best_epoch": best["epoch"], **_metric_fields(best), "epochs_run": len(history)}
    if stop_reason is not None:
        metrics["stop_reason"] = stop_reason
    metrics["history"] = history
    if cell_scores:
        metrics["cells"] = cell_scores
    write_text_atomic(path, json.dumps(metrics, indent=2) + "\n")


def _metric_fields(record: dict) -> dict[str, float]:
    """The validation and test metrics of a record."""
    return {k: v for k, v in record.items() if k.startswith(("valid_", "test_"))}


def _run_config(config: TrainConfig, model: nn.Module, pooled: PooledData, data_source: str, trained_reference: dict | None = None) -> dict:
    splits = pooled.splits
    train_data = splits["train"]
    config_record = {
        "train": config.to_dict(),
        "model_name": config.model,
        "model_params": model.init_params(),
        "marks": list(train_data.marks),
        "n_bins": train_data.n_bins,
        "data": data_source,
        "genes": {name: split.n_genes for name, split in splits.items()},
        "package_version": __version__,
    }
    if trained_reference is not None:
        config_record["reference"] = trained_reference
    if len(pooled.cells) > 1:
        config_record["cells"] = list(pooled.cells)
    return config_record


def _fit_once(
    trained: TrainedModel,
    pooled: PooledData,
    *,
    out_dir: str | Path | None,
    data_source: str,
    on_epoch: Callable[[dict], None] | None,
    started: float,
    device: torch.device,
) -> TrainingResult:
    """Fit a scikit-learn baseline once (it selects its own complexity on valid) and score it like an epoch."""
    model, config, task = trained.module, trained.config, trained.task_spec
    splits = pooled.splits
    train_data, valid_data, test_data = splits["train"], splits["valid"], splits["test"]
    encode = trained.target_scale.encode if trained.target_scale is not None else (lambda y: y)
    model.fit(
        train_data.counts, encode(train_data.labels), valid_data.counts, encode(valid_data.labels), task="classification" if task.binary else "regression",
        seed=config.seed, prior=train_data.prior, valid_prior=valid_data.prior,
    )  # fmt: skip
    model.to(device).eval()
    logits = {
        name: predict_tensor(model, _to_device(data, device)[0], batch_size=config.eval_batch_size, with_attention=False, prior=_prior_tensor(data, device))[0].cpu().numpy()
        for name, data in splits.items()
    }
    y_train = encode(np.asarray(train_data.labels, dtype=np.float64))
    if task.binary:
        train_loss = float(np.mean(np.logaddexp(0.0, logits["train"]) - y_train * logits["train"]))  # binary cross-entropy on logits
    else:
        train_loss = float(np.mean((logits["train"] - y_train) ** 2))
    record = {
        "epoch": 1,
        "train_loss": train_loss,
        **task.scores("valid", valid_data.labels, trained.decode(logits["valid"]), valid_data.baseline),
        **task.scores("test", test_data.labels, trained.decode(logits["test"]), test_data.baseline),
        "seconds": time.perf_counter() - started,
        "selected": True,
    }
    trained.epoch = 1
    cell_scores = _cell_scores(trained, pooled, trained.decode(logits["test"]))
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        with staging_directory(out) as stage:  # all four files or none, as in train()
            write_text_atomic(stage / "config.json", json.dumps(_run_config(config, model, pooled, data_source, trained.reference), indent=2) + "\n")
            trained.save(stage / RUN_MODEL_FILE)
            test_cells = pooled.test_cells if len(pooled.cells) > 1 else None
            _write_predictions(stage / "test_predictions.tsv", test_data, trained.decode(logits["test"]), task=task, cells=test_cells)
            _write_metrics(stage / "metrics.json", record, [record], cell_scores, stop_reason="fitted once")
            move_files(stage, out)
    if on_epoch is not None:
        on_epoch(record)
    logger.info(_epoch_line(record, 1, task))
    record = TrainingRecord(
        best_epoch=1, scores=_metric_fields(record), history=[record], seconds=time.perf_counter() - started, out_dir=out, cell_scores=cell_scores,
        stop_reason="fitted once",
    )  # fmt: skip
    return TrainingResult(trained, record)
