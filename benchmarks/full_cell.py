"""Wall time of `attentivechrome train` on a full cell, per model, against `--model gbt` in the same run.

Each model is trained by the command line exactly as a user runs it (start-up, loading, training,
scoring and writing included) with its default settings, one after another, so the machine's
state is shared by every figure. Prints the machine (CPU, cores, AVX-512 or not, load average),
then per model: wall time, peak memory, epochs run, test AUROC, and the ratio to gbt; then the
goals of issue 15 (AttentiveChrome <= 90 s and <= 5x gbt; every baseline <= 3 minutes).

    python benchmarks/full_cell.py                      # attentivechrome and gbt on roadmap-e012
    python benchmarks/full_cell.py --models all         # every model
    python benchmarks/full_cell.py --json out.json      # also the raw figures
    python benchmarks/full_cell.py --as-avx2            # on an AVX-512 CPU: as an AVX2 CPU would run

Run it on an otherwise idle machine: the figures are wall times.

``--as-avx2`` measures, on an AVX-512 machine, the code an AVX2 machine without AVX-512 runs:
AttentiveChrome's kernel is built for ``-march=x86-64-v3`` (ATTENTIVECHROME_KERNEL_ARCH) and
PyTorch is held to its AVX2 kernels (ATEN_CPU_CAPABILITY=avx2). The instructions are those of an
AVX2 machine; the core, caches and clock stay this machine's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_CELL = Path(os.environ.get("ATTENTIVECHROME_SHARED_DATA", HERE.parents[1] / "shared" / "data")) / "roadmap-e012"
GOAL_FLAGSHIP_S, GOAL_RATIO, GOAL_BASELINE_S = 90.0, 5.0, 180.0


def machine() -> dict:
    """What the figures were measured on."""
    flags, name = "", platform.processor()
    try:
        text = Path("/proc/cpuinfo").read_text()
        flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
        name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), name)
    except OSError:
        pass
    import torch

    return {
        "cpu": name, "cores": len(os.sched_getaffinity(0)), "avx512f": " avx512f" in flags, "avx2": " avx2" in flags,
        "torch": torch.__version__, "python": platform.python_version(), "load_average": os.getloadavg(),
    }  # fmt: skip


#: What ``--as-avx2`` sets for the child processes.
AVX2_ENVIRONMENT = {"ATTENTIVECHROME_KERNEL_ARCH": "x86-64-v3", "ATEN_CPU_CAPABILITY": "avx2"}


def run_train(cell: Path, model: str, out: Path, extra: list[str], env: dict[str, str] | None = None) -> dict:
    """One `attentivechrome train` as a child process: wall time, the child's peak RSS, and its metrics."""
    command = [sys.executable, "-m", "attentivechrome", "train", str(cell), "--model", model, "--out", str(out), "--quiet", *extra]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage: its peak RSS, not the largest of all children
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read()
    if child.returncode != 0:
        return {"model": model, "error": stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {child.returncode}", "seconds": seconds}
    metrics = json.loads((out / "metrics.json").read_text())
    return {
        "model": model, "seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "epochs_run": metrics.get("epochs_run"),
        "best_epoch": metrics["best_epoch"], "stop_reason": metrics.get("stop_reason", ""), "test_auroc": metrics["test_auroc"],
        "valid_auroc": metrics["valid_auroc"],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", type=Path, default=DEFAULT_CELL)
    parser.add_argument("--models", default="attentivechrome", help="comma list, or 'all'; gbt is always run as the reference")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--as-avx2", action="store_true", help="run the AVX2 code paths (kernel and PyTorch) on an AVX-512 machine")
    parser.add_argument("extra", nargs="*", help="options passed to every `train` (after --)")
    args = parser.parse_args(argv)

    from attentivechrome.model_catalog import MODEL_CATALOG

    models = list(MODEL_CATALOG) if args.models == "all" else args.models.split(",")
    models = ["gbt", *[m for m in models if m != "gbt"]]  # the reference first
    info = machine()
    info["as_avx2"] = args.as_avx2
    env = AVX2_ENVIRONMENT if args.as_avx2 else None
    print(f"machine  {info['cpu']}, {info['cores']} cores, AVX-512 {'yes' if info['avx512f'] else 'no'}, AVX2 {'yes' if info['avx2'] else 'no'}")
    if args.as_avx2:
        print(f"         running as an AVX2 machine: {' '.join(f'{k}={v}' for k, v in AVX2_ENVIRONMENT.items())}")
    print(f"         torch {info['torch']}, Python {info['python']}; load average {' '.join(f'{v:.2f}' for v in info['load_average'])} at start")
    print(f"cell     {args.cell}\n")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            row = run_train(args.cell, model, Path(tmp) / model, args.extra, env)
            rows.append(row)
            reference = rows[0]["seconds"]
            if "error" in row:
                print(f"{model:<16} failed after {row['seconds']:.1f}s: {row['error']}", flush=True)
                continue
            print(
                f"{model:<16} {row['seconds']:7.1f} s  {row['seconds'] / reference:5.1f}x gbt  peak {row['peak_rss_mb']:6.0f} MB  "
                f"epochs {row['epochs_run']} (best {row['best_epoch']}, {row['stop_reason']})  test AUROC {row['test_auroc']:.4f}",
                flush=True,
            )
    info["load_average_end"] = os.getloadavg()
    print(f"\nload average {' '.join(f'{v:.2f}' for v in info['load_average_end'])} at the end")
    gbt = rows[0]["seconds"]
    print("goals (issue 15):")
    for row in rows[1:]:
        if "error" in row:
            continue
        if row["model"] == "attentivechrome":
            ok = row["seconds"] <= GOAL_FLAGSHIP_S and row["seconds"] / gbt <= GOAL_RATIO
            print(f"  attentivechrome <= {GOAL_FLAGSHIP_S:.0f} s and <= {GOAL_RATIO:.0f}x gbt: {row['seconds']:.1f} s, {row['seconds'] / gbt:.1f}x  {'met' if ok else 'NOT met'}")
        else:
            ok = row["seconds"] <= GOAL_BASELINE_S
            print(f"  {row['model']} <= {GOAL_BASELINE_S:.0f} s: {row['seconds']:.1f} s  {'met' if ok else 'NOT met'}")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "runs": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
