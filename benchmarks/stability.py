"""Stability of the maps across retraining, and of two ensembles, on a full cell (docs/interpretation.md).

Explains the same seeded sample of test genes with every model of each comparison and prints,
per method, the mean per-gene rank correlation of the maps (over marks x bins) and of the mark
scores (beta for attention, |attribution| shares otherwise) between the models, with the
correlation of their predictions. Resumable: each comparison is one line of the JSONL (finished
comparisons are skipped), and each single model's explanation is cached in --cache, keyed by a
digest of its weights (an ensemble is explained member by member, as ``explain`` does it, so its
members' explanations come from the cache too).

    python benchmarks/stability.py --cell /work/shared/data/roadmap-e012 --models /work/models/e012 \
        --ensembles /work/models/stability --cache /work/models/stability/cache \
        --out docs/results/interpretation/stability.jsonl

With ``--faithfulness``, the deletion and insertion areas (:mod:`attentivechrome.interpret.faithfulness`,
zero baseline, 11 fractions, genes whose output moves by at least 0.5 from the full input to the
baseline) of a single AttentiveChrome and of each ensemble, from the same cached maps, go to
``--faithfulness-out`` (one line per model and method).

The ensembles are trained with
``attentivechrome train CELL --out ENS --ensemble 3 --seed 1`` (and ``--seed 4``).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

import attentivechrome as ac
from attentivechrome.data.layout import load_splits
from attentivechrome.interpret.explain import Explanation, combine_members
from attentivechrome.interpret.stability import stability
from attentivechrome.models.ensemble import members_of
from attentivechrome.workflows.stability import STABILITY_METHODS, choose_genes

#: (name, model directories relative to --models or --ensembles, kind).
COMPARISONS = [
    ("attentivechrome s1 vs s2", ["e012:attentivechrome-s1", "e012:attentivechrome-s2"], "single"),
    ("attentivechrome s1, s2, s3", ["e012:attentivechrome-s1", "e012:attentivechrome-s2", "e012:attentivechrome-s3"], "single"),
    ("attentivechrome ensemble (s1-3) vs ensemble (s4-6)", ["ens:attentivechrome-ens3-s1", "ens:attentivechrome-ens3-s4"], "ensemble"),
    ("deepchrome s1 vs s2", ["e012:deepchrome-s1", "e012:deepchrome-s2"], "single"),
    ("lstm s1 vs s2", ["e012:lstm-s1", "e012:lstm-s2"], "single"),
]


def weights_digest(module) -> str:
    digest = hashlib.sha256()
    for key, value in sorted(module.state_dict().items()):
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:20]


def explain_single(model: ac.TrainedModel, data, methods, cache: Path, n_steps: int, window: int) -> Explanation:
    """One (non-ensemble) model's explanation of ``data``, from the cache when it holds it."""
    key = f"{weights_digest(model.module)}-{hashlib.sha256(','.join(map(str, data.gene_ids)).encode()).hexdigest()[:12]}-{n_steps}-{window}"
    path = cache / f"{key}.npz"
    wanted = set(methods)
    if path.is_file():
        with np.load(path) as npz:
            held = set(str(m) for m in npz["methods"])
            if wanted <= held:
                return Explanation(
                    gene_ids=npz["gene_ids"].astype(str), marks=tuple(npz["marks"].astype(str)), methods=tuple(methods), logits=npz["logits"],
                    labels=npz["labels"] if "labels" in npz.files else None, maps={m: npz[f"map_{m}"] for m in methods},
                    alpha=npz["alpha"] if "alpha" in npz.files else None, beta=npz["beta"] if "beta" in npz.files else None,
                )  # fmt: skip
    started = time.perf_counter()
    ex = model.explain(data, list(methods), options=ac.ExplainOptions(n_steps=n_steps, window=window), progress=False)
    arrays = {"gene_ids": ex.gene_ids.astype(str), "marks": np.array(ex.marks), "methods": np.array(ex.methods), "logits": ex.logits}
    arrays.update({f"map_{m}": ex[m] for m in ex.methods})
    for name in ("labels", "alpha", "beta"):
        if getattr(ex, name) is not None:
            arrays[name] = getattr(ex, name)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    print(f"  explained {data.n_genes} genes with {model.source or 'a member'} in {time.perf_counter() - started:.0f}s", flush=True)
    return ex


def explain_model(path: Path, data, methods, cache: Path, n_steps: int, window: int) -> tuple[Explanation, int]:
    """A run directory's explanation (an ensemble's: its members' mean, each member cached), and its member count."""
    model = ac.load_model(path)
    members = members_of(model.module)
    parts = [explain_single(dataclasses.replace(model, module=m, source=f"{path} member {i + 1}" if len(members) > 1 else str(path)), data, methods, cache, n_steps, window)
             for i, m in enumerate(members)]  # fmt: skip
    return (parts[0] if len(parts) == 1 else combine_members(parts)), len(members)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell", default="/work/shared/data/roadmap-e012", help="Cell directory whose test genes are explained.")
    parser.add_argument("--models", default="/work/models/e012", help="Directory of the single-model runs (attentivechrome-s1, ...).")
    parser.add_argument("--ensembles", default="/work/models/stability", help="Directory of the ensemble runs.")
    parser.add_argument("--cache", default="/work/models/stability/cache", help="Where each model's explanation is kept.")
    parser.add_argument("--out", default="docs/results/interpretation/stability.jsonl", help="JSONL of results (appended; finished comparisons skipped).")
    parser.add_argument("--genes", type=int, default=1000, help="Seeded sample of test genes. Default 1000.")
    parser.add_argument("--seed", type=int, default=0, help="Seeds the gene sample. Default 0.")
    parser.add_argument("--n-steps", type=int, default=32, help="Integrated-gradients steps. Default 32 (interpret's).")
    parser.add_argument("--window", type=int, default=5, help="Occlusion window. Default 5 (interpret's).")
    parser.add_argument("--only", default=None, help="Run only the comparisons whose name contains this text.")
    parser.add_argument("--faithfulness", action="store_true", help="Also measure the faithfulness of a single model and of each ensemble.")
    parser.add_argument("--faithfulness-out", default="docs/results/interpretation/stability_faithfulness.jsonl")
    parser.add_argument("--table-only", action="store_true", help="Print the tables of the saved results; run nothing.")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    out = Path(args.out)
    if args.table_only:  # with --faithfulness: the faithfulness table of the ensembles instead
        print(faithfulness_markdown(Path(args.faithfulness_out)) if args.faithfulness else markdown(out))
        return
    done = set()
    if out.is_file():
        done = {r["comparison"] for r in map(json.loads, filter(str.strip, out.read_text().splitlines())) if "abs_map_rank_correlation" in r}
    test = load_splits(args.cell, cache=True)["test"]
    genes = choose_genes(test, max_genes=args.genes, seed=args.seed)
    roots = {"e012": Path(args.models), "ens": Path(args.ensembles)}
    for name, specs, kind in COMPARISONS:
        if args.only and args.only not in name:
            continue
        if name in done:
            print(f"skip {name} (done)")
            continue
        paths = [roots[spec.split(":")[0]] / spec.split(":")[1] for spec in specs]
        missing = [str(p) for p in paths if not (p / "model.pt").is_file()]
        if missing:
            print(f"skip {name}: not trained yet ({', '.join(missing)})")
            continue
        started = time.perf_counter()
        print(f"{name}: explaining {genes.n_genes} genes with {len(paths)} models", flush=True)
        first = ac.load_model(paths[0])
        methods = [m for m in STABILITY_METHODS if m != "attention" or first.model_name == "attentivechrome"]
        explained = [explain_model(p, genes, methods, Path(args.cache), args.n_steps, args.window) for p in paths]
        result = stability([e for e, _ in explained], methods, names=[str(p) for p in paths], signed=True)  # map_rank_correlation: signed
        magnitude = stability([e for e, _ in explained], methods, names=[str(p) for p in paths]).table.set_index("method")  # abs_: of |map|
        aurocs = [float(ac.auroc(genes.labels, e.logits)) for e, _ in explained]
        rows = []
        for row in result.table.to_dict("records"):
            rows.append({
                "comparison": name, "kind": kind, "models": [str(p) for p in paths], "members": [n for _, n in explained], "genes": genes.n_genes, "seed": args.seed,
                "n_steps": args.n_steps, "window": args.window, "auroc_on_genes": aurocs, **row,
                "abs_map_rank_correlation": float(magnitude.loc[row["method"], "map_rank_correlation"]),
                "abs_map_ci_low": float(magnitude.loc[row["method"], "map_ci_low"]), "abs_map_ci_high": float(magnitude.loc[row["method"], "map_ci_high"]),
                "seconds": round(time.perf_counter() - started, 1),
            })  # fmt: skip
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a") as handle:
            for row in rows:
                handle.write(json.dumps(row) + "\n")
        print(f"  done in {time.perf_counter() - started:.0f}s", flush=True)
    if args.faithfulness:
        measure_faithfulness(genes, roots, args)
        print(faithfulness_markdown(Path(args.faithfulness_out)))
    print(markdown(out))


#: The models whose faithfulness is compared: one AttentiveChrome, then the two ensembles.
FAITHFULNESS_MODELS = ["e012:attentivechrome-s1", "ens:attentivechrome-ens3-s1", "ens:attentivechrome-ens3-s4"]


def measure_faithfulness(genes, roots, args) -> None:
    from attentivechrome.interpret.faithfulness import faithfulness

    out = Path(args.faithfulness_out)
    done = {r["model"] for r in map(json.loads, filter(str.strip, out.read_text().splitlines()))} if out.is_file() else set()
    for spec in FAITHFULNESS_MODELS:
        path = roots[spec.split(":")[0]] / spec.split(":")[1]
        if str(path) in done or not (path / "model.pt").is_file():
            print(f"skip faithfulness of {path}: {'done' if str(path) in done else 'not trained yet'}")
            continue
        started = time.perf_counter()
        model = ac.load_model(path)
        explained, n_members = explain_model(path, genes, STABILITY_METHODS, Path(args.cache), args.n_steps, args.window)
        prepared = model.prepare(genes)
        result = faithfulness(model.module, prepared, {m: explained[m] for m in STABILITY_METHODS}, output=model.output_scale, seed=args.seed)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a") as handle:
            for row in result.table().to_dict("records"):
                handle.write(json.dumps({"model": str(path), "members": n_members, "genes": genes.n_genes, "seed": args.seed, "baseline": "zero", **row,
                                         "seconds": round(time.perf_counter() - started, 1)}) + "\n")  # fmt: skip
        print(f"faithfulness of {path} in {time.perf_counter() - started:.0f}s", flush=True)


def faithfulness_markdown(path: Path) -> str:
    """Deletion / insertion areas per method (rows) and model (columns)."""
    if not path.is_file():
        return "(no faithfulness results yet)"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    models = list(dict.fromkeys(r["model"] for r in rows))
    by = {(r["model"], r["method"]): r for r in rows}
    lines = ["| method | " + " | ".join(f"{Path(m).name} ({by[(m, rows[0]['method'])]['members']} model(s))" for m in models) + " |", "|---|" + "---|" * len(models)]
    for method in dict.fromkeys(r["method"] for r in rows):
        lines.append(f"| {method} | " + " | ".join("—" if (m, method) not in by else f"{by[(m, method)]['deletion_auc']:.3f} / {by[(m, method)]['insertion_auc']:.3f}" for m in models) + " |")
    lines.append("| genes with a clear effect | " + " | ".join(str(by[(m, rows[0]['method'])]["n_genes"]) for m in models) + " |")
    lines.append("")
    lines.append("Cells: deletion AUC (lower: more faithful) / insertion AUC (higher: more faithful).")
    return "\n".join(lines)


def markdown(path: Path) -> str:
    """The results as a markdown table: per method, each comparison's rank correlations (docs/interpretation.md's table)."""
    if not path.is_file():
        return "(no results yet)"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    comparisons = list(dict.fromkeys(r["comparison"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    by = {(r["comparison"], r["method"]): r for r in rows}  # the last row of each wins (a rescored comparison)
    lines = ["| method | " + " | ".join(comparisons) + " |", "|---|" + "---|" * len(comparisons)]
    for method in methods:
        cells = []
        for c in comparisons:
            r = by.get((c, method))
            if r is None:
                cells.append("—")
            elif "abs_map_rank_correlation" in r:
                cells.append(f"**{r['abs_map_rank_correlation']:.3f}** ({r['abs_map_ci_low']:.3f}-{r['abs_map_ci_high']:.3f}) / {r['map_rank_correlation']:.3f} / {r['mark_score_rank_correlation']:.3f}")
            else:
                cells.append(f"? / {r['map_rank_correlation']:.3f} / {r['mark_score_rank_correlation']:.3f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    last = {c: [r for r in rows if r["comparison"] == c][-1] for c in comparisons}
    lines.append("| predictions (Pearson of logits) | " + " | ".join(f"{last[c]['prediction_correlation']:.3f}" for c in comparisons) + " |")
    lines.append("| test AUROC on these genes (each model) | " + " | ".join(", ".join(f"{a:.3f}" for a in last[c]["auroc_on_genes"]) for c in comparisons) + " |")
    lines.append("")
    lines.append(
        "Cells: rank correlation of |map| (95% interval over genes) / of the signed map / of the mark scores; per gene, "
        f"mean over model pairs, then over the {rows[0]['genes']} genes."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
