"""Report sections of a ``benchmark`` directory, a ``benchmark --cross-cell`` directory and an ``interpret-benchmark`` directory."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import _figures
from ._page import Page
from ._run_files import read_json_object


def benchmark_page(out_dir: Path) -> Page:
    """The summary over cells, the per-cell table and the bar plot with bootstrap intervals; the matrix when present."""
    settings = _settings(out_dir / "benchmark.json")
    per_cell = pd.read_csv(out_dir / "per_cell.csv", dtype={"cell": str})
    summary = pd.read_csv(out_dir / "summary.csv") if (out_dir / "summary.csv").is_file() else None
    runs = pd.read_csv(out_dir / "runs.csv", dtype={"cell": str}) if (out_dir / "runs.csv").is_file() else None
    primary = "pearson" if "pearson_mean" in per_cell else "auroc"
    page = Page(f"Benchmark: {out_dir.name}", f"{out_dir} — " + ", ".join(f"{k} {v}" for k, v in settings.items() if not isinstance(v, (dict, list))))
    page.heading("Test scores per cell and model")
    page.figure(_figures.benchmark_bars(per_cell, runs, primary), height=460)
    if summary is not None:
        page.heading("Summary over cells")
        page.table(summary)
    page.heading("Per cell")
    page.note("mean and standard deviation over seeds; low/high: the 95% bootstrap interval over test genes; delta_ref: paired difference to DeepChrome.")
    page.table(per_cell)
    if (out_dir / "matrix.csv").is_file():
        _matrix(page, out_dir)
    return page


def cross_cell_page(out_dir: Path) -> Page:
    """The train-cell x test-cell matrix as a heatmap and a table, and the reasons for empty cells."""
    page = Page(f"Cross-cell benchmark: {out_dir.name}", str(out_dir))
    _matrix(page, out_dir)
    return page


def interpret_benchmark_page(out_dir: Path) -> Page:
    """Every explanation method scored against the simulator's planted signal."""
    table = pd.read_csv(out_dir / "benchmark.csv", index_col="method")
    page = Page(f"Interpretation benchmark: {out_dir.name}", str(out_dir))
    page.heading("Which map finds the planted signal?")
    page.figure(_figures.method_bars(table), height=120 + 34 * len(table))
    page.note("Per-gene means with 95% intervals; bin-level scores rank |map| within each gene. Dashed: 0.5, what a random map scores.")
    columns = ["label", "n_genes", "bin_auroc", "bin_auroc_ci", "bin_aupr", "bin_aupr_ci", "mark_spearman", "mark_spearman_ci", "top_mark", "top_mark_ci"]
    page.table(table[[c for c in columns if c in table]])
    return page


def _matrix(page: Page, out_dir: Path) -> None:
    matrix = pd.read_csv(out_dir / "matrix.csv", index_col=0)
    metric = "pearson" if "pearson" in pd.read_csv(out_dir / "scores.csv", nrows=1).columns else "auroc"
    page.heading("Cross-cell matrix")
    page.figure(_figures.matrix_heatmap(matrix, metric), height=160 + 48 * len(matrix))
    page.table(matrix.reset_index())
    scores = pd.read_csv(out_dir / "scores.csv")
    if "note" in scores and scores["note"].notna().any():
        page.note("Empty cells: " + "; ".join(f"{r.trained_on} on {r.test_cell}: {r.note}" for r in scores[scores["note"].notna()].itertuples()))


def _settings(path: Path) -> dict:
    if not path.is_file():
        return {}
    settings = read_json_object(path)
    return settings.get("settings", settings) if isinstance(settings, dict) else {}
