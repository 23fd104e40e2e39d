"""Regenerate every table and figure of docs/interpretation.md with the current defaults.

The document's measured tables sit between markers::

    <!-- generated: NAME -->
    ...
    <!-- end: NAME -->

and this script rewrites what lies between them, and copies the figures it quotes into
docs/images/interpretation/. It runs the commands the document shows (``simulate``, ``train``,
``interpret``, ``interpret-benchmark``) into a work folder, one step at a time: a step whose
output is already there is skipped, so a killed run continues where it stopped. After a change
of defaults, delete the work folder and run it again; ``git diff docs/`` then shows what moved.

    python benchmarks/interpretation.py                 # work folder scratch/interpretation
    python benchmarks/interpretation.py --work DIR --only sim,real,track
    python benchmarks/interpretation.py --check         # say which blocks have no producer, change nothing

The full-cell sections (faithfulness, stability, attention variants) come from their own
resumable scripts, whose JSONL results are in docs/results/interpretation/; this script reads
those results to fill their blocks (see ``FULL_CELL_TABLES``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DOC = ROOT / "docs" / "interpretation.md"
IMAGES = ROOT / "docs" / "images" / "interpretation"
E003_WEIGHTS = SHARED / "reference-checkpoint-E003.pt"
#: The default models of roadmap-e012 that the full-cell scripts read (`train ../shared/data/roadmap-e012 --model M --seed S`).
E012_MODELS = ROOT.parent / "models" / "e012"
MARKER = re.compile(r"<!-- generated: (?P<name>[a-z0-9-]+) -->\n(?P<body>.*?)<!-- end: (?P=name) -->", re.S)

#: The simulated runs of the ground-truth benchmark: the training command of the document.
SIM_TRAIN = ["--transform", "log1p", "--lr", "1e-3", "--batch-size", "32", "--epochs", "15"]


# --------------------------------------------------------------------------- running the commands
def cli(*args: str | Path, log: Path) -> None:
    """Run one ``attentivechrome`` command, its output appended to ``log``; stop on failure."""
    command = [sys.executable, "-m", "attentivechrome", *map(str, args)]
    print("$ attentivechrome " + " ".join(map(str, args)), flush=True)
    started = time.perf_counter()
    with log.open("a") as handle:
        handle.write("$ " + " ".join(command) + "\n")
        handle.flush()
        done = subprocess.run(command, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)
    if done.returncode:
        raise SystemExit(f"failed ({done.returncode}): see {log}")
    print(f"  {time.perf_counter() - started:.0f} s", flush=True)


def show(source: Path, name: str) -> None:
    """Copy a figure into docs/images/interpretation/ when the page shows it (others stay in the work folder)."""
    if f"images/interpretation/{name}" in DOC.read_text():
        shutil.copyfile(source, IMAGES / name)


def step(done: Path, *args: str | Path, log: Path) -> None:
    """Run the command unless ``done`` (its main output) is already there."""
    if done.exists():
        print(f"skip (done): {done}")
        return
    cli(*args, log=log)


# --------------------------------------------------------------------------- the sections
def simulated(work: Path, log: Path) -> dict[str, str]:
    """The ground-truth benchmark: simulate, train two seeds, score every method, draw the figures."""
    sim = work / "sim"
    step(sim / "test.csv", "simulate", "--genes", "6000", "--out", sim, log=log)
    runs = {}
    for seed in (1, 2):
        run = work / "runs" / f"sim-s{seed}"
        step(run / "model.pt", "train", sim, "--out", run, *SIM_TRAIN, "--seed", seed, "--quiet", log=log)
        runs[seed] = run
    bench = {1: work / "bench-s1", 2: work / "bench-s2"}
    step(bench[1] / "benchmark.csv", "interpret-benchmark", "--data", sim, "--model", runs[1], "--out", bench[1], "--quiet", log=log)
    step(
        bench[2] / "benchmark.csv",
        "interpret-benchmark", "--data", sim, "--model", runs[2], "--out", bench[2], "--max-genes", "500", "--quiet",
        log=log,
    )
    interp = work / "interp-sim"
    step(
        interp / "summary.md",
        "interpret", "--model", runs[1], "--input", sim / "test.csv", "--out", interp, "--genes-file", _first_genes(sim / "test.csv", 200, work),
        "--methods", "attention,saliency,input_x_gradient,integrated_gradients,occlusion", "--max-gene-plots", "2", "--quiet",
        log=log,
    )
    for seed, folder in bench.items():
        show(folder / "benchmark.png", f"benchmark_seed{seed}.png")
    show(interp / "figures" / "class_profiles.png", "sim_class_profiles.png")
    show(interp / "figures" / "method_profiles.png", "sim_method_profiles.png")
    _simulated_gene_figures(sim, interp)
    return {
        "sim-runs": _runs_table({f"simulated, seed {s}": r for s, r in runs.items()}),
        "sim-benchmark-s1": _benchmark_block(bench[1]),
        "sim-benchmark-s2": _benchmark_block(bench[2]),
    }


def cooperative(work: Path, log: Path) -> dict[str, str]:
    """The cooperative simulator (marks acting in pairs, position rules): benchmarks/cooperation.sh's steps, then its tables and figure."""
    from attentivechrome.data.synthetic import load_truth
    from attentivechrome.interpret.benchmark import cooperation_headers, cooperation_markdown

    root = work / "cooperation"
    sim = root / "sim"
    step(sim / "truth.npz", "simulate", "--genes", "6000", "--rules", "cooperative", "--seed", "0", "--out", sim, log=log)
    blocks = {}
    headers = None
    for seed in (1, 2):
        run, bench = root / f"ac-s{seed}", root / f"bench-s{seed}"
        step(run / "model.pt", "train", sim, "--out", run, *SIM_TRAIN, "--seed", seed, "--quiet", log=log)
        step(bench / "cooperation.csv", "interpret-benchmark", "--data", sim, "--model", run, "--out", bench, "--quiet", log=log)
        headers = headers or cooperation_headers(load_truth(sim / "truth.npz"))
        table = pd.read_csv(bench / "cooperation.csv", index_col="method")
        table.attrs["headers"] = headers
        blocks[f"coop-s{seed}"] = cooperation_markdown(table)
    done = subprocess.run(
        [sys.executable, "benchmarks/cooperation_figure.py", str(root), "--out", str(IMAGES / "cooperation.png")], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"cooperation_figure.py failed: {done.stderr.strip()}")
    blocks["coop-runs"] = _runs_table({f"cooperative, seed {s}": root / f"ac-s{s}" for s in (1, 2)})
    return blocks


def real(work: Path, log: Path) -> dict[str, str]:
    """The E003 weights and a remc-e123 model (the paper's settings) on the REMC test files, grouped by label."""
    run = work / "runs" / "remc-e123-original"
    step(run / "model.pt", "train", SHARED / "remc-e123", "--out", run, "--preset", "original", "--quiet", log=log)
    pairs = {
        "E003 weights, remc-e003": (E003_WEIGHTS, "remc-e003", "e003ckpt_remc-e003"),
        "E003 weights, remc-e123": (E003_WEIGHTS, "remc-e123", "e003ckpt_remc-e123"),
        "remc-e123 model, remc-e123": (run, "remc-e123", "e123run_remc-e123"),
        "remc-e123 model, remc-e003": (run, "remc-e003", "e123run_remc-e003"),
    }
    averages = {}
    for name, (model, cell, stem) in pairs.items():
        out = work / f"interp-{stem}"
        test = SHARED / cell / "classification" / "test.csv"
        step(out / "summary.md", "interpret", "--model", model, "--input", test, "--out", out, "--by", "label", "--methods", "attention", "--max-gene-plots", "0", "--quiet", log=log)
        averages[name] = np.load(out / "class_averages.npz")
        for figure in ("class_profiles", "class_beta"):
            if (out / "figures" / f"{figure}.png").is_file():
                show(out / "figures" / f"{figure}.png", f"{stem}_{figure}.png")
    return {
        "real-runs": _runs_table({"remc-e123, the paper's settings": run}),
        "real-alpha-peaks": _alpha_peaks(averages),
        "real-beta": _beta_table(averages),
    }


def track(work: Path, log: Path) -> dict[str, str]:
    """Does a map over H3K4me3 follow H3K27ac? The E003 weights on chromoformer-e003, in the genomic order they read."""
    import attentivechrome as ac
    from attentivechrome.interpret import score_track
    from attentivechrome.interpret.scoring import mean_and_interval
    from attentivechrome.metrics import auroc as auroc_of

    folder = SHARED / "chromoformer-e003" / "variants" / "genomic_overlap"
    data = ac.read_csv(folder / "classification" / "test.csv")
    activity = pd.read_csv(folder / "h3k27ac.csv").pivot(index="gene_id", columns="bin_id", values="H3K27ac")
    model = ac.load_model(E003_WEIGHTS)
    methods = ["attention", "saliency", "input_x_gradient", "integrated_gradients", "occlusion"]
    ex = model.explain(data, methods)
    auroc = auroc_of(data.labels, ex.probabilities)
    expressed = data.labels == 1
    mark = list(data.marks).index("H3K4me3")
    reads = data.counts[expressed, :, mark].astype(np.float64)
    h3k27ac = activity.loc[data.gene_ids[expressed]].to_numpy(np.float64)
    rng = np.random.default_rng(0)
    rows = {m: ex[m][expressed, mark, :] for m in methods}
    rows["H3K4me3 reads themselves (no model)"] = reads
    rows["Random"] = rng.random(reads.shape)
    lines = [
        f"E003 weights on the {len(data.gene_ids)} genes of `chromoformer-e003/variants/genomic_overlap` (AUROC {auroc:.3f}); "
        f"the {int(expressed.sum())} expressed genes.",
        "",
        "| map over H3K4me3 bins | per-gene Pearson r | top-10-bin recall | r of the class-mean profiles |",
        "|---|---|---|---|",
    ]
    for name, values in rows.items():
        scores = score_track(values, h3k27ac)
        pearson = mean_and_interval(scores["pearson"])  # a constant row (no reads) has no correlation: left out
        recall = mean_and_interval(scores["top_k_recall"])
        profile_r = np.corrcoef(np.abs(values).mean(axis=0), h3k27ac.mean(axis=0))[0, 1]
        label = _method_label(name)
        lines.append(f"| {label} | {_pm(pearson)} | {_pm(recall)} | {profile_r:.3f} |")
    _method_profiles_figure(ex, data, "e003ckpt_chromoformer_method_profiles.png")
    return {"track-h3k27ac": "\n".join(lines) + "\n"}


def _method_profiles_figure(ex, data, name: str) -> None:
    """Every method's class-average profile over the label-high genes, as `interpret --by label` draws it."""
    import matplotlib

    matplotlib.use("Agg")
    from attentivechrome.interpret import class_averages, plots

    averages = class_averages(ex, data.counts, by="label", orientation=data.orientation)
    figure = plots.plot_method_profiles(averages)
    figure.savefig(IMAGES / name, dpi=110)


def full_cell_alpha(work: Path, log: Path) -> dict[str, str]:
    """Where the default AttentiveChrome's H3K4me3 alpha sits on roadmap-e012 (the first 1,000 test genes, grouped by label)."""
    from attentivechrome import load_model
    from attentivechrome.data.layout import load_splits
    from attentivechrome.interpret import class_averages

    test = load_splits(SHARED / "roadmap-e012", cache=True)["test"]
    genes = test.subset(np.arange(1000))
    averages = {}
    for seed in (1, 2):
        run = E012_MODELS / f"attentivechrome-s{seed}"
        if not (run / "model.pt").is_file():
            print(f"no model at {run} (train ../shared/data/roadmap-e012 --out {run} --seed {seed})")
            return {}
        ex = load_model(run).explain(genes, "attention")
        averages[f"roadmap-e012 defaults, seed {seed}"] = class_averages(ex, genes.counts, by="label").to_arrays()
    return {"e012-alpha-peaks": _alpha_peaks(averages)}


#: Full-cell blocks: block name -> (results file, the command that prints its table).
FULL_CELL_TABLES: dict[str, tuple[str, list[str]]] = {
    "faithfulness-e012": ("docs/results/interpretation/faithfulness.jsonl", ["benchmarks/faithfulness_table.py", "--table-only"]),
    "roar-e012": ("docs/results/interpretation/roar.jsonl", ["benchmarks/roar.py", "--table-only"]),
    "stability-e012": ("docs/results/interpretation/stability.jsonl", ["benchmarks/stability.py", "--table-only"]),
    **{
        f"faithfulness-{cell}": (
            f"docs/results/interpretation/faithfulness-{cell}.jsonl",
            ["benchmarks/faithfulness_table.py", "--table-only", "--baselines", "zero", "--out", f"docs/results/interpretation/faithfulness-{cell}.jsonl",
             "--figure", f"scratch/{cell}_faithfulness.png"],
        )  # fmt: skip
        for cell in ("e028", "e087")
    },
    **{
        f"stability-{cell}": (f"docs/results/interpretation/stability-{cell}.jsonl", ["benchmarks/stability.py", "--table-only", "--out", f"docs/results/interpretation/stability-{cell}.jsonl"])
        for cell in ("e028", "e087")
    },
    "ensemble-faithfulness": ("docs/results/interpretation/stability_faithfulness.jsonl", ["benchmarks/stability.py", "--table-only", "--faithfulness"]),
    "attention-variants": ("docs/results/interpretation/attention_variants.jsonl", ["benchmarks/attention_variants.py", "--table-only"]),
}


def full_cell(work: Path, log: Path) -> dict[str, str]:
    """The tables of the full-cell scripts, printed from their saved results (the scripts themselves run for hours)."""
    blocks = {}
    for name, (results, command) in FULL_CELL_TABLES.items():
        if not (ROOT / results).is_file():
            print(f"no results yet for {name}: {results} (run {' '.join(command[:2])})")
            continue
        done = subprocess.run([sys.executable, *command], capture_output=True, text=True, cwd=ROOT, check=True)
        blocks[name] = done.stdout if done.stdout.endswith("\n") else done.stdout + "\n"
    return blocks


#: Section name -> (the function that runs it, the document blocks it fills).
SECTIONS = {
    "sim": (simulated, ("sim-runs", "sim-benchmark-s1", "sim-benchmark-s2")),
    "coop": (cooperative, ("coop-runs", "coop-s1", "coop-s2")),
    "real": (real, ("real-runs", "real-alpha-peaks", "real-beta")),
    "track": (track, ("track-h3k27ac",)),
    "e012": (full_cell_alpha, ("e012-alpha-peaks",)),
    "full": (full_cell, tuple(FULL_CELL_TABLES)),
}


# --------------------------------------------------------------------------- tables
def _runs_table(runs: dict[str, Path]) -> str:
    import json

    lines = ["| run | selected epoch | valid AUROC | test AUROC |", "|---|---|---|---|"]
    for name, run in runs.items():
        metrics = json.loads((run / "metrics.json").read_text())
        lines.append(
            f"| {name} | {metrics.get('best_epoch', '?')} | {metrics.get('valid_auroc', float('nan')):.3f} | {metrics.get('test_auroc', float('nan')):.3f} |"
        )
    return "\n".join(lines) + "\n"


def _benchmark_block(folder: Path) -> str:
    text = (folder / "benchmark.md").read_text()
    return text.split("\n", 2)[2] if text.startswith("# ") else text


def _alpha_peaks(averages: dict[str, np.lib.npyio.NpzFile]) -> str:
    lines = [
        "| model, data | class (genes) | H3K4me3 alpha: largest bin (value) | alpha at bin 1 / bin 100 | r of mean alpha with mean reads |",
        "|---|---|---|---|---|",
    ]
    for name, arrays in averages.items():
        marks = [str(m) for m in arrays["marks"]]
        k4 = marks.index("H3K4me3")
        for c, cls in enumerate(("high", "low")):
            alpha = arrays["alpha"][c, k4]
            signal = arrays["signal"][c, k4]
            peak = int(np.nanargmax(alpha))
            r = np.corrcoef(alpha, signal)[0, 1]
            lines.append(
                f"| {name} | {cls} ({int(arrays['n_genes'][c])}) | bin {peak + 1} ({alpha[peak]:.3f}) | {alpha[0]:.3f} / {alpha[-1]:.3f} | {r:.2f} |"
            )
    return "\n".join(lines) + "\n"


def _beta_table(averages: dict[str, np.lib.npyio.NpzFile]) -> str:
    first = next(iter(averages.values()))
    marks = [str(m) for m in first["marks"]]
    lines = ["| model, data | class | " + " | ".join(marks) + " |", "|---|---|" + "---|" * len(marks)]
    for name, arrays in averages.items():
        for c, cls in enumerate(("high", "low")):
            lines.append(f"| {name if c == 0 else ''} | {cls} | " + " | ".join(f"{v:.3f}" for v in arrays["beta"][c]) + " |")
    return "\n".join(lines) + "\n"


def _pm(stats) -> str:
    mean, half, _ = (float(np.asarray(s)) for s in stats)
    return f"{mean:.3f} ± {half:.3f}"


def _method_label(name: str) -> str:
    from attentivechrome.interpret import METHODS

    return METHODS[name].label if name in METHODS else name


# --------------------------------------------------------------------------- figures of one simulated gene
def _first_genes(test_csv: Path, n: int, work: Path) -> Path:
    """A file naming the first ``n`` genes of a CSV (the simulated pictures use 200 test genes)."""
    path = work / f"genes-{n}.txt"
    if not path.is_file():
        ids = pd.read_csv(test_csv, header=None, usecols=[0])[0].drop_duplicates().head(n)
        path.write_text("\n".join(ids) + "\n")
    return path


def _simulated_gene_figures(sim: Path, interp: Path) -> None:
    """One simulated high gene with a clear planted H3K4me3 peak: its attention figure and every method beside the truth."""
    import matplotlib

    matplotlib.use("Agg")
    from attentivechrome.data.synthetic import load_truth
    from attentivechrome.interpret import plots

    arrays = np.load(interp / "explanations.npz", allow_pickle=False)
    truth = load_truth(sim / "truth.npz")
    genes = [str(g) for g in arrays["gene_ids"]]
    index = {g: i for i, g in enumerate(str(g) for g in truth.gene_ids)}
    marks = [str(m) for m in arrays["marks"]]
    k4 = marks.index("H3K4me3")
    values = arrays["probability"] if "probability" in arrays else arrays["log1p_expression"]
    # the most confidently high gene whose planted H3K4me3 cells exist
    order = np.argsort(-values)
    chosen = next(i for i in order if truth.mask[index[genes[i]], k4].any())
    gene = genes[chosen]
    counts = arrays["input"][chosen].T  # (bins, marks), as the plots read a gene
    figure = plots.plot_gene(counts, arrays["alpha"][chosen], arrays["beta"][chosen], marks, gene_id=gene, probability=float(values[chosen]))
    figure.savefig(IMAGES / "sim_gene_attention.png", dpi=110)
    methods = [str(m) for m in arrays["methods"]]
    figure = plots.plot_method_comparison(
        {m: arrays[m if m != "attention" else "alpha"][chosen] for m in methods},
        counts,
        marks,
        gene_id=gene,
        probability=float(values[chosen]),
        truth=truth.mask[index[gene]],
    )
    figure.savefig(IMAGES / "sim_gene_methods.png", dpi=110)


# --------------------------------------------------------------------------- the document
def fill(text: str, blocks: dict[str, str]) -> tuple[str, list[str]]:
    """Replace the body of each generated block named in ``blocks``; return the text and the names replaced."""
    replaced = []

    def body(match: re.Match) -> str:
        name = match["name"]
        if name not in blocks:
            return match[0]
        replaced.append(name)
        return f"<!-- generated: {name} -->\n{blocks[name]}<!-- end: {name} -->"

    return MARKER.sub(body, text), replaced


def producers() -> set[str]:
    """Every block name a section of this script fills."""
    return {name for _, names in SECTIONS.values() for name in names}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=ROOT / "scratch" / "interpretation", help="work folder (resumable)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"sections to run: {','.join(SECTIONS)}")
    parser.add_argument("--check", action="store_true", help="list the document's blocks without a producer; run nothing")
    args = parser.parse_args(argv)
    text = DOC.read_text()
    names = [m["name"] for m in MARKER.finditer(text)]
    if args.check:
        orphans = sorted(set(names) - producers())
        print("blocks: " + ", ".join(names))
        print("without a producer: " + (", ".join(orphans) if orphans else "none"))
        raise SystemExit(1 if orphans else 0)
    args.work.mkdir(parents=True, exist_ok=True)
    IMAGES.mkdir(parents=True, exist_ok=True)
    log = args.work / "commands.log"
    blocks: dict[str, str] = {}
    for section in args.only.split(","):
        if section not in SECTIONS:
            raise SystemExit(f"unknown section {section!r}; choose from {', '.join(SECTIONS)}")
        print(f"== {section}", flush=True)
        run, names = SECTIONS[section]
        filled = run(args.work, log)
        unknown = sorted(set(filled) - set(names))
        if unknown:  # keeps --check honest: every block a section fills is declared in SECTIONS
            raise SystemExit(f"section {section} filled undeclared blocks: {', '.join(unknown)}")
        blocks.update(filled)
    (args.work / "blocks.md").write_text("".join(f"## {name}\n\n{body}\n" for name, body in blocks.items()))
    text, replaced = fill(DOC.read_text(), blocks)
    DOC.write_text(text)
    missing = sorted(set(blocks) - set(replaced))
    print(f"rewrote {len(replaced)} blocks of {DOC.relative_to(ROOT)}" + (f"; not in the document: {', '.join(missing)}" if missing else ""))


if __name__ == "__main__":
    main()
