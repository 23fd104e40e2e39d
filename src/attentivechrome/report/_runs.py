"""Report sections of a training run directory (``train``) and of a ``train-many`` directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..data.schema import DEFAULT_BIN_SIZE
from ..run_directory import RunDirectory
from ..tasks import get_task
from . import _figures
from ._limits import DEFAULT_MAX_GENES
from ._genes import GeneSet, choose_genes
from ._page import Page
from ._run_files import read_predictions, read_run_config, read_run_metrics

PREDICTIONS = RunDirectory.PREDICTIONS


def run_page(run_dir: Path, *, max_genes: int = DEFAULT_MAX_GENES, genes: list[str] | None = None, bin_size: int = DEFAULT_BIN_SIZE) -> Page:
    """Metrics, ROC/PR curves, learning curves, class-average attention and the gene explorer of one run."""
    run = RunDirectory(run_dir)
    config = read_run_config(run.config)
    metrics = read_run_metrics(run.metrics)
    task = config.get("train", {}).get("task", "classification")
    page = Page(f"Training run: {run_dir.name}", f"{run_dir} — model {config.get('model_name', '?')}, data {config.get('data', '?')}, task {task}")
    page.heading("Metrics")
    shown = {k: v for k, v in metrics.items() if not isinstance(v, (list, dict))}
    shown.update({"model": config.get("model_name"), "marks": ", ".join(config.get("marks", [])), "bins": config.get("n_bins"), "data": config.get("data")})
    page.metrics(shown)
    page.note("Settings: " + ", ".join(f"{k} {v}" for k, v in config.get("train", {}).items()))
    _curves(page, {run_dir.name: run_dir}, task)
    if metrics.get("history"):
        page.heading("Learning curves")
        page.figure(_figures.learning_curves({run_dir.name: metrics["history"]}, get_task(task).primary_metric))
    if metrics.get("members"):  # an ensemble (train --ensemble N): each member's learning curve
        members = metrics["members"]
        page.heading("Learning curves of the ensemble's members")
        page.note(
            f"An ensemble of {len(members)} models (seeds {', '.join(str(m.get('seed')) for m in members)}): it predicts the mean of their logits; "
            "the metrics above are the ensemble's. Selected epochs: " + ", ".join(f"seed {m.get('seed')} epoch {m.get('best_epoch')}" for m in members) + "."
        )
        page.figure(_figures.learning_curves({f"seed {m.get('seed')}": m.get("history", []) for m in members}, get_task(task).primary_metric))
    _attention_sections(page, run_dir, config, task, max_genes, genes, bin_size)
    return page


def train_many_page(out_dir: Path) -> Page:
    """The per-cell summary table, every cell's ROC/PR curves and learning curves."""
    summary = pd.read_csv(out_dir / "summary.tsv", sep="\t", dtype={"cell": str})
    page = Page(f"train-many: {out_dir.name}", f"{out_dir} — one model per cell type")
    page.heading("Cells")
    page.table(summary.drop(columns=[c for c in ("run_dir",) if c in summary]))
    runs = {row.cell: out_dir / row.cell for row in summary.itertuples() if (out_dir / row.cell / PREDICTIONS).is_file()}
    task = "regression" if "test_pearson" in summary else "classification"
    _curves(page, runs, task)
    histories = {}
    for cell, run in runs.items():
        metrics_path = RunDirectory(run).metrics
        if metrics_path.is_file():
            histories[cell] = read_run_metrics(metrics_path).get("history", [])
    if any(histories.values()):
        page.heading("Learning curves")
        page.figure(_figures.learning_curves(histories, get_task(task).primary_metric), height=480)
    page.note("Each cell's own page, with its class-average attention and a gene search: attentivechrome report " + str(out_dir / "CELL"))
    return page


def _curves(page: Page, runs: dict[str, Path], task: str) -> None:
    curves = {}
    for name, run in runs.items():
        frame = read_predictions(run / PREDICTIONS, task)
        if get_task(task).regresses:
            curves[name] = get_task(task).read_predictions(frame)
        elif "label" in frame:
            curves[name] = (frame["label"].to_numpy(), frame["probability"].to_numpy())
            if "cell" in frame and frame["cell"].nunique() > 1 and len(runs) == 1:
                for cell, part in frame.groupby("cell"):
                    curves[f"{name}: {cell}"] = (part["label"].to_numpy(), part["probability"].to_numpy())
    if not curves:
        return
    if get_task(task).regresses:
        page.heading("Predictions")
        page.figure(_figures.prediction_scatter(curves))
        return
    page.heading("ROC and precision-recall curves")
    roc, pr = _figures.roc_pr(curves)
    page.figure(roc, height=440)
    page.figure(pr, height=440)


def _test_data_paths(run_dir: Path, config: dict) -> dict[str, Path] | None:
    """The run's test split per cell (one cell: ``{"": path}``), found from the data its config names (as given, or beside the run).

    A pooled run's ``data`` names its cells' directories in the order of ``cells``, joined by ", "
    (a list is read too); ``None`` when a cell's test split is not found.
    """
    from ..data.layout import split_paths

    cells = config.get("cells") or []
    data = config.get("data", "")
    if isinstance(data, list):
        sources = [str(d) for d in data]
    elif cells:
        sources = [s.strip() for s in str(data).split(", ")]
    else:
        sources = [str(data).strip()]  # one directory, whatever characters its path holds
    if not all(sources) or len(sources) != max(len(cells), 1):
        return None
    found = {}
    for cell, source in zip(cells or [""], sources):
        for base in (Path.cwd(), run_dir, run_dir.parent):
            try:
                path = split_paths(base / source)["test"]
            except (FileNotFoundError, ValueError, OSError):
                continue
            if path.is_file():
                found[cell] = path
                break
        else:
            return None
    return found


def _read_test_genes(model, paths: dict[str, Path]):
    """The test genes prepared for the model; a pooled run's are each cell's own, named ``GENE (CELL)``.

    A reference-informed model reads each cell's prior from the table it recorded.
    """
    import dataclasses

    from ..data.csv_io import read_csv
    from ..data.reference import read_reference
    from ..training.pooling import concat_data

    table = read_reference(model.reference["source"]) if model.reads_reference else None
    parts = []
    for cell, path in paths.items():
        bound = model if table is None else model.with_reference(table, cell or model.reference.get("cells", [None])[0])
        data = bound.prepare(read_csv(path))  # the marks in the model's order (normalised from the cell's own input)
        if cell:
            data = dataclasses.replace(data, gene_ids=np.array([f"{g} ({cell})" for g in data.gene_ids], dtype=object))
        parts.append(data)
    return concat_data(parts)


def _attention_sections(page: Page, run_dir: Path, config: dict, task: str, max_genes: int, genes: list[str] | None, bin_size: int) -> None:
    test_paths = _test_data_paths(run_dir, config)
    if test_paths is None:
        page.heading("Attention")
        page.note(
            f"The test split of {config.get('data', '?')} was not found from here, so the page has no class-average attention "
            "or gene search; run the report from where the training ran, or use attentivechrome interpret."
        )
        return
    from ..interpret.attention import class_legend
    from ..trained import load_model

    model = load_model(run_dir)
    data = _read_test_genes(model, test_paths)
    predictions = model.predict_prepared(data, with_attention=True)  # the cells' genes, each prepared by its cell's binding
    spec = get_task(task)
    values = spec.shown(predictions.logits)  # decoded for the task: probabilities, or the predicted values
    if predictions.alpha is not None:
        by = "label" if data.labels is not None and spec.binary else "rank"
        high = data.labels == 1 if by == "label" else values >= np.median(values)
        groups = (high, ~high)
        n_genes = [int(g.sum()) for g in groups]
        legends = [class_legend(by, c) for c in ("high", "low")]
        counts = data.counts.transpose(0, 2, 1)  # (genes, bins, marks) -> (genes, marks, bins)

        def mean(array):
            return np.stack([array[g].mean(axis=0) if g.any() else np.full(array.shape[1:], np.nan) for g in groups])

        page.heading("Class-average attention (test genes)")
        page.note(f"Genes grouped by {'label' if by == 'label' else 'rank of the prediction (higher half: high)'}; bins of {bin_size} bp, the window centred on the TSS.")
        page.figure(_figures.class_profiles(mean(predictions.alpha), mean(counts), model.marks, n_genes, legends, bin_size, "alpha"))
        if predictions.beta is not None:
            page.figure(_figures.beta_bars(mean(predictions.beta), model.marks, n_genes, legends), height=380)
    index = choose_genes(data.gene_ids, max_genes, genes)
    names = _recorded_names(test_paths, data.gene_ids[index])
    gene_set = GeneSet(
        gene_ids=data.gene_ids[index], marks=tuple(data.marks), bin_size=bin_size, values=values[index],
        value_label="P(high)" if spec.binary else f"predicted {spec.meaning}", counts=data.counts[index].transpose(0, 2, 1),
        labels=None if data.labels is None else data.labels[index], alpha=None if predictions.alpha is None else predictions.alpha[index],
        beta=None if predictions.beta is None else predictions.beta[index], n_total=data.n_genes,
        hint="report --genes ID adds it; attentivechrome interpret gives every attribution map", names=names,
    )  # fmt: skip
    page.heading("Gene search")
    page.note(
        f"{len(index)} of the {data.n_genes} test genes of {', '.join(map(str, test_paths.values()))} (genes named with --genes first, then file order). "
        "A run has attention only; attentivechrome interpret adds the attribution maps."
    )
    page.gene_explorer(gene_set.payload())


def _recorded_names(paths: dict[str, Path], gene_ids: np.ndarray) -> np.ndarray | None:
    """The symbols featurize recorded for the test genes of each cell (a pooled run's genes read ``GENE (CELL)``); ``None`` when none."""
    from ..data.gene_names import recorded_gene_names

    names: dict[str, str] = {}
    for cell, path in paths.items():
        for gene, symbol in recorded_gene_names(path).items():
            names[f"{gene} ({cell})" if cell else gene] = symbol
    if not names:
        return None
    return np.array([names.get(str(g), "") for g in gene_ids], dtype=str)
