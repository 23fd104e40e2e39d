"""The paper's benchmark on your own cells: every model x every cell x several seeds.

:func:`run_benchmark` trains each (cell, model, seed) with :func:`~attentivechrome.training.trainer.train`
(the epoch, or for scikit-learn baselines the complexity, selected on the validation split),
then writes, in the output directory:

==================  ==================================================================================
``runs/CELL/MODEL/seed-S/``  the trainer's run directory, plus ``result.json`` once the run finished
``runs.csv``        one row per run: its test metrics, selected epoch and seconds
``per_cell.csv``    per cell and model: mean and standard deviation over seeds, a 95% bootstrap
                    interval over test genes, and the paired difference to the reference model
``summary.csv``     per model: mean, median, max and min over cells, and the cells it beats the reference in
``benchmark.md``    both tables in markdown, with the settings
``benchmark.png``   the primary metric per cell and model, with the bootstrap intervals
``benchmark.json``  the settings; a later call with other settings on the same directory is refused
==================  ==================================================================================

The runs are the units of :mod:`attentivechrome.experiments.runner`: a finished run (one with
``result.json``) is never redone, so an interrupted benchmark continues where it stopped when
called again with the same settings, and adding cells, models or seeds only trains what is new;
a failing run fails only itself (the tables are made of the others); runs may train in parallel
processes (``jobs``). The primary metric is test AUROC (classification) or test Pearson
correlation (regression); the reference model is DeepChrome, as in the paper's table.
"""

from __future__ import annotations

import os
import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import atomic_open, atomic_path, write_text_atomic
from ..config import PRESET_FIELDS, TRAINING_FIELDS, TrainConfig
from ..data.layout import cell_name  # noqa: F401 - part of this module's documented interface
from ..metrics.bootstrap import N_BOOTSTRAP, bootstrap_distribution, bootstrap_indices, percentile_interval
from ..model_catalog import MISSING_MARK_MODELS, MODEL_CATALOG, PRIOR_ONLY_MODELS
from ..exceptions import InputFormatError, RunsFailedError
from ..run_directory import RunDirectory
from ..tasks import CHANCE_LEVEL, METRIC_LABELS, get_task
from .experiment import Experiment, ExperimentResult, run_experiment
from .runner import FAILED, RESULT_FILE, TrainingUnit, first_line, plan_cells  # noqa: F401 - RESULT_FILE: documented above
from .runner import seed_list as seeds_of

logger = logging.getLogger(__name__)

#: The model every other is compared with in the summary (the paper compares with DeepChrome).
REFERENCE_MODEL = "deepchrome"
SETTINGS_FILE = "benchmark.json"
RUNS_DIR = "runs"
#: Training settings that must match for a benchmark directory to be continued.
_SETTING_KEYS = ("task", *TRAINING_FIELDS, "eval_batch_size")


#: Columns of ``runs.csv`` before the task's test metrics.
_RUN_COLUMNS = ("cell", "model", "seed", "task", "best_epoch", "seconds", "peak_memory_mb")


def resolve_models(models: str | Sequence[str] | None) -> list[str]:
    """``None``, ``"all"`` or a comma-separated string/sequence of names -> registry names in order.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid ones).
    """
    if models is None or models == "all" or list(models) == ["all"]:
        return list(MODEL_CATALOG)
    names = [m.strip() for m in models.split(",")] if isinstance(models, str) else [str(m).strip() for m in models]
    names = [m for m in names if m]
    unknown = [m for m in names if m not in MODEL_CATALOG]
    if unknown or not names:
        raise ValueError(f"unknown model {', '.join(map(repr, unknown)) or '(none given)'}; choose 'all' or from {', '.join(MODEL_CATALOG)}")
    return list(dict.fromkeys(names))


def _settings_record(config: TrainConfig) -> dict:
    """The benchmark's settings as the user gave them; a setting each model takes from its preset reads ``<preset> default``."""
    return {key: getattr(config, key) if key in config.given or key not in PRESET_FIELDS else f"{config.preset} default" for key in _SETTING_KEYS}


def run_benchmark(
    cell_dirs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    models: str | Sequence[str] | None = None,
    seeds: int | Sequence[int] = 3,
    config: TrainConfig | None = None,
    n_bootstrap: int = N_BOOTSTRAP,
    jobs: int | None = 1,
    scheduler: str | None = None,
    progress: bool | None = None,
    on_run: Callable[[dict], None] | None = None,
    reference_table: str | Path | None = None,
) -> ExperimentResult:
    """Train every model on every cell with each seed (resumable) and write the tables and plot.

    With a reference (``config.reference`` other than ``none`` and ``reference_table``), every
    model runs histone-only (as ``MODEL``) and with the prior (``MODEL+prior``; ``MODEL+fitted``
    in fitted mode), and the prior alone (``prior``) is a row of every table: what the marks add
    to what the reference already tells. A deviation benchmark has only the rows with the prior.

    Parameters
    ----------
    cell_dirs
        Data directories (``train/valid/test.csv``, or ``classification/`` inside); the cell
        name is the directory name and must be unique.
    out_dir
        Output directory (see the module docstring); created if needed.
    models
        Registry names, ``"all"`` or ``None`` (all). Default all.
    seeds
        A count ``N`` (seeds 1..N) or explicit seeds. Default 3.
    config
        Training settings: those given explicitly are shared by every run; the others come from
        each model's preset (:meth:`TrainConfig.for_model`). ``seed`` is set per run; ``task``
        chooses classification or regression. Default :class:`TrainConfig()`.
    n_bootstrap
        Bootstrap resamples of the test genes per cell. Default 1000.
    jobs
        Runs trained at once on a local Dask cluster (``None``: the free cores; 1: one after
        another in this process). Default 1.
    scheduler
        Address of a running Dask scheduler to train the runs on instead (see :mod:`attentivechrome.cluster`).
    progress
        Show a progress bar over runs; default: the package setting.
    on_run
        Called after each run with ``index``, ``total``, ``cell``, ``model``, ``seed``,
        ``status`` (one of :data:`~attentivechrome.experiments.runner.STATUSES`), ``metric`` (the
        primary test metric; NaN for a failed run), ``seconds`` and ``error`` (failed runs).

    Returns
    -------
    ExperimentResult
        With the tables ``runs``, ``per_cell`` and ``summary``.

    Raises
    ------
    RunSettingsError
        When ``out_dir`` holds a benchmark with other training settings.
    RunsFailedError
        When every run failed (no table is written).
    """
    names, seed_list = resolve_models(models), seeds_of(seeds)
    experiment = Benchmark(plan_cells(cell_dirs), names, seed_list, config or TrainConfig(), n_bootstrap=n_bootstrap, reference_table=reference_table)
    primary = get_task(experiment.config.task).primary_metric
    events = {"index": 0}

    def report(row: dict) -> None:
        events["index"] += 1
        if on_run is not None:
            on_run(
                {
                    "index": events["index"],
                    "total": len(experiment.units),
                    "cell": row["cell"],
                    "model": row["model"],
                    "seed": row["seed"],
                    "status": row["status"],
                    "metric": row.get(f"test_{primary}", float("nan")),
                    "seconds": row.get("seconds", float("nan")),
                    "error": row.get("error", ""),
                }
            )

    return run_experiment(experiment, out_dir, jobs=jobs, scheduler=scheduler, progress=progress, on_result=report)


class Benchmark(Experiment):
    """The benchmark as an :class:`~attentivechrome.experiments.experiment.Experiment`: (cell, model, seed) units; runs, per-cell and summary tables."""

    kind = "benchmark"
    settings_file = SETTINGS_FILE
    progress_label = "benchmark"

    def __init__(self, cells: dict[str, Path], names: list[str], seeds: list[int], config: TrainConfig, *, n_bootstrap: int = N_BOOTSTRAP, reference_table: str | Path | None = None) -> None:
        if config.mark_dropout > 0:
            unable = [m for m in names if m not in MISSING_MARK_MODELS]
            if unable:
                raise ValueError(
                    f"--mark-dropout trains only models that can be told a mark is absent ({', '.join(MISSING_MARK_MODELS)}); "
                    f"the models asked for include {', '.join(unable)}: choose --models {','.join(MISSING_MARK_MODELS)}"
                )
        self.cells, self.names, self.seeds, self.config, self.n_bootstrap = cells, names, seeds, config, n_bootstrap
        self.table_path = "" if reference_table is None else os.path.abspath(reference_table)
        self.entries = benchmark_entries(names, config)
        self.units: list[TrainingUnit] = []

    def settings(self) -> dict:
        return _settings_record(self.config)

    def record(self) -> dict:
        return {"cells": {k: str(v) for k, v in self.cells.items()}, "models": self.names, "seeds": self.seeds}

    def plan(self, out: Path) -> list[TrainingUnit]:
        entries, config = self.entries, self.config
        # Seed-major within a cell: an interrupted benchmark has every model for the seeds it finished.
        keys = [(cell, entry, seed) for cell in self.cells for seed in self.seeds for entry in entries]
        self.units = [
            TrainingUnit(
                cell=c, data_dirs=(str(self.cells[c]),), run_dir=str(run_directory(out, c, e, s)),
                config=dataclasses.replace(config.for_model(entries[e][0]), seed=s, reference=entries[e][1]).to_dict(), reference_table=self.table_path, entry=e,
            )  # fmt: skip
            for c, e, s in keys
        ]
        return self.units

    def tabulate(self, out: Path, units: Sequence[TrainingUnit], rows: Sequence[dict]) -> dict[str, pd.DataFrame]:
        task = self.config.task
        primary = get_task(task).primary_metric
        done = [row for row in rows if row["status"] != FAILED]
        failed = [row for row in rows if row["status"] == FAILED]
        columns = [*_RUN_COLUMNS, *(f"test_{m}" for m in get_task(task).metrics), f"valid_{primary}"]
        runs = pd.DataFrame([{c: row.get(c) for c in columns} for row in done], columns=columns)
        if runs.empty:
            first = failed[0]
            raise RunsFailedError(
                f"{out}: every run of the benchmark failed ({len(failed)} runs), so no table was written; "
                f"the first: {first['cell']} {first['model']} seed {first['seed']}: {first_line(first.get('error', ''))}"
            )
        seeds_done = {(c, m): [row["seed"] for row in done if (row["cell"], row["model"]) == (c, m)] for c in self.cells for m in self.entries}
        predictions = {
            (c, m): load_test_predictions([run_directory(out, c, m, s) for s in seeds_done[(c, m)]], task) for (c, m) in seeds_done if seeds_done[(c, m)]
        }
        per_cell = cell_table(runs, predictions, task, n_bootstrap=self.n_bootstrap)
        return {"runs": runs, "per_cell": per_cell, "summary": summary_table(per_cell, f"{primary}_mean")}

    def render(self, out: Path, tables: dict[str, pd.DataFrame]) -> None:
        write_reports(out, tables["runs"], tables["per_cell"], tables["summary"], task=self.config.task, config=self.config, seeds=self.seeds)


def benchmark_entries(models: Sequence[str], config: TrainConfig) -> dict[str, tuple[str, str]]:
    """The rows of a benchmark: name -> (model, reference setting).

    Without a reference, each model as it is. With one, each model histone-only and with the
    prior (``MODEL+prior``, or ``MODEL+fitted``), then ``prior`` (the prior alone); a deviation
    benchmark has no histone-only rows (its target needs the prior).
    """
    if config.reference == "none":
        return {m: (m, "none") for m in models if m not in PRIOR_ONLY_MODELS}
    suffix = "+prior" if config.reference == "new-cell" else "+fitted"
    marks_models = [m for m in models if m not in PRIOR_ONLY_MODELS]
    entries = {} if get_task(config.task).needs_reference else {m: (m, "none") for m in marks_models}
    entries |= {f"{m}{suffix}": (m, config.reference) for m in marks_models}
    entries["prior" if config.reference == "new-cell" else "prior+fitted"] = ("prior", config.reference)
    return entries


def run_directory(out_dir: str | Path, cell: str, model: str, seed: int) -> Path:
    """Where the run of ``model`` on ``cell`` with ``seed`` lives."""
    return Path(out_dir) / RUNS_DIR / cell / model / f"seed-{seed}"


def load_test_predictions(run_dirs: Sequence[Path], task: str) -> tuple[np.ndarray, np.ndarray]:
    """Targets (genes,) and predictions (seeds, genes) from the runs' ``test_predictions.tsv``.

    Raises
    ------
    ValueError
        When the runs list different test genes.
    """
    spec = get_task(task)
    frames = [RunDirectory(d).predictions for d in run_dirs]
    score_column = spec.value_column if spec.binary or spec.value_column in pd.read_csv(frames[0], sep="\t", nrows=0).columns else "prediction"  # before 0.2: prediction
    frames = [_read_predictions(path, ("gene_id", score_column, spec.target_column)) for path in frames]
    target_column = spec.target_column
    for d, frame in zip(run_dirs, frames):
        if not frame["gene_id"].equals(frames[0]["gene_id"]):
            raise ValueError(f"{d}: test genes differ from {run_dirs[0]}; were the runs trained on the same data?")
    return frames[0][target_column].to_numpy(), np.stack([f[score_column].to_numpy(dtype=np.float64) for f in frames])


def _read_predictions(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A run's test predictions, checked: the columns are there and the scores are numbers.

    Raises
    ------
    InputFormatError
        Naming the damaged file and saying how to have the run trained again.
    """
    remedy = f"delete {path.parent} to have that run trained again"
    try:
        frame = pd.read_csv(path, sep="\t", dtype={"gene_id": str})
    except (OSError, ValueError, pd.errors.ParserError) as err:  # EmptyDataError is a ValueError
        raise InputFormatError(path, None, f"cannot be read as a table ({str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}); {remedy}") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputFormatError(path, 1, f"lacks the column(s) {', '.join(missing)}; {remedy}")
    for column in columns[1:]:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = np.flatnonzero(values.isna().to_numpy() & frame[column].notna().to_numpy())
        if len(bad):
            raise InputFormatError(path, int(bad[0]) + 2, f"{column} is not a number: {frame[column].iloc[bad[0]]!r}; {remedy}")
    return frame


def cell_table(
    runs: pd.DataFrame,
    predictions: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]],
    task: str,
    *,
    n_bootstrap: int = N_BOOTSTRAP,
    reference: str = REFERENCE_MODEL,
    seed: int = 0,
) -> pd.DataFrame:
    """Per cell and model: mean and standard deviation over seeds, bootstrap intervals, difference to ``reference``.

    Parameters
    ----------
    runs
        One row per run with ``cell``, ``model``, ``seed``, ``best_epoch``, ``seconds`` and ``test_<metric>``.
    predictions
        ``(cell, model)`` -> (targets (genes,), predictions (seeds, genes)), e.g. from :func:`load_test_predictions`.
    task
        ``classification`` or ``regression``.
    n_bootstrap
        Resamples of the test genes (shared by every model of a cell, so differences are paired).

    Returns
    -------
    pandas.DataFrame
        Columns ``cell, model, seeds, test_genes``, ``<metric>_mean`` and ``<metric>_std`` for each
        test metric, ``<primary>_low/_high`` (95% interval), ``delta_ref`` with ``delta_low/_high``
        (NaN when the reference is absent), ``best_model`` (the cell's highest mean) with
        ``delta_best`` and ``delta_best_low/_high`` (paired; NaN for the best model itself),
        ``best_epoch`` and ``seconds`` (means over seeds).
        The standard deviation is NaN with a single seed.
    """
    primary = get_task(task).primary_metric
    rows = []
    for cell in pd.unique(runs["cell"]):
        cell_runs = runs[runs["cell"] == cell]
        models = list(pd.unique(cell_runs["model"]))
        n_genes = len(predictions[(cell, models[0])][0])
        index = bootstrap_indices(n_genes, n_bootstrap, seed=seed)
        distributions = {m: bootstrap_distribution(*predictions[(cell, m)], primary, index) for m in models}
        for model in models:
            group = cell_runs[cell_runs["model"] == model]
            row = {"cell": cell, "model": model, "seeds": len(group), "test_genes": n_genes}
            for metric in get_task(task).metrics:
                values = group[f"test_{metric}"].to_numpy(dtype=np.float64)
                row[f"{metric}_mean"] = float(values.mean())
                row[f"{metric}_std"] = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
            row[f"{primary}_low"], row[f"{primary}_high"] = percentile_interval(distributions[model])
            if reference in distributions and model != reference:
                reference_mean = float(cell_runs.loc[cell_runs["model"] == reference, f"test_{primary}"].mean())
                row["delta_ref"] = row[f"{primary}_mean"] - reference_mean
                row["delta_low"], row["delta_high"] = percentile_interval(distributions[model] - distributions[reference])
            else:
                row["delta_ref"] = row["delta_low"] = row["delta_high"] = float("nan")
            row["best_epoch"] = float(group["best_epoch"].mean())
            row["seconds"] = float(group["seconds"].mean())
            memory = group["peak_memory_mb"].to_numpy(dtype=np.float64) if "peak_memory_mb" in group else np.array([np.nan])
            row["peak_memory_mb"] = float(np.nanmax(memory)) if np.isfinite(memory).any() else float("nan")  # runs of older versions lack it
            rows.append(row)
        cell_rows = rows[len(rows) - len(models) :]
        best = max(cell_rows, key=lambda r: r[f"{primary}_mean"])["model"]  # the cell's best model on the primary metric
        for row in cell_rows:
            row["best_model"] = best
            row["delta_best"] = row[f"{primary}_mean"] - next(r[f"{primary}_mean"] for r in cell_rows if r["model"] == best)
            low_high = percentile_interval(distributions[row["model"]] - distributions[best]) if row["model"] != best else (float("nan"),) * 2
            row["delta_best_low"], row["delta_best_high"] = low_high
    return pd.DataFrame(rows)


def summary_table(per_cell: pd.DataFrame, column: str, *, reference: str = REFERENCE_MODEL) -> pd.DataFrame:
    """The paper-style summary of ``column`` over cells, per model.

    Returns a frame with ``model``, ``cells``, ``mean``, ``median``, ``max``, ``min`` and, when
    ``reference`` was run, ``wins`` (cells where the model's value is strictly higher than the
    reference's) out of ``compared`` (cells where both ran); both are NaN for the reference itself.

    Examples
    --------
    >>> table = pd.DataFrame({"cell": ["a", "a", "b", "b"], "model": ["x", "deepchrome"] * 2, "auroc_mean": [0.8, 0.7, 0.6, 0.65]})
    >>> summary_table(table, "auroc_mean")[["model", "median", "wins"]].to_dict("records")
    [{'model': 'x', 'median': 0.7, 'wins': 1.0}, {'model': 'deepchrome', 'median': 0.675, 'wins': nan}]
    """
    wide = per_cell.pivot(index="cell", columns="model", values=column)  # (cells, models)
    rows = []
    for model in pd.unique(per_cell["model"]):
        values = wide[model].dropna()
        row = {
            "model": model,
            "cells": len(values),
            "mean": float(values.mean()),
            "median": float(values.median()),
            "max": float(values.max()),
            "min": float(values.min()),
            "wins": float("nan"),
            "compared": float("nan"),
        }
        if reference in wide and model != reference:
            both = wide[[model, reference]].dropna()
            row["wins"] = float((both[model] > both[reference]).sum())
            row["compared"] = float(len(both))
        rows.append(row)
    return pd.DataFrame(rows)


def write_reports(
    out_dir: Path, runs: pd.DataFrame, per_cell: pd.DataFrame, summary: pd.DataFrame, *, task: str, config: TrainConfig, seeds: list[int]
) -> None:
    """Write ``runs.csv``, ``per_cell.csv``, ``summary.csv``, ``benchmark.md`` and ``benchmark.png``."""
    for name, frame in (("runs.csv", runs), ("per_cell.csv", per_cell), ("summary.csv", summary)):
        with atomic_open(out_dir / name, "w", encoding="utf-8", newline="") as handle:
            frame.to_csv(handle, index=False, float_format="%.6g")
    write_text_atomic(out_dir / "benchmark.md", benchmark_markdown(per_cell, summary, task=task, config=config, seeds=seeds))
    figure = plot_benchmark(per_cell, runs, task=task)
    with atomic_path(out_dir / "benchmark.png") as tmp:
        figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")


def _given_text(config: TrainConfig) -> str:
    given = [f"{key} {getattr(config, key)}" for key in PRESET_FIELDS if key in config.given]
    return "set: " + ", ".join(given) if given else "none set"


def _settings_lines(models: list[str], config: TrainConfig) -> list[str]:
    """A markdown table of the settings each model trained with."""
    keys = PRESET_FIELDS
    lines = ["| model | " + " | ".join(keys) + " |", "|---|" + "---|" * len(keys)]
    for model in models:
        resolved = config.for_model(model.split("+")[0])  # an entry "MODEL+prior" trains MODEL's settings
        lines.append(f"| {model} | " + " | ".join("-" if getattr(resolved, k) is None else f"{getattr(resolved, k):g}" if isinstance(getattr(resolved, k), float) else str(getattr(resolved, k)) for k in keys) + " |")
    return lines


def benchmark_markdown(per_cell: pd.DataFrame, summary: pd.DataFrame, *, task: str, config: TrainConfig, seeds: list[int]) -> str:
    """The summary and per-cell tables in markdown, headed by the settings."""
    primary = get_task(task).primary_metric
    label = METRIC_LABELS
    lines = [
        f"Task: {task}. Primary metric: test {label[primary]} (mean over seeds {', '.join(map(str, seeds))}).",
        f"Training: each model's {config.preset} defaults unless set ({_given_text(config)}); epoch (or classical model complexity) "
        f"selected on validation {label[primary]}, clip {config.clip:g}.",
        "",
        *_settings_lines([str(m) for m in summary["model"]], config),
        "",
        f"#### Summary over cells (test {label[primary]})",
        "",
        f"| model | cells | mean | median | max | min | beats {REFERENCE_MODEL} |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in summary.itertuples():
        wins = "-" if np.isnan(row.wins) else f"{int(row.wins)}/{int(row.compared)}"
        lines.append(f"| {row.model} | {row.cells} | {row.mean:.4f} | {row.median:.4f} | {row.max:.4f} | {row.min:.4f} | {wins} |")
    others = [m for m in get_task(task).metrics if m != primary]
    header = (
        f"| cell | model | seeds | test genes | {label[primary]} mean ± sd | 95% CI (genes) | "
        + " | ".join(f"{label[m]} mean ± sd" for m in others)
        + f" | Δ vs {REFERENCE_MODEL} [95% CI] | Δ vs the cell's best [95% CI] | selected epoch | s/run | peak MB |"
    )
    lines += ["", f"#### Per cell (test {label[primary]})", "", header, "|" + "---|" * (header.count("|") - 1)]
    for row in per_cell.to_dict("records"):
        delta = "-" if np.isnan(row["delta_ref"]) else f"{row['delta_ref']:+.4f} [{row['delta_low']:+.3f}, {row['delta_high']:+.3f}]"
        cells = [
            row["cell"],
            row["model"],
            str(row["seeds"]),
            str(row["test_genes"]),
            _mean_sd(row[f"{primary}_mean"], row[f"{primary}_std"]),
            f"[{row[f'{primary}_low']:.3f}, {row[f'{primary}_high']:.3f}]",
            *(_mean_sd(row[f"{m}_mean"], row[f"{m}_std"]) for m in others),
            delta,
            "best" if row["model"] == row["best_model"] else f"{row['delta_best']:+.4f} [{row['delta_best_low']:+.3f}, {row['delta_best_high']:+.3f}]",
            f"{row['best_epoch']:.1f}",
            f"{row['seconds']:.1f}",
            "-" if np.isnan(row.get("peak_memory_mb", float("nan"))) else f"{row['peak_memory_mb']:.0f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@dataclasses.dataclass(frozen=True)
class BenchmarkFigure:
    """The numbers of the benchmark figure, computed once for both renderers (``benchmark.png`` here, the report's page in plotly)."""

    cells: list[str]
    models: list[str]
    #: (models, cells): whether the model has a row for the cell.
    present: np.ndarray
    #: (models, cells): the primary metric's mean over seeds and its 95% bootstrap interval (NaN where absent).
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    #: ``seeds[j][i]``: the single seeds' test values of model j on cell i (none without the runs table).
    seeds: list[list[np.ndarray]]
    #: What no skill scores (AUROC 0.5, correlation 0): the axis starts there or below.
    floor: float
    #: Where the axis starts: the floor, or just below the lowest interval or seed when that is lower.
    bottom: float
    #: The axis label, e.g. ``test AUROC``.
    label: str


def benchmark_figure_data(per_cell: pd.DataFrame, runs: pd.DataFrame | None, primary: str) -> BenchmarkFigure:
    """Per cell and model: the mean of ``primary`` (``auroc`` or ``pearson``), its interval, the seeds' values, and the axis.

    Examples
    --------
    >>> per_cell = pd.DataFrame({"cell": ["a", "a"], "model": ["x", "y"], "auroc_mean": [0.8, 0.6], "auroc_low": [0.7, 0.45], "auroc_high": [0.9, 0.7]})
    >>> figure = benchmark_figure_data(per_cell, None, "auroc")
    >>> figure.models, figure.mean.tolist(), figure.floor, round(figure.bottom, 2), figure.label
    (['x', 'y'], [[0.8], [0.6]], 0.5, 0.43, 'test AUROC')
    """
    cells = [str(c) for c in pd.unique(per_cell["cell"])]
    models = [str(m) for m in pd.unique(per_cell["model"])]
    present = np.zeros((len(models), len(cells)), dtype=bool)
    mean, low, high = (np.full((len(models), len(cells)), np.nan) for _ in range(3))
    seeds: list[list[np.ndarray]] = [[np.empty(0) for _ in cells] for _ in models]
    lows = [per_cell[f"{primary}_low"].to_numpy(dtype=float)]
    if runs is not None and f"test_{primary}" in runs:
        lows.append(runs[f"test_{primary}"].to_numpy(dtype=float))
    for j, model in enumerate(models):
        rows = per_cell[per_cell["model"].astype(str) == model]
        rows = rows.set_index(rows["cell"].astype(str))
        for i, cell in enumerate(cells):
            if cell in rows.index:
                present[j, i] = True
                mean[j, i], low[j, i], high[j, i] = (float(rows.loc[cell, f"{primary}_{part}"]) for part in ("mean", "low", "high"))
            if runs is not None and f"test_{primary}" in runs:
                seeds[j][i] = runs[(runs["cell"].astype(str) == cell) & (runs["model"].astype(str) == model)][f"test_{primary}"].to_numpy(dtype=float)
    floor = CHANCE_LEVEL[primary]
    values = np.concatenate(lows)
    # The axis starts at what no skill scores, not just below the bars, so the bars' heights
    # compare honestly; values below that widen it (a correlation no further than -1).
    bottom = min(floor, max(-1.0, float(np.nanmin(values)) - 0.02)) if np.isfinite(values).any() else floor
    return BenchmarkFigure(cells, models, present, mean, low, high, seeds, floor, bottom, f"test {METRIC_LABELS[primary]}")


def plot_benchmark(per_cell: pd.DataFrame, runs: pd.DataFrame, *, task: str, ax=None):
    """Grouped bars of the primary metric per cell and model, bootstrap 95% intervals, one dot per seed.

    The numbers are :func:`benchmark_figure_data`'s. Returns the matplotlib Figure (never shown).
    """
    from matplotlib.figure import Figure

    data = benchmark_figure_data(per_cell, runs, get_task(task).primary_metric)
    if ax is None:
        figure = Figure(figsize=(max(6.0, 1.2 + 0.55 * len(per_cell)), 4.2))
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    cells, models = data.cells, data.models
    width = 0.8 / len(models)
    colours = [f"C{i % 10}" for i in range(len(models))]
    for j, model in enumerate(models):
        x = np.arange(len(cells)) - 0.4 + width * (j + 0.5)
        error = np.vstack([data.mean[j] - data.low[j], data.high[j] - data.mean[j]])
        ax.bar(x, data.mean[j], width, color=colours[j], label=model, yerr=error, capsize=2, error_kw={"linewidth": 0.8})
        for i in range(len(cells)):
            ax.plot(np.full(len(data.seeds[j][i]), x[i]), data.seeds[j][i], "k.", markersize=3)
    ax.set_ylim(data.bottom, 1.0)
    ax.axhline(data.floor, color="black", lw=0.8, ls="--", label=f"no skill ({data.floor:g})")
    ax.set_xticks(np.arange(len(cells)), cells)
    ax.set_ylabel(data.label)
    ax.plot([], [], "k.", markersize=3, label="one seed")
    ax.set_title("bars: mean over seeds; whiskers: 95% bootstrap interval over test genes", fontsize=8)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return figure


def _mean_sd(mean: float, sd: float) -> str:
    return f"{mean:.4f}" if np.isnan(sd) else f"{mean:.4f} ± {sd:.4f}"


