"""Tiny result directories of every kind, made once per session from simulated cells (20 bins)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def report_dirs(tmp_path_factory) -> dict[str, Path]:
    """kind -> a directory written by the command of that kind (a run, train-many, a benchmark, an interpretation)."""
    import torch

    from attentivechrome import _settings
    from attentivechrome.config import TrainConfig
    from attentivechrome.data.layout import load_splits
    from attentivechrome.data.synthetic import write_simulation
    from attentivechrome.experiments.benchmark import run_benchmark
    from attentivechrome.experiments.train_many import train_many
    from attentivechrome.interpret import ExplainOptions
    from attentivechrome.workflows import interpret_model
    from attentivechrome.trained import load_model
    from attentivechrome.data.csv_io import read_csv
    from attentivechrome.training.trainer import train

    root = tmp_path_factory.mktemp("report-dirs")
    cells = [root / "cellA", root / "cellB"]
    for seed, cell in enumerate(cells):
        write_simulation(cell, 60, 20, seed=seed)
    config = TrainConfig(epochs=2, batch_size=16, lr=1e-2, transform="log1p", device="cpu")
    with _settings.torch_threads(1):
        torch.manual_seed(0)
        train(load_splits(cells[0]), config, out_dir=root / "run", data_source=str(cells[0]), progress=False)
        train_many(cells, root / "many", TrainConfig(epochs=1, device="cpu", transform="log1p"), jobs=1, progress=False)
        run_benchmark(cells, root / "bench", models="deepchrome,linear", seeds=1, config=TrainConfig(epochs=1, device="cpu"), n_bootstrap=20, jobs=1, progress=False)
        interpret_model(
            load_model(root / "run"), read_csv(cells[0] / "test.csv"), root / "interp",
            methods="attention,saliency,integrated_gradients,occlusion", options=ExplainOptions(n_steps=4, window=4), max_gene_plots=0, progress=False,
        )  # fmt: skip
    return {"run": root / "run", "train-many": root / "many", "benchmark": root / "bench", "interpret": root / "interp"}


@pytest.fixture(scope="session")
def named_interpretation(report_dirs, tmp_path_factory) -> Path:
    """An interpretation of a cell that `featurize` wrote with gene symbols (its manifest's gene_names): gene i is SYMi."""
    import numpy as np

    from attentivechrome import _settings
    from attentivechrome.data.csv_io import read_csv
    from attentivechrome.data.gene_names import FEATURIZE_TOOL, GENE_NAMES_KEY
    from attentivechrome.data.layout import load_splits
    from attentivechrome.featurize.pipeline import FeaturizeResult, write_featurized
    from attentivechrome.trained import load_model
    from attentivechrome.training.pooling import concat_data
    from attentivechrome.workflows import interpret_model

    root = tmp_path_factory.mktemp("named")
    splits = load_splits(report_dirs["run"].parent / "cellA")
    data = concat_data([splits[s] for s in ("train", "valid", "test")])
    names = {str(g): f"SYM{i}" for i, g in enumerate(data.gene_ids)}
    report = {"tool": FEATURIZE_TOOL, "parameters": {}, GENE_NAMES_KEY: names}
    write_featurized(FeaturizeResult(data=data, chroms=np.array(["chr1"] * data.n_genes), report=report, notes=()), root / "cell", split="contiguous")
    with _settings.torch_threads(1):
        interpret_model(
            load_model(report_dirs["run"]), read_csv(root / "cell" / "test.csv"), root / "interp",
            methods="attention,saliency", max_gene_plots=0, progress=False,
        )  # fmt: skip
    return root / "interp"


@pytest.fixture(scope="session")
def chromium() -> str:
    """The system Chromium that Playwright drives (Debian's `chromium`); tests skip without it."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no Chromium on this machine (apt-get install chromium): the browser tests of the HTML report need one")
