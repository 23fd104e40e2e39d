"""Faithfulness of every e012 model x method on 1,000 seeded test genes (the table of docs/interpretation.md; not a test).

For each model of ``--models`` (run directories named ``<model>-s<seed>``; a model whose
``model.pt`` is not there yet is skipped, so a rerun picks it up), the maps of every method the
model supports (attention only for AttentiveChrome) are computed on the same ``--genes`` test
genes of ``--data`` (drawn with ``--gene-seed``) and measured by deletion and insertion
(:func:`attentivechrome.faithfulness`, each baseline of ``--baselines`` from the same maps,
``--steps`` fractions), with the ``random`` and ``input`` rows. One JSON line per (model, seed,
method, baseline) is appended to ``--out``; rows already there (same model, seed, method,
baseline, steps, genes) are skipped, so the script resumes. It ends by printing a markdown table
per baseline (model x method -> deletion AUC, insertion AUC, genes scored) of every row in
``--out``. Usage::

    python benchmarks/faithfulness_table.py                        # the documented table (about 25 min on 2 busy cores)
    python benchmarks/faithfulness_table.py --table-only           # print the tables of the rows already written (and redraw --figure)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ATTENTIVECHROME_SHARED_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_RUNS = ("attentivechrome-s1", "attentivechrome-s2", "deepchrome-s1", "deepchrome-s2", "lstm-s1", "lstm-s2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT.parent / "models" / "e012")
    parser.add_argument("--runs", default=",".join(DEFAULT_RUNS), help="Run directories under --models, comma-separated.")
    parser.add_argument("--data", type=Path, default=SHARED / "roadmap-e012")
    parser.add_argument("--genes", type=int, default=1000)
    parser.add_argument("--gene-seed", type=int, default=0)
    parser.add_argument("--baselines", default="zero,mean", help="Baselines measured from the same maps, comma-separated; the table shows the first.")
    parser.add_argument("--steps", type=int, default=11)
    parser.add_argument("--min-effect", type=float, default=0.5)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results" / "interpretation" / "faithfulness.jsonl")
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--figure", type=Path, default=ROOT / "docs" / "images" / "interpretation" / "e012_faithfulness.png")
    parser.add_argument("--figure-run", default="attentivechrome-s1", help="The run whose mean curves (first baseline) --figure draws.")
    args = parser.parse_args()
    if not args.table_only:
        run(args)
    figure(read_rows(args.out), args)
    for baseline in args.baselines.split(","):
        print(markdown(read_rows(args.out), baseline.strip(), args.steps, args.genes))
        print()


def run(args) -> None:
    import attentivechrome as ac
    from attentivechrome.data import read_csv
    from attentivechrome.interpret.faithfulness import applicable_methods
    from attentivechrome.interpret.faithfulness import faithfulness as curves_of
    from attentivechrome.workflows.faithfulness import maps_of

    test = read_csv(args.data / "test.csv.gz")
    chosen = np.sort(np.random.default_rng(args.gene_seed).choice(test.n_genes, size=min(args.genes, test.n_genes), replace=False))
    genes = test.subset(chosen)
    rows = read_rows(args.out)
    done = {_key(r) for r in rows}
    started_runs = {f"{r['model']}-s{r['seed']}" for r in rows}
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    for run_name in sorted(runs, key=lambda r: r in started_runs):  # runs not begun first; then those missing a baseline
        path = args.models / run_name
        if not (path / "model.pt").is_file():
            print(f"{run_name}: no model.pt yet; skipped (rerun to add it)", flush=True)
            continue
        model_name, seed = run_name.rsplit("-s", 1)
        model = ac.load_model(path)
        prepared = model.prepare(genes)
        methods = applicable_methods(model.module, prepared)
        wanted = [*methods, "random", "input"]
        baselines = [b.strip() for b in args.baselines.split(",") if b.strip()]
        key_of = {(m, b): (model_name, int(seed), m, b, args.steps, args.genes, args.gene_seed) for m in wanted for b in baselines}
        if all(key in done for key in key_of.values()):
            print(f"{run_name}: done already", flush=True)
            continue
        started = time.perf_counter()
        maps = maps_of(model, prepared, methods, progress=False)
        maps_seconds = time.perf_counter() - started
        for baseline in baselines:
            if all(key_of[(m, baseline)] in done for m in wanted):
                continue
            result = curves_of(model.module, prepared, maps, output=model.output_scale, baseline=baseline, steps=args.steps, min_effect=args.min_effect, seed=0)
            write_rows(args, result, wanted, key_of, done, baseline, model_name, seed, maps_seconds, methods, path)
            print(f"{run_name}: {len(methods)} methods, baseline {baseline}, maps {maps_seconds:.0f}s, curves {result.seconds:.0f}s", flush=True)


def write_rows(args, result, wanted, key_of, done, baseline, model_name, seed, maps_seconds, methods, path) -> None:
    """Append one JSON line per method of ``result`` not written yet."""
    table = result.table().set_index("method")
    curves = result.curves
    with open(args.out, "a", encoding="utf-8") as handle:
        for method in wanted:
            if key_of[(method, baseline)] in done:
                continue
            row = table.loc[method]
            record = {
                "model": model_name,
                "seed": int(seed),
                "method": method,
                "baseline": baseline,
                "steps": args.steps,
                "genes": args.genes,
                "gene_seed": args.gene_seed,
                "min_effect": args.min_effect,
                "n_genes": int(row["n_genes"]),
                **{c: round(float(row[c]), 5) for c in ("deletion_auc", "deletion_low", "deletion_high", "insertion_auc", "insertion_low", "insertion_high")},
                "deletion_curve": [round(float(v), 5) for v in curves[method]["deletion"]],
                "insertion_curve": [round(float(v), 5) for v in curves[method]["insertion"]],
                "maps_seconds": round(maps_seconds, 1),
                "curves_seconds": round(result.seconds, 1),
                "n_methods": len(methods),
                "model_path": str(path),
            }
            handle.write(json.dumps(record) + "\n")


def figure(rows: list[dict], args) -> None:
    """The mean deletion and insertion curves of one run (every method), as PNG at ``--figure``."""
    from matplotlib.figure import Figure

    model_name, seed = args.figure_run.rsplit("-s", 1)
    baseline = args.baselines.split(",")[0].strip()
    chosen = [r for r in rows if r["model"] == model_name and r["seed"] == int(seed) and r["baseline"] == baseline and r["steps"] == args.steps and r["genes"] == args.genes]
    if not chosen:
        return
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    fractions = 100.0 * np.linspace(0, 1, args.steps)
    for ax, curve in zip(axes, ("deletion", "insertion")):
        for r in chosen:
            style = {"random": dict(color="#7f8c8d", ls="--"), "input": dict(color="#34495e", ls=":")}.get(r["method"], {})
            ax.plot(fractions, r[f"{curve}_curve"], marker="o", ms=3, lw=1.6, label=f"{r['method']} ({r[f'{curve}_auc']:.3f})", **style)
        ax.axhline(0.0, color="black", lw=0.6)
        ax.axhline(1.0, color="black", lw=0.6, ls=":")
        ax.set_xlabel("share of each gene's mark x bin cells moved (%), ranked by |map|")
        ax.set_title(f"{curve}: top cells {'set to' if curve == 'deletion' else 'put back on'} the {baseline} baseline")
        ax.legend(fontsize=7, frameon=False, title="area", title_fontsize=7)
    axes[0].set_ylabel("output, normalised per gene\n(1: full input, 0: baseline)")
    fig.suptitle(f"{args.figure_run} on {args.genes} roadmap-e012 test genes ({chosen[0]['n_genes']} scored)", fontsize=10)
    args.figure.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.figure, dpi=110)
    print(f"wrote {args.figure}")


def _key(row: dict) -> tuple:
    return (row["model"], row["seed"], row["method"], row["baseline"], row["steps"], row["genes"], row.get("gene_seed", 0))


def read_rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def markdown(rows: list[dict], baseline: str, steps: int, genes: int) -> str:
    rows = [r for r in rows if r["baseline"] == baseline and r["steps"] == steps and r["genes"] == genes]
    if not rows:
        return "(no rows yet)"
    methods = list(dict.fromkeys(r["method"] for r in rows))
    order = ["attention", "saliency", "input_x_gradient", "integrated_gradients", "deeplift", "occlusion", "input", "random"]
    methods.sort(key=lambda m: order.index(m) if m in order else len(order))
    models = list(dict.fromkeys(r["model"] for r in rows))
    runs = sorted(dict.fromkeys((r["model"], r["seed"]) for r in rows), key=lambda run: (models.index(run[0]), run[1]))
    by = {(r["model"], r["seed"], r["method"]): r for r in rows}
    lines = [
        f"Deletion AUC / insertion AUC (genes scored) on {genes} test genes, baseline {baseline}, {steps} fractions; deletion lower and insertion higher are better.",
        "",
        "| model | seed | " + " | ".join(methods) + " |",
        "|---|---|" + "---|" * len(methods),
    ]
    for model, seed in runs:
        cells = []
        for m in methods:
            r = by.get((model, seed, m))
            cells.append("—" if r is None else f"{r['deletion_auc']:.3f} / {r['insertion_auc']:.3f} ({r['n_genes']})")
        lines.append(f"| {model} | {seed} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
