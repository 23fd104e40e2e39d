"""What the marks add to what is already known: histone-only, the gene prior alone, and marks + prior.

Trains every (cell, task, model, reference, seed) unit asked for, each model at its tuned
defaults, and appends one JSON line per finished unit to ``--out/results.jsonl`` with its test
metrics and training time; its test predictions go to ``--out/predictions/<unit>.tsv.gz``. A
unit already in the results is skipped, so a killed run continues where it stopped (run the
same command again). ``--table`` prints the tables from the results (means over seeds, and a
paired bootstrap of each model against the best: the same gene resamples for every model,
averaged over the seeds' predictions).

Units:
- ``--reference none``: the marks only; ``new-cell``: marks + the prior's four fixed summaries;
  ``fitted``: marks + every other cell's expression as a feature (within-cell ceiling).
- model ``prior``: the prior alone (trees on the prior's features, no marks).
- ``--exclude es``: the ES and ES-derived epigenomes are left out of every prior too.
- ``--transfer-from CELL``: train on CELL, then score the model on the test split of each
  ``--cells`` (its prior then leaves out that cell's own column): the new-cell use.

Example (the commands behind docs/reference.md are in benchmarks/reference.sh):

    python benchmarks/reference.py --cells roadmap-e012 --tasks classification \\
        --models attentivechrome,gbt,prior --references none,new-cell --seeds 1,2,3 --out docs/results/reference
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
TABLE = SHARED / "roadmap-expression" / "rpkm.tsv.gz"


def unit_key(cell: str, task: str, model: str, reference: str, seed: int, exclude: str, source: str | None) -> str:
    parts = [cell, task, model, reference, f"s{seed}"]
    if exclude:
        parts.append(f"no-{exclude}")
    if source:
        parts.append(f"from-{source}")
    return "_".join(parts)


def done_keys(results: Path) -> set[str]:
    if not results.is_file():
        return set()
    return {json.loads(line)["key"] for line in results.read_text().splitlines() if line.strip()}


def run_units(args: argparse.Namespace) -> None:
    from attentivechrome.config import TrainConfig
    from attentivechrome.data.layout import load_splits
    from attentivechrome.data.marks import align_marks
    from attentivechrome.data.reference import parse_exclude, read_reference
    from attentivechrome.training.trainer import train

    out = Path(args.out)
    (out / "predictions").mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = done_keys(results)
    table = read_reference(args.reference_table)
    exclude = parse_exclude(args.exclude)
    for task in args.tasks.split(","):
        label_task = "classification" if task == "classification" else "regression"
        for cell in args.cells.split(","):
            splits = None
            for seed in map(int, args.seeds.split(",")):
                for model in args.models.split(","):
                    for reference in args.references.split(","):
                        if model == "prior" and reference == "none" or task == "deviation" and reference == "none":
                            continue
                        key = unit_key(cell, task, model, reference, seed, args.exclude, args.transfer_from)
                        if key in done:
                            continue
                        source_cell = args.transfer_from or cell
                        train_splits = load_splits(SHARED / source_cell, task=label_task, cache=True)
                        splits = splits or load_splits(SHARED / cell, task=label_task, cache=True)
                        if args.transfer_from:  # the source cell's marks that the target cell has (E012's five -> E087's four)
                            train_splits = {k: align_marks(v, splits["train"].marks).data for k, v in train_splits.items()}
                        config = TrainConfig(model=model, task=task, seed=seed, reference=reference, reference_exclude=exclude, device="cpu")
                        started = time.perf_counter()
                        trained, record = train(train_splits, config, reference=table if reference != "none" else None, cell=source_cell, progress=False)
                        seconds = time.perf_counter() - started
                        scores = record.scores
                        model_for_cell = trained if reference == "none" else trained.with_reference(table, cell)
                        predictions = model_for_cell.predict(splits["test"], with_attention=False)
                        test = splits["test"]
                        baseline = predictions.baseline
                        targets = model_for_cell.task_spec.targets(test.labels, baseline)
                        metrics = model_for_cell.task_spec.scores("test", targets, predictions.logits, baseline)
                        row = {
                            "key": key, "cell": cell, "task": task, "model": model, "reference": reference, "seed": seed, "exclude": args.exclude,
                            "trained_on": source_cell, "best_epoch": record.best_epoch, "valid": {k: v for k, v in scores.items() if k.startswith("valid_")},
                            **metrics, "seconds": round(seconds, 2),
                        }  # fmt: skip
                        frame = pd.DataFrame({"gene_id": test.gene_ids, "value": predictions.logits, "target": targets})
                        if baseline is not None:
                            frame["prior"] = baseline
                        frame.to_csv(out / "predictions" / f"{key}.tsv.gz", sep="\t", index=False, float_format="%.5g")
                        with results.open("a") as handle:
                            handle.write(json.dumps(row) + "\n")
                        shown = ", ".join(f"{k.removeprefix('test_')} {v:.4f}" for k, v in metrics.items())
                        print(f"{key}: {shown} ({seconds:.0f}s)", flush=True)


def tables(out: Path) -> str:
    """Markdown tables from the results: mean (sd) over seeds per (cell, task, model, reference), and paired bootstrap intervals."""
    from attentivechrome.metrics.bootstrap import bootstrap_distribution, bootstrap_indices, percentile_interval

    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    frame = pd.DataFrame(rows)
    frame["within_cell"] = frame["reference"] == "fitted"  # the within-cell ceiling is its own table, not a row of the new-cell ones
    lines = []
    metric_of = {"classification": "test_auroc", "regression": "test_pearson", "deviation": "test_pearson"}
    for (cell, task, exclude, source, within), group in frame.groupby(["cell", "task", "exclude", "trained_on", "within_cell"], sort=False):
        metric = metric_of[task]
        title = f"### {cell}, {task}" + (f", without {exclude}" if exclude else "") + (f", trained on {source}" if source != cell else "")
        title += ", within-cell ceiling (fitted)" if within else ""
        lines += ["", title, "", f"| model | reference | {metric.removeprefix('test_')} (mean over seeds) | sd | seeds | 95% paired interval of the difference to the best | seconds |", "|---|---|---|---|---|---|---|"]
        summary = group.groupby(["model", "reference"], sort=False).agg(mean=(metric, "mean"), sd=(metric, "std"), n=(metric, "size"), seconds=("seconds", "mean")).reset_index()
        best = summary.loc[summary["mean"].idxmax()]
        # Paired bootstrap on the seed-averaged predictions: the same gene resamples for every model.
        averaged = {}
        for (model, reference), units in group.groupby(["model", "reference"], sort=False):
            parts = [pd.read_csv(out / "predictions" / f"{key}.tsv.gz", sep="\t") for key in units["key"]]
            values = np.mean([p["value"].to_numpy() for p in parts], axis=0)
            averaged[(model, reference)] = (parts[0]["target"].to_numpy(), values)
        targets = averaged[(best["model"], best["reference"])][0]
        index = bootstrap_indices(len(targets), 1000, seed=0)
        kind = "auroc" if task == "classification" else "pearson"
        best_dist = bootstrap_distribution(targets, averaged[(best["model"], best["reference"])][1], kind, index)
        for _, row in summary.sort_values("mean", ascending=False).iterrows():
            if (row["model"], row["reference"]) == (best["model"], best["reference"]):
                interval = "(best)"
            else:
                diff = bootstrap_distribution(targets, averaged[(row["model"], row["reference"])][1], kind, index) - best_dist
                low, high = percentile_interval(diff)
                interval = f"[{low:+.4f}, {high:+.4f}]" + (" significant" if high < 0 else "")
            sd = "" if np.isnan(row["sd"]) else f"{row['sd']:.4f}"
            lines.append(f"| {row['model']} | {row['reference']} | {row['mean']:.4f} | {sd} | {row['n']} | {interval} | {row['seconds']:.0f} |")
        if task == "deviation":
            lines.append("")
            lines.append("Full log expression rebuilt from the deviation (Pearson): " + ", ".join(
                f"{m} {v:.4f}" for m, v in group.groupby("model")["test_expression_pearson"].mean().sort_values(ascending=False).items()
            ))  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default="roadmap-e012")
    parser.add_argument("--tasks", default="classification")
    parser.add_argument("--models", default="attentivechrome,deepchrome,gbt,linear,prior")
    parser.add_argument("--references", default="none,new-cell")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--exclude", default="", help="Epigenomes every prior leaves out besides the cell's own (es: the ES-related ones).")
    parser.add_argument("--transfer-from", default=None, help="Train on this cell and score on the test split of each --cells.")
    parser.add_argument("--reference-table", default=str(TABLE))
    parser.add_argument("--out", default=str(ROOT / "docs" / "results" / "reference"))
    parser.add_argument("--table", action="store_true", help="Print the tables of the results so far and stop.")
    args = parser.parse_args(argv)
    if args.table:
        sys.stdout.write(tables(Path(args.out)))
        return 0
    run_units(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
