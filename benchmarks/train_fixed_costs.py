"""Per-run fixed costs: `attentivechrome train` (2 epochs, 3 x 2,000 simulated genes) of two source trees, alternated.

Not a test; run it by hand. Each round runs ``attentivechrome train DATA --epochs 2`` once per source
tree (``PYTHONPATH`` set to the tree's ``src``), in new processes, alternating so that both see the
same load; the first round is not counted (it fills the file and kernel caches). Prints each run's
wall time and the 1-minute load average, then per tree the median and fastest time, and whether the
trees' runs scored the same (they must: the same seed gives the same numbers).

    python benchmarks/train_fixed_costs.py --data DIR --tree before=/path/to/old/src --tree after=src
    attentivechrome simulate --genes 6000 --out DIR      # the data: seed 0, 2,000 genes per split

On a shared machine compare the trees' times with each other, not with another day's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_train(src: str, data: Path, out: Path, epochs: int, cache: Path) -> tuple[float, tuple]:
    """One `attentivechrome train` in a new process: wall time and (valid AUROC, test AUROC, test AUPR)."""
    env = dict(os.environ, PYTHONPATH=src, ATTENTIVECHROME_NO_PROGRESS="1", ATTENTIVECHROME_CACHE_DIR=str(cache))
    command = [sys.executable, "-m", "attentivechrome", "train", str(data), "--out", str(out), "--epochs", str(epochs), "--quiet", "--device", "cpu"]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"train with {src} failed:\n{done.stderr}")
    metrics = json.loads((out / "metrics.json").read_text())
    return seconds, (metrics["valid_auroc"], metrics["test_auroc"], metrics["test_aupr"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="A cell directory (e.g. from attentivechrome simulate --genes 6000).")
    parser.add_argument("--tree", action="append", required=True, help="NAME=SRC: a source tree to time (give two or more).")
    parser.add_argument("--rounds", type=int, default=3, help="Counted rounds (default 3; one more warms the caches).")
    parser.add_argument("--epochs", type=int, default=2)
    options = parser.parse_args()
    trees = dict(tree.split("=", 1) for tree in options.tree)
    times: dict[str, list[float]] = {name: [] for name in trees}
    scores: dict[str, set] = {name: set() for name in trees}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(options.rounds + 1):
            for name, src in trees.items():
                out = Path(tmp) / f"run-{name}-{round_}"
                seconds, score = run_train(src, options.data, out, options.epochs, Path(tmp) / "cache")
                scores[name].add(score)
                if round_:
                    times[name].append(seconds)
                print(f"{name:<12} {seconds:6.2f} s  (load {os.getloadavg()[0]:.1f}){'' if round_ else '  warm-up, not counted'}", flush=True)
    for name, values in times.items():
        print(f"{name:<12} median {statistics.median(values):6.2f} s   fastest {min(values):6.2f} s over {len(values)} runs")
    same = len({frozenset(s) for s in scores.values()}) == 1 and all(len(s) == 1 for s in scores.values())
    print(f"same scores in every run: {same} {next(iter(scores.values()))}")


if __name__ == "__main__":
    main()
