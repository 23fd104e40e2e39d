"""Search a model's training settings on a cell's validation split (never its test split).

Every combination of the ``--set`` values is trained once per seed on the cell's train split;
each run's epoch is selected on validation, and the table ranks the settings by the mean
validation score (AUROC, or Pearson r for regression). Test scores are printed beside it for
the record only: the choice reads the validation column.

Resumable: every run is a unit of the package's runner (one run directory per setting and
seed, skipped once it holds ``result.json``), so rerunning the same command continues.

    python benchmarks/search_defaults.py ../shared/data/roadmap-e012 --model attentivechrome \\
        --set lr=2e-4,1e-3 --set batch_size=16,64 --set transform=none,log1p \\
        --fixed epochs=40 --fixed patience=6 --out ../search/attentivechrome

Writes ``search.csv`` and ``search.md`` in ``--out`` and prints the table.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import pandas as pd

from attentivechrome.config import TrainConfig
from attentivechrome.data.layout import cell_name
from attentivechrome.experiments.runner import TrainingUnit, read_result, run_units, seed_list, status_text


def _value(text: str):
    """A setting's value from the command line: int, float, None (written null) or the string itself."""
    if text == "null":  # "none" stays a string (transform=none)
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _pairs(items: list[str], *, many: bool) -> dict[str, list]:
    settings: dict[str, list] = {}
    for item in items:
        name, _, values = item.partition("=")
        if not values:
            raise SystemExit(f"expected NAME=VALUE{',VALUE...' if many else ''}, got {item!r}")
        settings[name] = [_value(v) for v in values.split(",")] if many else [_value(values)]
    return settings


def _slug(point: dict) -> str:
    return "_".join(f"{k}-{v}" for k, v in sorted(point.items())) or "defaults"


def plan(cell: Path, model: str, task: str, grid: dict[str, list], fixed: dict, seeds: list[int], out: Path) -> list[TrainingUnit]:
    """One unit per combination of the grid's values and seed (checked as TrainConfigs before anything runs)."""
    units = []
    names = list(grid)
    for values in itertools.product(*grid.values()) if grid else [()]:
        point = dict(zip(names, values))
        for seed in seeds:
            config = TrainConfig(**{"model": model, "task": task, "device": "cpu", **fixed, **point, "seed": seed})
            run_dir = out / "runs" / _slug(point) / f"seed-{seed}"
            units.append(TrainingUnit(cell=cell_name(cell), data_dirs=(str(cell.resolve()),), run_dir=str(run_dir), config=config.to_dict()))
    return units


def table(units: list[TrainingUnit], grid: dict[str, list], task: str) -> pd.DataFrame:
    """One row per setting: the mean validation score over seeds (the ranking), test beside it, epochs and time."""
    key, test_key = ("valid_auroc", "test_auroc") if task == "classification" else ("valid_pearson", "test_pearson")
    rows = []
    for unit in units:
        result = read_result(unit.run_dir)
        if result is None:
            continue
        point = {name: unit.config[name] for name in grid}
        rows.append({**point, "seed": unit.config["seed"], key: result[key], test_key: result[test_key],
                     "best_epoch": result["best_epoch"], "epochs_run": result.get("epochs_run", float("nan")), "minutes": result["minutes"]})  # fmt: skip
    if not rows:
        return pd.DataFrame()
    frame = pd.DataFrame(rows)
    by = list(grid) or ["seed"]
    summary = frame.groupby(by, dropna=False).agg(
        seeds=("seed", "count"), **{key: (key, "mean"), f"{key}_sd": (key, "std"), test_key: (test_key, "mean")},
        best_epoch=("best_epoch", "mean"), epochs_run=("epochs_run", "mean"), minutes=("minutes", "mean"),
    )  # fmt: skip
    return summary.sort_values(key, ascending=False).reset_index()


def _markdown(frame: pd.DataFrame) -> str:
    """A markdown table of the summary (floats to 4 places)."""
    cells = [[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells]) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cell", type=Path, help="data directory (train/valid/test)")
    parser.add_argument("--model", default="attentivechrome")
    parser.add_argument("--task", default="classification", choices=["classification", "regression"])
    parser.add_argument("--set", dest="grid", action="append", default=[], metavar="NAME=V1,V2", help="a setting to search (TrainConfig field)")
    parser.add_argument("--fixed", action="append", default=[], metavar="NAME=V", help="a setting held fixed")
    parser.add_argument("--seeds", default="1", help="a count N (seeds 1..N) or a comma list")
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (one thread each)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    grid = _pairs(args.grid, many=True)
    fixed = {k: v[0] for k, v in _pairs(args.fixed, many=False).items()}
    seeds = seed_list(int(args.seeds) if args.seeds.isdigit() else [int(s) for s in args.seeds.split(",")])
    units = plan(args.cell, args.model, args.task, grid, fixed, seeds, args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search.json").write_text(json.dumps({"cell": str(args.cell), "model": args.model, "task": args.task, "grid": grid, "fixed": fixed, "seeds": seeds}, indent=2) + "\n")
    print(f"{len(units)} runs ({args.model}, {args.task}) on {args.cell}; results in {args.out}", flush=True)

    def on_result(row: dict) -> None:
        score = row.get("valid_auroc", row.get("valid_pearson"))
        detail = row.get("error") if row["status"] == "failed" else f"valid {score:.4f} best epoch {row.get('best_epoch')} ({row.get('minutes', 0):.1f} min)"
        print(f"[{row['status']}] {row['run_dir']}: {detail}", flush=True)

    run_units(units, jobs=args.jobs, on_result=on_result, on_status=lambda c: print(status_text(c), flush=True))
    summary = table(units, grid, args.task)
    if summary.empty:
        print("no finished runs")
        return 1
    summary.to_csv(args.out / "search.csv", index=False, float_format="%.5g")
    (args.out / "search.md").write_text(_markdown(summary))
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
