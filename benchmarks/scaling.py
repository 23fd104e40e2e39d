"""Scaling figures for docs/scaling.md: train-many on 1 vs 2 local Dask workers, and DDP's overhead.

Run on an otherwise idle machine (each figure is one run):

    python benchmarks/scaling.py --epochs 3 --out ../scaling-runs

1. ``train-many`` over four full-size cells (the three shared Roadmap cells and a second copy of
   E012 under another name): with one worker of one thread (``--jobs 1`` and
   ``ATTENTIVECHROME_THREADS=1``), with ``--jobs 1`` as users get it (one cell after another,
   every core for each), and with ``--jobs 2`` (a local cluster of two one-thread workers). The
   speed-ups are ratios of wall times measured in the same run.
2. ``train`` on one full cell as one process and as two DDP ranks under torchrun (gloo),
   the same global batch: seconds per epoch and the ratio.
Per-unit cost at the defaults (30 epochs) comes from the cross-cell runs' result.json files
(``--cross-cell-runs``), when given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("ATTENTIVECHROME_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "attentivechrome", *args]


def _timed(command: list[str], env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3, help="Epochs per training (the ratio does not depend on it). Default 3.")
    parser.add_argument("--out", type=Path, default=ROOT.parent / "scaling-runs", help="Working directory (runs are deleted before each timing).")
    parser.add_argument("--cross-cell-runs", type=Path, default=None, help="Output root of benchmarks/cross_cell.sh, for the per-unit cost.")
    parser.add_argument("--json", action="store_true", help="Print the figures as JSON too.")
    parser.add_argument("--skip-ddp", action="store_true", help="Measure train-many only.")
    args = parser.parse_args()

    env = {**os.environ, "ATTENTIVECHROME_NO_PROGRESS": "1"}
    args.out.mkdir(parents=True, exist_ok=True)
    cells_root = args.out / "cells"
    cells_root.mkdir(exist_ok=True)
    cells = []
    for name, source in (("e012", "roadmap-e012"), ("e028", "roadmap-e028"), ("e087", "roadmap-e087"), ("e012-copy", "roadmap-e012")):
        link = cells_root / name
        if not link.exists():
            link.symlink_to((DATA / source).resolve(), target_is_directory=True)
        cells.append(str(link))
    settings = ["--epochs", str(args.epochs), "--device", "cpu", "--quiet"]
    figures: dict[str, float] = {"load_1min_before": os.getloadavg()[0], "epochs": args.epochs}

    # 1. train-many, 1 vs 2 local workers (the CSV cache is warmed first, so both read binary copies).
    _timed(_cli("train-many", cells[0], "--out", str(args.out / "warm"), "--epochs", "1", "--device", "cpu", "--quiet", "--jobs", "1"), env)
    for label, jobs, extra_env in (("1 worker, 1 thread", 1, {"ATTENTIVECHROME_THREADS": "1"}), ("--jobs 1, every core", 1, {}), ("--jobs 2", 2, {})):
        key = {"1 worker, 1 thread": "one_thread", "--jobs 1, every core": "jobs1", "--jobs 2": "jobs2"}[label]
        out = args.out / f"train-many-{key}"
        shutil.rmtree(out, ignore_errors=True)
        figures[f"train_many_{key}_s"] = _timed(_cli("train-many", *cells, "--out", str(out), "--jobs", str(jobs), *settings), {**env, **extra_env})
        print(f"train-many, 4 full cells, {args.epochs} epochs, {label}: {figures[f'train_many_{key}_s']:.1f} s", flush=True)
    figures["speedup_2_workers_over_1_worker"] = figures["train_many_one_thread_s"] / figures["train_many_jobs2_s"]
    figures["speedup_2_workers_over_jobs1"] = figures["train_many_jobs1_s"] / figures["train_many_jobs2_s"]
    print(
        f"speed-up of 2 workers: {figures['speedup_2_workers_over_1_worker']:.2f}x over 1 one-thread worker, "
        f"{figures['speedup_2_workers_over_jobs1']:.2f}x over --jobs 1 with every core",
        flush=True,
    )

    # 2. DDP: one process vs two ranks on one full cell, the same global batch.
    if args.skip_ddp:
        print(json.dumps(figures, indent=2) if args.json else "", flush=True)
        return
    one, two = args.out / "ddp-1", args.out / "ddp-2"
    for path in (one, two):
        shutil.rmtree(path, ignore_errors=True)
    figures["ddp_1process_s"] = _timed(_cli("train", cells[0], "--out", str(one), *settings), env)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port", str(_free_port())]
    figures["ddp_2ranks_s"] = _timed([*torchrun, "-m", "attentivechrome", "train", cells[0], "--out", str(two), "--distributed", *settings], env)
    epochs = lambda path: json.loads((path / "metrics.json").read_text())["history"]  # noqa: E731
    figures["ddp_1process_epoch_s"] = sum(r["seconds"] for r in epochs(one)) / args.epochs
    figures["ddp_2ranks_epoch_s"] = sum(r["seconds"] for r in epochs(two)) / args.epochs
    figures["ddp_epoch_ratio"] = figures["ddp_2ranks_epoch_s"] / figures["ddp_1process_epoch_s"]
    print(
        f"DDP on e012, {args.epochs} epochs: 1 process {figures['ddp_1process_s']:.1f} s ({figures['ddp_1process_epoch_s']:.1f} s/epoch), "
        f"2 ranks {figures['ddp_2ranks_s']:.1f} s ({figures['ddp_2ranks_epoch_s']:.1f} s/epoch); 2 ranks / 1 process: {figures['ddp_epoch_ratio']:.2f}",
        flush=True,
    )

    # 3. Per-unit cost at the defaults, from the cross-cell runs.
    if args.cross_cell_runs is not None:
        for result in sorted(args.cross_cell_runs.glob("*/runs/*/seed-*/result.json")):
            row = json.loads(result.read_text())
            print(f"unit {result.parent.parent.parent.parent.name}/{row['cell']}: {row['seconds'] / 60:.1f} min (best epoch {row['best_epoch']})")
    figures["load_1min_after"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
