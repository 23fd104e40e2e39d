"""Speed and memory of ``interpret`` and ``interpret-benchmark`` against the targets of issue 14 (not a test).

Each case runs the real command line in a fresh process and reports its wall time (start-up
included) and peak resident memory (``ru_maxrss`` of that process), beside the target:

1. ``interpret`` of the 200 test genes of ``../shared/data/remc-e003`` with the published E003
   weights and the default methods (figures of 12 genes, TSV on) against ``predict --attention`` of
   the same file, run one after the other in the same run (``--repeats`` pairs): interpret within
   5x predict's wall time (issue 23), under 1 GB. The peak memory of the figure workers
   (``interpret`` draws its figures in two forked processes) is printed beside the command's own.
2. ``interpret`` of ``--small`` and ``--large`` simulated genes (default 2,000 and 20,000; TSV off):
   the peak memory must stay flat (20,000 genes under 1.5 GB). To keep this case to minutes, it
   runs the default methods with 4 integration steps and 20-bin occlusion windows: the memory of
   a pass is set by the 256-example gradient batch and the 512-example occlusion batch, not by
   these settings, so the peak is that of the defaults.
3. ``interpret-benchmark`` (all seven methods, default settings) on the 2,000 test genes of a
   6,000-gene simulation: at most 3 minutes. The model is an untrained AttentiveChrome of the
   default size (log1p input); the work per gene does not depend on the weights.

The machine is often shared: the load average is printed before and after each case, and the
targets are for 2 idle cores. Usage::

    python benchmarks/interpret_speed.py                  # every case (about 10 minutes on 2 cores)
    python benchmarks/interpret_speed.py --cases 1 --repeats 5        # issue 23's ratio only
    python benchmarks/interpret_speed.py --cases 1,3 --large 5000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED = Path(os.environ.get("ATTENTIVECHROME_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))

# Runs one command line in this process and prints its wall time and peak memory as JSON.
_CHILD = """
import json, resource, sys, time
started = time.perf_counter()
from attentivechrome.cli.main import main
code = 0
try:
    main(json.loads(sys.argv[1]))
except SystemExit as stop:
    code = stop.code or 0
me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mb": me.ru_maxrss / 1024, "children_peak_mb": kids.ru_maxrss / 1024,
                  "cpu_seconds": me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, "code": code}))
"""


def run(argv: list[str]) -> dict:
    load_before = os.getloadavg()[0]
    process = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([str(a) for a in argv])], capture_output=True, text=True)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, argv))} failed:\n{process.stderr}")
    result = json.loads(process.stdout.strip().splitlines()[-1])
    if result["code"]:
        raise SystemExit(f"{' '.join(map(str, argv))} exited {result['code']}:\n{process.stderr}")
    result["load"] = (load_before, os.getloadavg()[0])
    return result


def line(name: str, genes: int, result: dict, seconds_target: float | None, mb_target: float | None) -> str:
    time_ok = "" if seconds_target is None else f" (target <= {seconds_target:.0f} s: {'met' if result['seconds'] <= seconds_target else 'MISSED'})"
    mem_ok = "" if mb_target is None else f" (target < {mb_target:.0f} MB: {'met' if result['peak_mb'] < mb_target else 'MISSED'})"
    return (
        f"{name:<34} genes {genes:>6}  wall {result['seconds']:7.1f} s{time_ok}  peak RSS {result['peak_mb']:7.0f} MB{mem_ok}  "
        f"load {result['load'][0]:.2f} -> {result['load'][1]:.2f}"
    )


def untrained_checkpoint(path: Path, n_bins: int = 100) -> Path:
    import torch

    from attentivechrome.data.schema import MARKS
    from attentivechrome.models import AttentiveChrome
    from attentivechrome.models.checkpoint import save_checkpoint

    torch.manual_seed(0)
    save_checkpoint(AttentiveChrome(len(MARKS), transform="log1p"), path, marks=MARKS, n_bins=n_bins)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="1,2,3", help="Which cases to run (comma-separated).")
    parser.add_argument("--small", type=int, default=2000, help="Genes of the smaller memory case.")
    parser.add_argument("--large", type=int, default=20000, help="Genes of the larger memory case.")
    parser.add_argument("--repeats", type=int, default=3, help="Pairs of predict and interpret runs of case 1.")
    args = parser.parse_args()
    cases = {int(c) for c in args.cases.split(",")}
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f} (targets are for 2 idle cores)", flush=True)
    with tempfile.TemporaryDirectory(prefix="interpret-speed-") as tmp:
        tmp = Path(tmp)
        model = untrained_checkpoint(tmp / "model.pt")
        if 1 in cases:
            checkpoint, test = SHARED / "reference-checkpoint-E003.pt", SHARED / "remc-e003" / "classification" / "test.csv"
            if not test.is_file():
                print(f"case 1 skipped: {test} not found")
            else:
                ratios, cpu_ratios = [], []
                for r in range(args.repeats):  # alternated, so that both see the same load
                    base = run(["predict", "--model", checkpoint, "--input", test, "--out", tmp / f"p{r}.tsv", "--attention", tmp / f"p{r}.npz"])
                    print(line("predict --attention", 200, base, None, None), flush=True)
                    result = run(["interpret", "--model", checkpoint, "--input", test, "--out", tmp / f"e003-{r}", "--by", "label", "-q"])
                    ratios.append(result["seconds"] / base["seconds"])
                    cpu_ratios.append(result["cpu_seconds"] / base["cpu_seconds"])
                    print(line("interpret, default methods", 200, result, None, 1024) + f"  figure workers' peak RSS {result['children_peak_mb']:.0f} MB", flush=True)
                    print(f"{'':34} interpret / predict: wall {ratios[-1]:.2f}x (target <= 5x: {'met' if ratios[-1] <= 5 else 'MISSED'}), "
                          f"CPU time {result['cpu_seconds']:.1f} s / {base['cpu_seconds']:.1f} s = {cpu_ratios[-1]:.2f}x", flush=True)  # fmt: skip
                for name, values in (("wall", ratios), ("CPU", cpu_ratios)):
                    print(f"interpret / predict, {name} time, {len(values)} pairs: median {sorted(values)[len(values) // 2]:.2f}x, range {min(values):.2f}-{max(values):.2f}x", flush=True)
        if 2 in cases:
            from attentivechrome.data.csv_io import write_csv
            from attentivechrome.data.synthetic import simulate

            for n in (args.small, args.large):
                data, _ = simulate(n, 100, seed=0)
                write_csv(data, tmp / f"sim{n}.csv")
                del data
                result = run(["interpret", "--model", model, "--input", tmp / f"sim{n}.csv", "--out", tmp / f"out{n}", "--no-tsv",
                              "--n-steps", 4, "--window", 20, "--max-gene-plots", 2, "--by", "rank", "-q"])  # fmt: skip
                print(line("interpret, memory case", n, result, None, 1536 if n >= 20000 else 1024), flush=True)
        if 3 in cases:
            subprocess.run([sys.executable, "-m", "attentivechrome", "simulate", "--genes", "6000", "--out", tmp / "sim6000"], check=True, capture_output=True)
            result = run(["interpret-benchmark", "--data", tmp / "sim6000", "--model", model, "--out", tmp / "bench", "-q"])
            print(line("interpret-benchmark, all methods", 2000, result, 180, None), flush=True)


if __name__ == "__main__":
    main()
