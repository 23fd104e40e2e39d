"""Speed of faithfulness on a full cell against issue 23's target (not a test).

Target: deletion and insertion curves of 1,000 roadmap-e012 test genes for 5 methods
(attention, saliency, integrated_gradients, input_x_gradient, occlusion; plus the ``random``
and ``input`` rows), maps included, within 10 minutes on 2 cores. The work runs in a fresh
process through the Python entry point (:func:`attentivechrome.faithfulness`), timed in two
parts (the maps, then the curves), with its peak resident memory. The machine is often shared:
the load average is printed before and after. Usage::

    python benchmarks/faithfulness.py                                  # the e012 AttentiveChrome seed 1
    python benchmarks/faithfulness.py --model ../models/e012/lstm-s1 --genes 200
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ATTENTIVECHROME_SHARED_DATA", ROOT.parent / "shared" / "data"))
TARGET_SECONDS = 600.0

_CHILD = """
import json, resource, sys, time
started = time.perf_counter()
import numpy as np
import attentivechrome as ac
from attentivechrome.data import read_csv
from attentivechrome.interpret.faithfulness import faithfulness
from attentivechrome.workflows.faithfulness import maps_of
model_path, data_path, n_genes, methods, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(","), int(sys.argv[5])
model = ac.load_model(model_path)
test = read_csv(data_path)
chosen = np.sort(np.random.default_rng(0).choice(test.n_genes, size=min(n_genes, test.n_genes), replace=False))
prepared = model.prepare(test.subset(chosen))
loaded = time.perf_counter()
maps = maps_of(model, prepared, methods)
mapped = time.perf_counter()
result = faithfulness(model.module, prepared, maps, output=model.output_scale, steps=steps)
done = time.perf_counter()
print(json.dumps({
    "load_seconds": loaded - started, "maps_seconds": mapped - loaded, "curves_seconds": done - mapped, "total_seconds": done - started,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "n_scored": result.n_genes,
    "table": result.to_markdown(),
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT.parent / "models" / "e012" / "attentivechrome-s1")
    parser.add_argument("--data", type=Path, default=SHARED / "roadmap-e012" / "test.csv.gz")
    parser.add_argument("--genes", type=int, default=1000)
    parser.add_argument("--methods", default="attention,saliency,integrated_gradients,input_x_gradient,occlusion")
    parser.add_argument("--steps", type=int, default=11)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    env = {**os.environ, "ATTENTIVECHROME_NO_PROGRESS": "1", "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(args.model), str(args.data), str(args.genes), args.methods, str(args.steps)],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(figures.pop("table"))
    verdict = "within" if figures["total_seconds"] <= TARGET_SECONDS else "OVER"
    print(
        f"faithfulness of {args.genes} genes x {len(args.methods.split(','))} methods ({args.model.name}): maps {figures['maps_seconds']:.0f}s + "
        f"curves {figures['curves_seconds']:.0f}s (+ {figures['load_seconds']:.0f}s start and load) = {figures['total_seconds']:.0f}s, "
        f"{verdict} the {TARGET_SECONDS:.0f}s target; peak {figures['peak_mb']:.0f} MB; {figures['n_scored']} genes scored"
    )


if __name__ == "__main__":
    main()
