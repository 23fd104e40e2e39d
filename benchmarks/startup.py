"""Start-up time of the command line (not a test; run it by hand).

Runs ``attentivechrome --help`` (or the arguments after ``--``) ``--repeat`` times, each in a new
process, and ``python -c pass`` as many times in the same run, alternating the two so that both
see the same load. Prints the median and fastest wall time of each and their ratio. The goal is
a ``--help`` under 0.5 s on an idle machine; on a busy one compare the ratio rather than the time.

Usage::

    python benchmarks/startup.py --repeat 15
    python benchmarks/startup.py --repeat 15 -- models

To see where the time goes: ``python -X importtime -c "import attentivechrome.cli.main"``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def cli_command() -> list[str]:
    """The installed ``attentivechrome`` script beside this interpreter, else ``python -m attentivechrome``."""
    beside = Path(sys.executable).with_name("attentivechrome")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("attentivechrome")
    return [found] if found else [sys.executable, "-m", "attentivechrome"]


def wall_time(command: list[str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 2):  # 2: a usage error, which is a fine thing to time too
        raise SystemExit(f"{' '.join(command)} failed (exit {result.returncode}):\n{result.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=11, help="Runs of each command (default 11).")
    parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")
    parser.add_argument("args", nargs="*", default=["--help"], help="Arguments for attentivechrome (after --; default --help).")
    options = parser.parse_args()

    cli = [*cli_command(), *options.args]
    baseline = [sys.executable, "-c", "pass"]
    env_note = {name: os.environ[name] for name in ("TYPER_USE_RICH",) if name in os.environ}
    wall_time(cli)  # once unmeasured: fills the OS file cache and writes the .pyc files
    times: dict[str, list[float]] = {"cli": [], "python": []}
    for _ in range(options.repeat):
        times["cli"].append(wall_time(cli))
        times["python"].append(wall_time(baseline))

    summary = {
        "command": " ".join(["attentivechrome", *options.args]),
        "repeat": options.repeat,
        "cli_median_s": statistics.median(times["cli"]),
        "cli_min_s": min(times["cli"]),
        "python_median_s": statistics.median(times["python"]),
        "python_min_s": min(times["python"]),
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "environment": env_note,
    }
    summary["ratio_median"] = summary["cli_median_s"] / summary["python_median_s"]
    if options.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{summary['command']:<28} median {summary['cli_median_s']:.3f} s   fastest {summary['cli_min_s']:.3f} s")
    print(f"{'python -c pass':<28} median {summary['python_median_s']:.3f} s   fastest {summary['python_min_s']:.3f} s")
    print(f"ratio (medians) {summary['ratio_median']:.1f}x over {options.repeat} runs each; 1-minute load {summary['load_average_1min']:.2f}")


if __name__ == "__main__":
    main()
