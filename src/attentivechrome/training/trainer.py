"""Train a model: build it, fit it (epochs, or once for scikit-learn models), select, score the test split, write the run.

:func:`train` returns a :class:`~attentivechrome.training.result.TrainingResult`: the
:class:`~attentivechrome.trained.TrainedModel` (the selected module with its marks, bins, task,
target scale and settings) and beside it the record of the selected epoch, its scores and the history.

A run directory (:class:`~attentivechrome.run_directory.RunDirectory`, which alone knows its
layout) receives its files once the run is complete: they are written in a staging directory
beside it and moved in at the end, so a failed or interrupted run writes nothing.

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

How the model is fitted is a :class:`~attentivechrome.training.fitting.Fitter`: epochs of
gradient steps (:mod:`~attentivechrome.training.epochs`, the loop of
:mod:`~attentivechrome.training.loop` with its callbacks), or one fit of a scikit-learn model
(:mod:`~attentivechrome.training.fit_once`), which writes the same files with one record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import _settings
from ..config import TrainConfig
from ..data.dataset import HistoneData
from ..data.reference import ReferenceTable
from ..exceptions import UndefinedMetricError
from ..models.classical import is_fitted_once
from ..run_directory import RunDirectory
from ..tasks import Task, get_task
from ..trained import TargetScale, TrainedModel
from .build import build_model, build_optimizer, uses_kernel
from .callbacks import epoch_line
from .distributed import Ranks
from .epochs import EpochFitter
from .fit_once import FitOnce
from .fitting import Fitter
from .pooling import PooledData, Splits, as_cells, attach_reference, pool_cells
from .result import TrainingRecord, TrainingResult
from .resume import TrainingInterrupted
from .run_files import metric_fields, write_config, write_metrics, write_test_predictions

__all__ = ["TrainingInterrupted", "build_model", "build_optimizer", "check_both_classes", "epoch_summary", "train"]


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
    n_prior = 0 if pooled.splits["train"].prior is None else pooled.splits["train"].prior.shape[1]
    if config.ensemble > 1:
        return _train_ensemble(
            pooled, config, device, n_prior, started, out_dir=out_dir, data_source=data_source, on_epoch=on_epoch, progress=progress, ranks=ranks,
            resume=resume, reference_record=reference_record,
        )  # fmt: skip
    generator = _settings.seed_everything(config.seed)
    model = build_model(config, pooled.splits["train"].n_marks, n_prior).to(device)
    with _settings.torch_threads(_settings.training_threads(uses_kernel(model, device))):
        return _train_model(
            model, config, pooled, device, generator, started, out_dir=out_dir, data_source=data_source, on_epoch=on_epoch, progress=progress, ranks=ranks,
            resume=resume, reference_record=reference_record,
        )  # fmt: skip


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
    """:func:`train` once the model is built: fit it, select, score and write the run directory."""
    train_data = pooled.splits["train"]
    task = get_task(config.task)
    scale = TargetScale.fit(train_data.labels) if task.regresses else None
    trained = TrainedModel(
        module=model, model_name=config.model, marks=pooled.marks, n_bins=train_data.n_bins, task=config.task, target_scale=scale,
        normalization=pooled.normalization, config=config, reference=reference_record,
    )  # fmt: skip
    run = RunDirectory(out_dir) if out_dir is not None else None
    fitter: Fitter
    if is_fitted_once(model):  # scikit-learn baselines: one fit instead of epochs
        if ranks is not None and ranks.world_size > 1:
            raise ValueError(f"{config.model} is fitted once by scikit-learn; it cannot train on several processes (drop --distributed)")
        fitter = FitOnce(trained, pooled, device, started, on_epoch)
    else:
        fitter = EpochFitter(trained, pooled, device, generator, run=run, data_source=data_source, on_epoch=on_epoch, progress=progress, ranks=ranks, resume=resume)
    # The run is written to a staging directory and moved into out_dir only once it is complete:
    # a failed or interrupted run leaves nothing behind, and never mixes with an earlier run there.
    # Ctrl-C keeps an epoch loop's stage (with the last epoch's state) for --resume; a killed process leaves it too.
    stages = run.staging(reuse=fitter.reuse, keep_on_interrupt=fitter.resumable) if run is not None else contextlib.nullcontext()
    with stages as stage:
        if stage is not None:
            write_config(stage, config, model, pooled, data_source, trained.reference)
        fitted = fitter.fit(stage)
        trained.epoch = fitted.best["epoch"]
        cell_scores = _cell_scores(trained, pooled, fitted.test_predictions)
        if stage is not None:
            trained.save(stage.model)
            write_test_predictions(stage, pooled.splits["test"], fitted.test_predictions, task=task, cells=pooled.test_cells if len(pooled.cells) > 1 else None)
            write_metrics(stage, fitted.best, fitted.history, cell_scores, stop_reason=fitted.stop_reason)
            run.publish(stage)
    record = TrainingRecord(
        best_epoch=fitted.best["epoch"], scores=metric_fields(fitted.best), history=fitted.history, seconds=time.perf_counter() - started,
        out_dir=None if run is None else run.path, cell_scores=cell_scores, stop_reason=fitted.stop_reason,
    )  # fmt: skip
    return TrainingResult(trained, record)


def _train_ensemble(
    pooled: PooledData,
    config: TrainConfig,
    device: torch.device,
    n_prior: int,
    started: float,
    *,
    out_dir: str | Path | None,
    data_source: str,
    on_epoch: Callable[[dict], None] | None,
    progress: bool | None,
    ranks: Ranks | None,
    resume: bool,
    reference_record: dict | None,
) -> TrainingResult:
    """``config.ensemble`` members trained one after another (seeds ``seed``, ``seed + 1``, ...), kept as one model.

    Each member trains exactly as ``train`` with its seed alone would (same data, settings and
    random draws), in memory; the run directory then receives the ensemble: its checkpoint, its
    valid and test scores, its test predictions, and in ``metrics.json`` each member's seed,
    selected epoch, scores and history (``members``). ``best_epoch`` is the latest of the members'.
    """
    from ..models.ensemble import Ensemble

    if ranks is not None:
        raise ValueError("an ensemble trains its members one after another in one process; drop --distributed (or train the members apart)")
    if resume:
        raise ValueError("an ensemble cannot be resumed (its members train in memory); train it again without --resume")
    members: list[TrainedModel] = []
    records: list[TrainingRecord] = []
    for i in range(config.ensemble):
        member_config = dataclasses.replace(config, seed=config.seed + i, ensemble=1)
        generator = _settings.seed_everything(member_config.seed)
        model = build_model(member_config, pooled.splits["train"].n_marks, n_prior).to(device)
        if is_fitted_once(model):
            raise ValueError(f"{config.model} is fitted once by scikit-learn, with nothing to average over seeds; train it without --ensemble")
        if on_epoch is not None:
            on_epoch({"member": i + 1, "members": config.ensemble, "seed": member_config.seed})
        with _settings.torch_threads(_settings.training_threads(uses_kernel(model, device))):
            member, record = _train_model(
                model, member_config, pooled, device, generator, time.perf_counter(), out_dir=None, data_source=data_source,
                on_epoch=on_epoch, progress=progress, ranks=None, resume=False, reference_record=reference_record,
            )  # fmt: skip
        members.append(member)
        records.append(record)
    trained = dataclasses.replace(members[0], module=Ensemble([m.module for m in members]).eval(), config=config, epoch=None)
    task = get_task(config.task)
    scores, predictions = {}, {}
    for split in ("valid", "test"):
        data = pooled.splits[split]
        predictions[split] = trained.predict_prepared(data, batch_size=config.eval_batch_size, device=device, with_attention=False).logits
        scores.update(task.scores(split, data.labels, predictions[split], data.baseline))
    best_epoch = max(r.best_epoch for r in records)
    cell_scores = _cell_scores(trained, pooled, predictions["test"])
    summary = [
        {"seed": config.seed + i, "best_epoch": r.best_epoch, **r.scores, "epochs_run": len(r.history), "stop_reason": r.stop_reason, "history": r.history}
        for i, r in enumerate(records)
    ]
    run = RunDirectory(out_dir) if out_dir is not None else None
    if run is not None:
        with run.staging() as stage:
            write_config(stage, config, trained.module, pooled, data_source, trained.reference)
            trained.save(stage.model)
            write_test_predictions(stage, pooled.splits["test"], predictions["test"], task=task, cells=pooled.test_cells if len(pooled.cells) > 1 else None)
            best = {"epoch": best_epoch, **scores}
            write_metrics(stage, best, [], cell_scores, stop_reason="ensemble", members=summary)
            run.publish(stage)
    record = TrainingRecord(
        best_epoch=best_epoch, scores=scores, history=[], seconds=time.perf_counter() - started, out_dir=None if run is None else run.path,
        cell_scores=cell_scores, stop_reason="ensemble", members=summary,
    )  # fmt: skip
    return TrainingResult(trained, record)


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


def epoch_summary(record: dict, epochs: int, task: str | Task = "classification") -> str:
    """One line describing an epoch, for logs and the CLI."""
    return epoch_line(record, epochs, get_task(task))
