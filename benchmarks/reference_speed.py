"""Does reading the reference prior slow training? Seconds per epoch with and without it, in the same run.

Trains each model on a full cell for a few epochs (no early stopping) histone-only and with the
prior, alternating the two so both see the same machine load, and prints the median seconds per
epoch of each and their ratio (with / without). The table is read once before the timing (it is
read once per training run, about 0.4 s).

    python benchmarks/reference_speed.py --cell roadmap-e012 --models attentivechrome,deepchrome --epochs 3 --rounds 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", default="roadmap-e012")
    parser.add_argument("--models", default="attentivechrome,deepchrome")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2, help="Pairs of runs per model (with, without), alternating.")
    args = parser.parse_args(argv)

    from attentivechrome.config import TrainConfig
    from attentivechrome.data.layout import load_splits
    from attentivechrome.data.reference import read_reference
    from attentivechrome.training.trainer import train

    started = time.perf_counter()
    table = read_reference(SHARED / "roadmap-expression" / "rpkm.tsv.gz")
    print(f"read the reference table in {time.perf_counter() - started:.2f}s")
    splits = load_splits(SHARED / args.cell, cache=True)
    print("| model | s/epoch marks only | s/epoch marks + prior | ratio (with / without) |")
    print("|---|---|---|---|")
    for model in args.models.split(","):
        seconds = {"none": [], "new-cell": []}
        for _ in range(args.rounds):
            for reference in ("none", "new-cell"):
                config = TrainConfig(model=model, reference=reference, epochs=args.epochs, patience=0, device="cpu")
                record = train(splits, config, reference=table if reference != "none" else None, cell=args.cell, progress=False).record
                seconds[reference] += [epoch["seconds"] for epoch in record.history]
        without, with_prior = statistics.median(seconds["none"]), statistics.median(seconds["new-cell"])
        print(f"| {model} | {without:.2f} | {with_prior:.2f} | {with_prior / without:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
