"""Fitting by epochs of gradient steps: the batches of one epoch, and the callbacks a run's settings ask for."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from .._progress import progress_bar
from ..inference import predict_tensor
from ..run_directory import RunDirectory
from ..trained import TrainedModel
from . import distributed
from .build import build_optimizer, weight_average
from .callbacks import EarlyStopping, EpochReport, LearningRateSchedule, MetricsSoFar, ResumeState, WeightAveraging
from .distributed import Ranks
from .fingerprint import data_fingerprint
from .fitting import Fitted
from .loop import Callback, LoopState, run_epochs
from .pooling import PooledData
from .resume import TrainingInterrupted, load_resume_state, restore
from .tensors import mark_dropout_mask, prior_tensor, to_device


class EpochFitter:
    """Trains a module for ``config.epochs`` epochs (or until early stopping), selecting the epoch on the valid split.

    Everything that must be checked before a stage is touched is done on construction: the
    distributed settings, and the state of an interrupted run to resume (``reuse``).
    """

    resumable = True

    def __init__(
        self, trained: TrainedModel, pooled: PooledData, device: torch.device, generator: torch.Generator, *,
        run: RunDirectory | None, data_source: str, on_epoch: Callable[[dict], None] | None, progress: bool | None, ranks: Ranks | None, resume: bool,
    ) -> None:  # fmt: skip
        config = trained.config
        self.trained, self.pooled, self.device, self.generator = trained, pooled, device, generator
        self.data_source, self.on_epoch, self.progress, self.ranks = data_source, on_epoch, progress, ranks
        if ranks is not None and ranks.world_size > 1:
            # The weights started equal on every rank (same seed); dropout inside a model must not draw the
            # same masks on every rank's share, so the global generator now differs per rank. (Batch order
            # and mark dropout use `generator`, the same on every rank.)
            torch.manual_seed(config.seed * 7919 + ranks.rank)
        self.optimizer = build_optimizer(trained.module, config)
        self.loss_fn = trained.task_spec.loss()
        # Whole splits live on the device once; batches are index slices (no per-batch host work).
        self.x_train, self.y_train = to_device(pooled.splits["train"], device, ranks)  # a DDP rank keeps only its shard of the training genes
        self.x_valid = to_device(pooled.splits["valid"], device)[0]  # scored every epoch; the test split only once, with the selected weights
        if trained.target_scale is not None:
            self.y_train = trained.target_scale.encode(self.y_train)
        if resume and ranks is not None and ranks.world_size > 1:
            raise ValueError("--resume continues a run of one process; it cannot resume a --distributed run")
        self.reuse = run.resumable_stage() if resume and run is not None else None
        # checked before the stage is touched: a refused state stays for a later --resume
        self.resume_state = None if self.reuse is None else load_resume_state(self.reuse.resume_state, config, trained, data_fingerprint(pooled, data_source))

    def fit(self, stage: RunDirectory | None) -> Fitted:
        trained, config, device, ranks = self.trained, self.trained.config, self.device, self.ranks
        model = trained.module
        train_data, valid_data, test_data = (self.pooled.splits[name] for name in ("train", "valid", "test"))
        n_train = train_data.n_genes  # every rank draws batches over all genes; a DDP rank holds a shard of them
        state = LoopState(
            model=model, optimizer=self.optimizer, generator=self.generator, config=config, task=trained.task_spec,
            n_batches=(n_train + config.batch_size - 1) // config.batch_size,
        )  # fmt: skip
        averaged = weight_average(model, config.ema)
        averaging = None if averaged is None else WeightAveraging(averaged)
        if self.resume_state is not None:
            state.history, state.best, state.best_state = restore(self.resume_state, model, self.optimizer, self.generator, averaged)
        writes = stage is not None
        # In the order their effects must happen after an epoch: metrics so far, the epoch's line, the resume state, then maybe a stop.
        callbacks: list[Callback] = [
            c for c in (
                LearningRateSchedule() if config.schedule != "constant" else None,
                averaging,
                MetricsSoFar(stage) if writes else None,
                EpochReport(self.on_epoch),
                ResumeState(stage, trained, data_fingerprint(self.pooled, self.data_source), averaging) if writes else None,
                EarlyStopping(config.patience) if config.patience else None,
            ) if c is not None
        ]  # fmt: skip
        batches = _EpochBatches(self, model if ranks is None else distributed.wrap(model, ranks), train_data)
        p_valid = prior_tensor(valid_data, device)

        def score(scored: nn.Module) -> dict:
            predictions = trained.decode(predict_tensor(scored, self.x_valid, batch_size=config.eval_batch_size, with_attention=False, prior=p_valid)[0].cpu().numpy())
            return trained.task_spec.scores("valid", valid_data.labels, predictions, valid_data.baseline)

        try:
            run_epochs(state, batches, score, n_train, callbacks)
        except KeyboardInterrupt as err:
            kept = stage.resume_state if stage is not None and stage.resume_state.is_file() else None
            raise TrainingInterrupted(state.epoch, len(state.history), kept) from err
        assert state.best is not None and state.best_state is not None  # epochs >= 1 is validated in TrainConfig
        model.load_state_dict(state.best_state)
        model.eval()
        x_test = to_device(test_data, device)[0]
        test_predictions = trained.decode(
            predict_tensor(model, x_test, batch_size=config.eval_batch_size, with_attention=False, prior=prior_tensor(test_data, device))[0].cpu().numpy()
        )
        state.best.update(trained.task_spec.scores("test", test_data.labels, test_predictions, test_data.baseline))  # the selected epoch's record gains its test scores
        return Fitted(best=state.best, history=state.history, stop_reason=state.stop_reason, test_predictions=test_predictions)


def attention_entropy(alpha: torch.Tensor | None, model: str = "the model") -> torch.Tensor:
    """Alpha's mean entropy over genes and marks, divided by log(bins) (0: all weight on one bin, 1: uniform).

    Marks with no weight at all (absent marks) count as 0. The training loss adds it times
    ``attention_entropy`` (:class:`~attentivechrome.config.TrainConfig`).
    """
    if alpha is None:
        raise ValueError(f"attention_entropy needs a model with bin attention (alpha); {model} has none")
    return -torch.special.xlogy(alpha, alpha).sum(-1).mean() / np.log(max(alpha.shape[-1], 2))


class _EpochBatches:
    """One epoch's gradient steps over shuffled batches, with mark dropout and a DDP rank's share of each batch."""

    def __init__(self, fitter: EpochFitter, step_model: nn.Module, train_data) -> None:
        self.fitter, self.step_model = fitter, step_model
        config = fitter.trained.config
        self.p_train = prior_tensor(train_data, fitter.device, fitter.ranks)
        # (genes, marks) present in every gene, for mark dropout
        self.present = torch.from_numpy(~np.isnan(train_data.counts).all(axis=1)) if config.mark_dropout > 0 else None
        self.n_train = train_data.n_genes

    def __call__(self, state: LoopState, epoch: int, callbacks: Sequence[Callback]) -> torch.Tensor:
        fitter, config, ranks, device = self.fitter, state.config, self.fitter.ranks, self.fitter.device
        x_train, y_train, p_train, present, model = fitter.x_train, fitter.y_train, self.p_train, self.present, state.model
        n_train, n_batches = self.n_train, state.n_batches
        model.train()
        order = torch.randperm(n_train, generator=state.generator).to(device)  # the same on every rank (same seed)
        loss_sum = torch.zeros((), device=device)
        with progress_bar(n_batches, f"epoch {epoch}/{config.epochs}", enabled=fitter.progress) as advance:
            for b in range(n_batches):
                index = order[b * config.batch_size : (b + 1) * config.batch_size]  # the global batch
                # Drawn for the global batch from the shared generator, so every rank hides the same marks.
                hide = None if present is None else mark_dropout_mask(present[index.cpu()], config.mark_dropout, state.generator).to(device)
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
                output = self.step_model(x_batch) if p_batch is None else self.step_model(x_batch, p_batch)
                loss = fitter.loss_fn(output.logits, y_batch)
                objective = loss if not config.attention_entropy else loss + config.attention_entropy * attention_entropy(output.alpha, config.model)
                state.optimizer.zero_grad(set_to_none=True)
                for callback in callbacks:
                    callback.on_step_begin(state, (epoch - 1) * n_batches + b, config.epochs * n_batches)
                (objective * weight if weight != 1.0 else objective).backward()
                nn.utils.clip_grad_norm_(model.parameters(), config.clip)
                state.optimizer.step()
                for callback in callbacks:
                    callback.on_step_end(state)
                loss_sum += loss.detach() * n_mine
                advance(1)
        if ranks is not None:
            loss_sum = distributed.sum_over_ranks(loss_sum)
        return loss_sum
