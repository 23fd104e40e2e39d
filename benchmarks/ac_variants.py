"""AttentiveChrome variants that are not settings of the package, scored on a cell's validation split.

Issue 15 asked whether per-mark input scaling or other widths make AttentiveChrome better. The
package has no option for these (none helped), so this script builds them: each variant trains
AttentiveChrome once with its tuned defaults on the cell's train split, selects the epoch on
validation and prints the validation AUROC (the test AUROC beside it, for the record only).

Input variants (each mark's statistics from the training split only):
    raw       counts as they are (the package's default for AttentiveChrome)
    sd        counts divided by each mark's standard deviation
    logz      log1p of the counts, standardised per mark (mean 0, sd 1)
    logsd     log1p of the counts divided by each mark's standard deviation
Model variants: ``--model-args '{"mark_hidden": 32}'`` passes constructor arguments;
``--config '{"dropout": 0.1, "forget_bias": 3, "seed": 2}'`` passes TrainConfig settings.

    python benchmarks/ac_variants.py ../shared/data/roadmap-e012 --input sd --out ../search/variants/sd
    python benchmarks/ac_variants.py ../shared/data/roadmap-e012 --model-args '{"mark_hidden": 32}' --out ../search/variants/mh32

About a minute and a half per run on 2 cores (AVX-512).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from attentivechrome.config import TrainConfig
from attentivechrome.data.layout import load_splits
from attentivechrome.training import trainer

INPUTS = ("raw", "sd", "logz", "logsd")


def input_map(kind: str, train_counts: np.ndarray):
    """The per-mark input map of ``kind``, fitted on the training counts (genes, bins, marks)."""
    per_mark = train_counts.reshape(-1, train_counts.shape[-1])
    if kind == "raw":
        return lambda c: c
    if kind == "sd":
        scale = per_mark.std(0)
        return lambda c: c / scale
    logs = np.log1p(per_mark)
    mean, sd = logs.mean(0), logs.std(0)
    if kind == "logz":
        return lambda c: (np.log1p(c) - mean) / sd
    if kind == "logsd":
        return lambda c: np.log1p(c) / sd
    raise ValueError(f"unknown input {kind!r}; choose one of {', '.join(INPUTS)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cell", type=Path)
    parser.add_argument("--input", default="raw", choices=INPUTS)
    parser.add_argument("--model-args", default="{}", help="JSON: AttentiveChrome constructor arguments")
    parser.add_argument("--config", default="{}", help="JSON: TrainConfig settings")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    model_args, settings = json.loads(args.model_args), json.loads(args.config)

    build = trainer.get_model  # the variant's constructor arguments go to every model the trainer builds
    trainer.get_model = lambda name, **kwargs: build(name, **{**kwargs, **model_args})
    splits = load_splits(args.cell, cache=True)
    transform = input_map(args.input, splits["train"].counts)
    splits = {name: dataclasses.replace(data, counts=transform(data.counts).astype(np.float32)) for name, data in splits.items()}
    started = time.perf_counter()
    trainer.train(splits, TrainConfig(model="attentivechrome", **settings), out_dir=args.out, progress=False)
    metrics = json.loads((args.out / "metrics.json").read_text())
    row = {
        "input": args.input, "model_args": model_args, "config": settings, "valid_auroc": metrics["valid_auroc"],
        "test_auroc": metrics["test_auroc"], "best_epoch": metrics["best_epoch"], "epochs_run": metrics["epochs_run"],
        "minutes": (time.perf_counter() - started) / 60,
    }  # fmt: skip
    (args.out / "variant.json").write_text(json.dumps(row, indent=2) + "\n")
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
