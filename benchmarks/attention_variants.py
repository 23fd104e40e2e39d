"""Attention variants of AttentiveChrome: accuracy, alpha's faithfulness and alpha's stability across seeds.

Issue 23 item 3. AttentiveChrome's alpha weights bidirectional-LSTM states, each of which summarises
the whole window, so alpha need not sit on the evidence. Each variant below trains AttentiveChrome
on a cell (default settings plus the variant's) with seeds 1 and 2, then scores on a seeded sample
of test genes (1,000 by default):

- valid / test AUROC of the selected epoch;
- alpha's faithfulness: deletion and insertion AUC (:func:`attentivechrome.interpret.faithfulness.faithfulness`,
  baseline ``zero``: the top cells set to no reads; logits), beside the ``input`` row (the reads
  themselves as the map) and the ``random`` row, for alpha and for alpha x beta;
- alpha's seed stability: per-gene Spearman rank correlation of the map (marks x bins flattened)
  between seeds 1 and 2, averaged over genes (also for alpha x beta, and for beta over marks).

A variant qualifies when its mean validation AUROC is within 0.002 of the defaults', alpha's
deletion AUC is below the input row's, and alpha's stability is at least 0.9.

Variants (``--variants``, comma-separated; all by default):
    defaults        today's defaults (the models of --defaults-dir, not retrained)
    local           --attention local: alpha scored from the reads within 5 bins, pooling the BiLSTM states
    conv            --attention conv: no bin-level LSTM, alpha pools local convolution features
    conv-log1p      conv on log1p of the counts
    entropy         --attention-entropy 0.2 (sparser alpha)
    local-entropy   local with --attention-entropy 0.2
    forget-0        --forget-bias 0 (the forget gates start at 0.5 instead of sigmoid(3))
    forget-1        --forget-bias 1

Resumable: a trained model (its model.pt) is not trained again, and a (variant, seed) row already
in the JSONL is not scored again. Prints the markdown table of every row in the JSONL at the end.

    PYTHONPATH=src python benchmarks/attention_variants.py /work/shared/data/roadmap-e012 \\
        --models-dir /work/models/attention-variants --defaults-dir /work/models/e012 \\
        --out docs/results/interpretation/attention_variants.jsonl
    python benchmarks/attention_variants.py --table-only --out docs/results/interpretation/attention_variants.jsonl
    # the seed stability of integrated gradients' maps of the defaults, beside alpha's
    PYTHONPATH=src python benchmarks/attention_variants.py /work/shared/data/roadmap-e012 --variants defaults --method-stability integrated_gradients

On the shared 2-core machine (load 3 to 13) a training epoch took 9-27 s for the variants on the
compiled kernel, 11-37 s for conv and 56-61 s for local (its LSTMs run in PyTorch); scoring 1,000
genes took 0.5 to several minutes per model. ``--method-stability`` writes
``<out stem>_methods.jsonl`` (the stability of |map| of another method, e.g. integrated gradients).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

#: Variant name -> TrainConfig settings beside the defaults.
VARIANTS: dict[str, dict] = {
    "defaults": {},
    "local": {"attention": "local"},
    "conv": {"attention": "conv"},
    "entropy": {"attention_entropy": 0.2},
    "forget-0": {"forget_bias": 0.0},
    "conv-log1p": {"attention": "conv", "transform": "log1p"},
    "local-entropy": {"attention": "local", "attention_entropy": 0.2},
    "forget-1": {"forget_bias": 1.0},
}
SEEDS = (1, 2)
#: The bar a variant must clear (issue 23).
AUROC_TOLERANCE, STABILITY_BAR = 0.002, 0.9


def model_dir(variant: str, seed: int, args) -> Path:
    if variant == "defaults":
        return args.defaults_dir / f"attentivechrome-s{seed}"
    return args.models_dir / f"{variant}-s{seed}"


def train_variant(variant: str, seed: int, splits, args) -> None:
    """Train ``variant`` with ``seed`` unless its model exists."""
    from attentivechrome.config import TrainConfig
    from attentivechrome.training import trainer

    out = model_dir(variant, seed, args)
    if (out / "model.pt").is_file():
        return
    if variant == "defaults":
        raise SystemExit(f"{out}/model.pt is missing: train the defaults first (attentivechrome train CELL --seed {seed} --out {out})")
    started = time.perf_counter()
    print(f"training {variant} seed {seed} -> {out}", flush=True)
    trainer.train(splits, TrainConfig(seed=seed, **VARIANTS[variant]), out_dir=out, data_source=str(args.cell), progress=False)
    print(f"  done in {time.perf_counter() - started:.0f}s", flush=True)


def rank_rows(values: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(values.reshape(len(values), -1), axis=1)


def mean_row_spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Per-row Spearman correlation of two (rows, ...) arrays, averaged over rows (constant rows left out)."""
    ra, rb = rank_rows(a), rank_rows(b)
    ra, rb = ra - ra.mean(1, keepdims=True), rb - rb.mean(1, keepdims=True)
    denominator = np.sqrt((ra**2).sum(1) * (rb**2).sum(1))
    keep = denominator > 0
    return float(((ra * rb).sum(1)[keep] / denominator[keep]).mean())


def score_variant(variant: str, genes, args, done: set) -> list[dict]:
    """Faithfulness of each seed's alpha and the stability between seeds; one row per seed."""
    from attentivechrome import load_model
    from attentivechrome.inference import predict_module
    from attentivechrome.interpret.faithfulness import faithfulness

    maps, rows = {}, {}
    for seed in SEEDS:
        directory = model_dir(variant, seed, args)
        trained = load_model(directory)
        data = trained.prepare(genes)
        raw = predict_module(trained.module, data, with_attention=True)
        alpha, beta = raw.alpha, raw.beta
        maps[seed] = {"alpha": alpha, "alpha_x_beta": alpha * beta[:, :, None], "beta": beta}
        if (variant, seed) in done:
            continue
        started = time.perf_counter()
        result = faithfulness(trained.module, data, {"alpha": alpha, "alpha_x_beta": maps[seed]["alpha_x_beta"]}, output=trained.output_scale, baseline="zero", seed=0, progress=False)
        table = result.table().set_index("method")
        metrics = json.loads((directory / "metrics.json").read_text())
        settings = json.loads((directory / "config.json").read_text())["train"]
        rows[seed] = {
            "variant": variant, "seed": seed, "settings": VARIANTS[variant], "model": str(directory),
            "valid_auroc": metrics["valid_auroc"], "test_auroc": metrics["test_auroc"], "best_epoch": metrics["best_epoch"],
            "attention": settings.get("attention", "states"), "forget_bias": settings.get("forget_bias"),
            "genes": len(genes), "n_genes_scored": int(table.loc["alpha", "n_genes"]),
            **{f"{m}_{c}_auc": float(table.loc[m, f"{c}_auc"]) for m in ("alpha", "alpha_x_beta", "input", "random") for c in ("deletion", "insertion")},
            "faithfulness_seconds": time.perf_counter() - started,
        }  # fmt: skip
    stability = {f"{name}_stability": mean_row_spearman(maps[SEEDS[0]][name], maps[SEEDS[1]][name]) for name in ("alpha", "alpha_x_beta", "beta")}
    return [{**row, **stability} for row in rows.values()]


def method_stability(variant: str, method: str, genes, args) -> dict:
    """Seed stability (as for alpha) of another method's maps of ``variant``'s models: is the alternative to alpha stable?"""
    from attentivechrome import load_model
    from attentivechrome.interpret import explain_module

    maps = []
    for seed in SEEDS:
        trained = load_model(model_dir(variant, seed, args))
        maps.append(np.abs(explain_module(trained.module, trained.prepare(genes), method, output=trained.output_scale)[method]))
    # of |map|, as the deletion curves rank cells (alpha is never negative, so its stability is the same either way)
    return {"variant": variant, "method": method, "of": "abs", "genes": len(genes), "stability": mean_row_spearman(*maps)}


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def table(rows: list[dict]) -> str:
    """The markdown table: one line per variant (means over its seeds), and whether it qualifies."""
    by_variant: dict[str, list[dict]] = {}
    for row in rows:
        by_variant.setdefault(row["variant"], []).append(row)
    defaults = by_variant.get("defaults")
    reference = np.mean([r["valid_auroc"] for r in defaults]) if defaults else None
    lines = [
        "| variant | seeds | valid AUROC | test AUROC | alpha deletion AUC | input deletion AUC | random deletion AUC | alpha insertion AUC "
        "| alpha x beta deletion AUC | alpha stability | alpha x beta stability | beta stability | qualifies |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for variant, group in by_variant.items():
        mean = {key: float(np.mean([r[key] for r in group])) for key in group[0] if isinstance(group[0][key], float)}
        checks = [
            reference is not None and mean["valid_auroc"] >= reference - AUROC_TOLERANCE,
            mean["alpha_deletion_auc"] < mean["input_deletion_auc"],
            mean["alpha_stability"] >= STABILITY_BAR,
        ]
        verdict = "yes" if all(checks) else "no (" + ", ".join(n for n, ok in zip(("accuracy", "faithfulness", "stability"), checks) if not ok) + ")"
        lines.append(
            f"| {variant} | {','.join(str(r['seed']) for r in group)} | {mean['valid_auroc']:.4f} | {mean['test_auroc']:.4f} "
            f"| {mean['alpha_deletion_auc']:.3f} | {mean['input_deletion_auc']:.3f} | {mean['random_deletion_auc']:.3f} | {mean['alpha_insertion_auc']:.3f} "
            f"| {mean['alpha_x_beta_deletion_auc']:.3f} | {mean['alpha_stability']:.2f} | {mean['alpha_x_beta_stability']:.2f} | {mean['beta_stability']:.2f} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cell", type=Path, nargs="?")
    parser.add_argument("--models-dir", type=Path, default=Path("/work/models/attention-variants"))
    parser.add_argument("--defaults-dir", type=Path, default=Path("/work/models/e012"), help="holds attentivechrome-s1, -s2 (today's defaults)")
    parser.add_argument("--out", type=Path, default=Path("docs/results/interpretation/attention_variants.jsonl"))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--genes", type=int, default=1000, help="test genes scored, drawn with --gene-seed")
    parser.add_argument("--gene-seed", type=int, default=0)
    parser.add_argument("--train-only", action="store_true", help="train the missing models, score nothing")
    parser.add_argument("--table-only", action="store_true", help="print the table of the JSONL and stop")
    parser.add_argument(
        "--method-stability", default="", metavar="METHODS",
        help="also the seed stability of these methods' maps (comma-separated) for each variant, in <out>_methods.jsonl",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.table_only:
        print(table(read_rows(args.out)), end="")
        for row in read_rows(args.out.with_name(args.out.stem + "_methods.jsonl")):
            print()  # a line of its own, not a row of the table
            print(f"Seed stability of |map| of {row['method']} ({row['variant']}, {row['genes']} genes): {row['stability']:.3f}")
        return 0
    if args.cell is None:
        parser.error("the cell folder is needed unless --table-only")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")

    from attentivechrome.data.layout import load_splits

    splits = load_splits(args.cell, cache=True)
    test = splits["test"]
    genes = test.subset(np.sort(np.random.default_rng(args.gene_seed).choice(test.n_genes, min(args.genes, test.n_genes), replace=False)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for variant in variants:
        for seed in SEEDS:
            train_variant(variant, seed, splits, args)
        if args.train_only:
            continue
        done = {(r["variant"], r["seed"]) for r in read_rows(args.out)}
        if all((variant, seed) in done for seed in SEEDS):
            continue
        print(f"scoring {variant} on {len(genes)} test genes", flush=True)
        for row in score_variant(variant, genes, args, done):
            with args.out.open("a") as handle:  # one whole line per row: an interrupted run loses at most the row being written
                handle.write(json.dumps(row) + "\n")
        print(table([r for r in read_rows(args.out) if r["variant"] in ("defaults", variant)]), flush=True)
    methods_out = args.out.with_name(args.out.stem + "_methods.jsonl")
    for method in [m.strip() for m in args.method_stability.split(",") if m.strip()]:
        for variant in variants:
            if any(r["variant"] == variant and r["method"] == method and r.get("of") == "abs" for r in read_rows(methods_out)):
                continue
            print(f"stability of {method} maps, {variant}", flush=True)
            with methods_out.open("a") as handle:
                handle.write(json.dumps(method_stability(variant, method, genes, args)) + "\n")
    print(table(read_rows(args.out)), end="")
    for row in read_rows(methods_out):
        print()
        print(f"Seed stability of |map| of {row['method']} ({row['variant']}, {row['genes']} genes): {row['stability']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
