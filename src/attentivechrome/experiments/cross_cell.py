"""How well a model carries to a cell it never saw: the train-cell x test-cell matrix.

:func:`run_cross_cell` trains one model per cell, and (with three cells or more) one model
pooled over all cells but one, for each cell left out. It then scores every model on every
cell's test split (AUROC, or Pearson for regression), each cell normalised from its own input,
as a lab would with a new cell. The output directory holds::

    runs/UNIT/seed-S/     the runner's run directories (UNIT: a cell, or all-but-CELL)
    cross-cell.json       the settings (a later call with other settings is refused)
    scores.csv            one row per (unit, seed, test cell): the metric, or why it is missing
    matrix.csv            rows: what was trained on; columns: the test cell; mean over seeds
    matrix.md             the matrix and, per test cell, the within-cell score beside the best transfer
    matrix.png            the matrix as a heatmap

The diagonal of the single-cell rows is the within-cell score. A model that reads a mark the
test cell lacks scores it only when it was trained for missing marks (``mark_dropout``); otherwise
the cell is left empty and ``scores.csv`` says why.
"""

from __future__ import annotations

import os
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_open, atomic_path, write_text_atomic
from ..config import TRAINING_FIELDS, TrainConfig
from ..exceptions import AttentiveChromeError, RunsFailedError, UndefinedMetricError
from ..tasks import CHANCE_LEVEL, METRIC_LABELS, get_task
from .experiment import Experiment, ExperimentResult, run_experiment
from .runner import FAILED, TrainingUnit, first_line, plan_cells
from .runner import seed_list as seeds_of

SETTINGS_FILE = "cross-cell.json"
RUNS_DIR = "runs"
#: The rows of the prior alone: ``prior: CELL`` is the prior model trained on CELL.
PRIOR_ROW = "prior: "
#: The rows of the model without the reference: ``marks only: CELL``.
MARKS_ONLY_ROW = "marks only: "
_SETTING_KEYS = ("model", "task", *TRAINING_FIELDS, "eval_batch_size")


def marks_only_name(cell: str) -> str:
    """The row of the model trained on ``cell`` without the reference (a cross-cell benchmark with a reference)."""
    return f"{MARKS_ONLY_ROW}{cell}"


def _row_config(name: str, config: TrainConfig, seed: int) -> TrainConfig:
    """The settings of a row: the prior model for ``prior:`` rows, no reference for ``marks only:`` rows, else ``config``."""
    if name.startswith(PRIOR_ROW):
        config = dataclasses.replace(config, mark_dropout=0.0).for_model("prior")  # the prior reads no marks to drop
    elif name.startswith(MARKS_ONLY_ROW):
        config = dataclasses.replace(config, reference="none", reference_exclude=())
    return dataclasses.replace(config, seed=seed)


def prior_name(cell: str) -> str:
    """The row of the prior alone trained on ``cell`` (a cross-cell benchmark with a reference)."""
    return f"{PRIOR_ROW}{cell}"


def pooled_name(left_out: str) -> str:
    """The unit name of the model pooled over every cell but ``left_out``."""
    return f"all-but-{left_out}"


def run_cross_cell(
    cell_dirs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    config: TrainConfig | None = None,
    seeds: int | Sequence[int] = 1,
    pooled: bool = True,
    jobs: int | None = 1,
    scheduler: str | None = None,
    progress: bool | None = None,
    on_run: Callable[[dict], None] | None = None,
    reference_table: str | Path | None = None,
) -> ExperimentResult:
    """Train per cell (and pooled, leaving each cell out), score every cell's test split, write the matrix.

    Parameters
    ----------
    cell_dirs
        Two or more cell directories; marks are matched by name.
    config
        The training settings of every model (``model``, ``normalize``, ``mark_dropout``, ...).
    seeds
        A count ``N`` (seeds 1..N) or explicit seeds; the matrix is the mean over seeds. Default 1.
    pooled
        Also train, for each cell, a model pooled over all the others (needs three cells or
        more; cells with different marks pool only with ``mark_dropout`` > 0). Default True.
    jobs
        Trainings at once on a local Dask cluster (``None``: the free cores). Default 1.
    scheduler
        Address of a running Dask scheduler to train on instead (see :mod:`attentivechrome.cluster`).
    on_run
        Called with each training's row (``status``: one of :data:`~attentivechrome.experiments.runner.STATUSES`).
    reference_table
        The reference-expression table of a config that reads one (``config.reference``): every
        model then reads, for each test cell, that cell's prior (its own column left out), and a
        row ``prior: CELL`` per cell (the prior alone, trained on CELL) stands beside every
        transfer figure: the baseline a histone model must beat on a new cell.

    Returns
    -------
    ExperimentResult
        With the tables ``scores`` and ``matrix``.
    """
    config = config or TrainConfig()
    seed_list = seeds_of(seeds)
    experiment = CrossCell(plan_cells(cell_dirs), seed_list, config, pooled=pooled, reference_table=reference_table)
    return run_experiment(experiment, out_dir, jobs=jobs, scheduler=scheduler, progress=progress, on_result=on_run)


class CrossCell(Experiment):
    """The cross-cell benchmark as an :class:`~attentivechrome.experiments.experiment.Experiment`: one unit per training and seed; scores and the matrix."""

    kind = "cross-cell benchmark"
    settings_file = SETTINGS_FILE
    progress_label = "cross-cell trainings"

    def __init__(self, cells: dict[str, Path], seeds: list[int], config: TrainConfig, *, pooled: bool = True, reference_table: str | Path | None = None) -> None:
        if len(cells) < 2:
            raise ValueError("a cross-cell benchmark needs at least two cells")
        if config.reference != "none" and reference_table is None:
            raise ValueError(f"reference {config.reference!r} needs the reference-expression table (reference_table)")
        self.cells, self.seeds, self.config, self.pooled, self.reference_table = cells, seeds, config, pooled, reference_table
        trainings = {name: (name,) for name in cells}
        if pooled and len(cells) >= 3:
            trainings |= {pooled_name(left): tuple(c for c in cells if c != left) for left in cells}
        if config.reference != "none":  # beside the model with the prior: the marks alone and the prior alone, trained on each cell
            trainings |= {marks_only_name(c): (c,) for c in cells} if not get_task(config.task).needs_reference else {}
            trainings |= {prior_name(c): (c,) for c in cells}
        self.trainings = trainings

    def settings(self) -> dict:
        return {key: getattr(self.config, key) for key in _SETTING_KEYS}

    def record(self) -> dict:
        return {"cells": {k: str(v) for k, v in self.cells.items()}, "seeds": self.seeds, "pooled": self.pooled}

    def plan(self, out: Path) -> list[TrainingUnit]:
        table_path = "" if self.reference_table is None else os.path.abspath(self.reference_table)
        return [
            TrainingUnit(
                cell=name, data_dirs=tuple(str(self.cells[c]) for c in members), run_dir=str(out / RUNS_DIR / name.replace(": ", "-").replace(" ", "-") / f"seed-{seed}"),
                config=_row_config(name, self.config, seed).to_dict(), reference_table=table_path,
            )
            for name, members in self.trainings.items()
            for seed in self.seeds
        ]  # fmt: skip

    def tabulate(self, out: Path, units: Sequence[TrainingUnit], rows: Sequence[dict]) -> dict[str, pd.DataFrame]:
        from ..data.layout import load_splits
        from ..trained import load_model

        config, cells = self.config, self.cells
        metric = get_task(config.task).primary_metric
        data = {name: load_splits(path, task=config.task, cache=True) for name, path in cells.items()}
        table = None
        if self.reference_table is not None:
            from ..data.reference import read_reference

            table = read_reference(self.reference_table)
        records, failed = [], []
        for unit, row in zip(units, rows):
            seed = unit.config["seed"]
            if row["status"] == FAILED:
                failed.append((unit.cell, seed, row.get("error", "")))
                continue
            model = load_model(unit.run_dir)
            for test_cell, splits in data.items():
                value, note = _score(model, splits, table, test_cell)
                records.append({"trained_on": unit.cell, "seed": seed, "test_cell": test_cell, "seen": test_cell in self.trainings[unit.cell], metric: value, "note": note})
        if failed and len(failed) == len(units):
            first = failed[0]
            raise RunsFailedError(f"{out}: every training of the cross-cell benchmark failed ({len(failed)}), so no matrix was written; the first: {first[0]} seed {first[1]}: {first_line(first[2])}")
        scores = pd.DataFrame(records, columns=["trained_on", "seed", "test_cell", "seen", metric, "note"])
        matrix = scores.pivot_table(index="trained_on", columns="test_cell", values=metric, aggfunc="mean", dropna=False)
        matrix = matrix.reindex(index=[t for t in self.trainings if t in set(scores["trained_on"])], columns=list(cells))
        return {"scores": scores, "matrix": matrix}

    def render(self, out: Path, tables: dict[str, pd.DataFrame]) -> None:
        _write(out, tables["scores"], tables["matrix"], metric=get_task(self.config.task).primary_metric, config=self.config, seeds=self.seeds)


def _score(model, splits: dict, table=None, cell: str | None = None) -> tuple[float, str]:
    """The model's primary metric on a cell's test split, normalised from the cell's whole input (with the cell's own prior); NaN and why when it cannot."""
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # extra marks: ignored, as the matrix notes say
            if model.reads_reference:
                model = model.with_reference(table, cell)
            predictions = model.predict(splits["test"], with_attention=False, stats_from=list(splits.values()))
    except AttentiveChromeError as err:
        return float("nan"), str(err).split(": ", 1)[-1]
    task = get_task(predictions.task)
    targets = task.targets(predictions.labels, predictions.baseline)  # deviation: the cell-specific part
    try:
        value = task.primary_score(targets, predictions.values)
    except UndefinedMetricError as err:
        return float("nan"), str(err)
    extra = [m for m in splits["test"].marks if m.lower() not in {k.lower() for k in model.marks}]
    return value, (f"ignored {', '.join(extra)}" if extra else "")


def _write(out: Path, scores: pd.DataFrame, matrix: pd.DataFrame, *, metric: str, config: TrainConfig, seeds: list[int]) -> None:
    with atomic_open(out / "scores.csv", "w", encoding="utf-8", newline="") as handle:
        scores.to_csv(handle, index=False, float_format="%.6g")
    with atomic_open(out / "matrix.csv", "w", encoding="utf-8", newline="") as handle:
        matrix.to_csv(handle, float_format="%.6g")
    write_text_atomic(out / "matrix.md", cross_cell_markdown(matrix, scores, metric=metric, config=config, seeds=seeds))
    figure = plot_matrix(matrix, metric=metric)
    with atomic_path(out / "matrix.png") as tmp:
        figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")


def cross_cell_markdown(matrix: pd.DataFrame, scores: pd.DataFrame, *, metric: str, config: TrainConfig, seeds: list[int]) -> str:
    """The matrix and the transfer table in markdown, headed by the settings."""
    label = METRIC_LABELS[metric]
    lines = [
        f"Test {label} of a model trained on each row's cells, on each column's test split (mean over seeds {', '.join(map(str, seeds))}); "
        "**bold**: the column's own cell (within-cell).",
        f"Settings: model {config.model}, task {config.task}, normalize {config.normalize}, mark dropout {config.mark_dropout:g}, "
        f"lr {config.lr:g}, batch {config.batch_size}, up to {config.epochs} epochs (patience {config.patience}; selected on validation), "
        f"transform {config.transform}, preset {config.preset}.",
        "",
        "| trained on | " + " | ".join(matrix.columns) + " |",
        "|---|" + "---|" * len(matrix.columns),
    ]
    for name, row in matrix.iterrows():
        cells = [("n/a" if np.isnan(v) else (f"**{v:.4f}**" if name == col else f"{v:.4f}")) for col, v in row.items()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    with_prior = any(str(r).startswith(PRIOR_ROW) for r in matrix.index)
    lines += [
        "", f"#### Transfer to each cell (test {label})", "",
        "| test cell | within-cell | best other single cell | pooled, cell left out | best transfer - within |" + (" the prior alone (within-cell) |" if with_prior else ""),
        "|---|---|---|---|---|" + ("---|" if with_prior else ""),
    ]  # fmt: skip
    for cell in matrix.columns:
        within = matrix.loc[cell, cell] if cell in matrix.index else float("nan")
        others = matrix.loc[[r for r in matrix.index if r != cell and r in matrix.columns], cell].dropna()
        pooled = matrix.loc[pooled_name(cell), cell] if pooled_name(cell) in matrix.index else float("nan")
        best_other = f"{others.max():.4f} ({others.idxmax()})" if len(others) else "n/a"
        best = np.nanmax([others.max() if len(others) else np.nan, pooled]) if (len(others) or not np.isnan(pooled)) else np.nan
        prior = f" {_fmt(matrix.loc[prior_name(cell), cell])} |" if with_prior and prior_name(cell) in matrix.index else (" n/a |" if with_prior else "")
        lines.append(
            f"| {cell} | {_fmt(within)} | {best_other} | {_fmt(pooled)} | {'n/a' if np.isnan(best) or np.isnan(within) else f'{best - within:+.4f}'} |{prior}"
        )
    notes = scores[scores["note"].astype(str) != ""].drop_duplicates(["trained_on", "test_cell"])
    if len(notes):
        lines += ["", "Notes:"] + [f"- {r.trained_on} on {r.test_cell}: {r.note}" for r in notes.itertuples()]
    return "\n".join(lines) + "\n"


@dataclasses.dataclass(frozen=True)
class MatrixFigure:
    """The numbers of the matrix figure, computed once for both renderers (``matrix.png`` here, the report's page in plotly)."""

    rows: list[str]
    columns: list[str]
    #: (rows, columns): the mean over seeds; NaN where it could not be scored.
    values: np.ndarray
    #: Each value as written in the figure (``n/a`` where missing).
    text: list[list[str]]
    #: (rows, columns): the within-cell scores, and the pooled model's score on the cell it never saw.
    within: np.ndarray
    pooled: np.ndarray
    #: The lowest and highest value shown (0 and 1 when none is).
    value_range: tuple[float, float]
    #: What no skill scores (AUROC 0.5, correlation 0).
    floor: float
    #: The colour bar's label, e.g. ``test AUROC``.
    label: str


def matrix_figure_data(matrix: pd.DataFrame, metric: str) -> MatrixFigure:
    """The matrix's values, their text, the within-cell and pooled cells and the colour range.

    Examples
    --------
    >>> matrix = pd.DataFrame([[0.9, 0.7], [np.nan, 0.8]], index=["a", "b"], columns=["a", "b"])
    >>> figure = matrix_figure_data(matrix, "auroc")
    >>> figure.text, figure.within.tolist(), figure.value_range, figure.label
    ([['0.900', '0.700'], ['n/a', '0.800']], [[True, False], [False, True]], (0.7, 0.9), 'test AUROC')
    """
    values = matrix.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    rows, columns = [str(r) for r in matrix.index], [str(c) for c in matrix.columns]
    return MatrixFigure(
        rows=rows, columns=columns, values=values,
        text=[["n/a" if not np.isfinite(v) else f"{v:.3f}" for v in row] for row in values],
        within=np.array([[r == c for c in columns] for r in rows], dtype=bool).reshape(values.shape),
        pooled=np.array([[r == pooled_name(c) for c in columns] for r in rows], dtype=bool).reshape(values.shape),
        value_range=(float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0),
        floor=CHANCE_LEVEL[metric], label=f"test {METRIC_LABELS[metric]}",
    )  # fmt: skip


def plot_matrix(matrix: pd.DataFrame, *, metric: str, ax=None):
    """The matrix as a heatmap with the values written in; the within-cell cells outlined. Returns the Figure.

    The numbers are :func:`matrix_figure_data`'s; the colours span the values shown.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    if ax is None:
        figure = Figure(figsize=(1.6 + 1.3 * matrix.shape[1], 1.0 + 0.55 * matrix.shape[0]))
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    data = matrix_figure_data(matrix, metric)
    low, high = data.value_range
    image = ax.imshow(np.ma.masked_invalid(data.values), cmap="viridis", vmin=low, vmax=high if high > low else low + 1e-3, aspect="auto")
    for i in range(len(data.rows)):
        for j in range(len(data.columns)):
            v = data.values[i, j]
            ax.text(j, i, data.text[i][j], ha="center", va="center", fontsize=8, color="white" if np.isnan(v) or v < (low + high) / 2 else "black")
            if data.within[i, j]:
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.5))
            elif data.pooled[i, j]:  # the pooled model on the cell it never saw
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="white", linewidth=1.5, linestyle="--"))
    ax.set_xticks(range(len(data.columns)), data.columns, rotation=30, ha="right")
    ax.set_yticks(range(len(data.rows)), data.rows)
    ax.set_xlabel("test cell")
    ax.set_ylabel("trained on")
    figure.colorbar(image, ax=ax, label=data.label)
    ax.set_title("red: within-cell; dashed: pooled over the other cells, on the cell left out", fontsize=8)
    return figure


def _fmt(value: float) -> str:
    return "n/a" if np.isnan(value) else f"{value:.4f}"

