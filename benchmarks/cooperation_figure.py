"""Draw docs/images/interpretation/cooperation.png from `benchmarks/cooperation.sh`'s outputs.

    python benchmarks/cooperation_figure.py runs/cooperation --out docs/images/interpretation/cooperation.png

Reads ``bench-s1/cooperation.csv`` and ``bench-s2/cooperation.csv`` (interpret-benchmark on the
two AttentiveChrome seeds) and ``sim/truth.npz`` (for the column headers), draws one row of bar
panels per seed, and prints each seed's table as markdown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from attentivechrome.data.synthetic import load_truth
from attentivechrome.interpret.benchmark import cooperation_headers, cooperation_markdown
from attentivechrome.interpret.plots import plot_cooperation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the folder benchmarks/cooperation.sh wrote")
    parser.add_argument("--out", type=Path, default=Path("docs/images/interpretation/cooperation.png"))
    args = parser.parse_args()
    headers = cooperation_headers(load_truth(args.root / "sim"))
    seeds = sorted(p for p in args.root.glob("bench-s*") if (p / "cooperation.csv").is_file())
    if not seeds:
        raise SystemExit(f"{args.root}: no bench-s*/cooperation.csv yet; run benchmarks/cooperation.sh first")
    fig = Figure(figsize=(4.4 * len(headers), 4.2 * len(seeds)), layout="constrained")
    grid = fig.subplots(len(seeds), len(headers), sharey="row", squeeze=False)
    for row, folder in zip(grid, seeds):
        table = pd.read_csv(folder / "cooperation.csv", index_col="method")
        table.attrs["headers"] = headers
        plot_cooperation(table, axes=list(row))
        row[0].set_ylabel(f"AttentiveChrome {folder.name.removeprefix('bench-')}")
        print(f"## {folder.name}\n\n{cooperation_markdown(table)}")
    fig.suptitle("cooperating marks and position rules: which map recovers them? (dashed: random map)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=130)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
