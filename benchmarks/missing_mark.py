"""How attention and attributions change when a mark is missing (docs/cross-cell.md).

Takes a model trained with mark dropout (for example the E012 run of benchmarks/cross_cell.sh),
explains a sample of a cell's test genes with every mark and again with one mark hidden, and
prints, per mark: the mean beta (mark attention), the mean share of integrated-gradients
attribution, and the AUROC with and without the mark.

    python benchmarks/missing_mark.py ../cross-cell-runs/depth-dropout0.2/runs/roadmap-e012/seed-1 ../shared/data/roadmap-e012
"""

from __future__ import annotations

import argparse
import dataclasses
import warnings

import numpy as np

import attentivechrome as ac
from attentivechrome.data.layout import load_splits
from attentivechrome.interpret import mark_shares


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="Run directory of a model trained with --mark-dropout.")
    parser.add_argument("cell", help="Cell directory whose test genes are explained.")
    parser.add_argument("--hide", default="H3K4me3,H3K4me1", help="Marks to hide, one at a time (comma list).")
    parser.add_argument("--genes", type=int, default=400, help="Test genes explained (a seeded sample). Default 400.")
    parser.add_argument("--n-steps", type=int, default=16, help="Integrated-gradients steps. Default 16.")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    model = ac.load_model(args.model)
    splits = load_splits(args.cell, cache=True)
    cell_input = list(splits.values())
    test = splits["test"]
    sample = np.sort(np.random.default_rng(0).choice(test.n_genes, size=min(args.genes, test.n_genes), replace=False))
    genes = test.subset(sample)
    print(f"model {args.model} ({', '.join(model.marks)}); cell {args.cell}: {genes.n_genes} test genes; AUROC on the whole test split")
    header = f"{'hidden':<10} {'AUROC':>6}  " + "  ".join(f"{m:>17}" for m in model.marks)
    print(header)
    print(f"{'':<10} {'':>6}  " + "  ".join(f"{'beta / IG share':>17}" for _ in model.marks))
    for hidden in [None, *args.hide.split(",")]:
        data, whole = genes, test
        if hidden is not None:
            j = [m.lower() for m in test.marks].index(hidden.lower())
            drop = lambda d: dataclasses.replace(d, counts=np.delete(d.counts, j, axis=2), marks=tuple(m for k, m in enumerate(d.marks) if k != j))  # noqa: E731
            data, whole, source = drop(genes), drop(test), [drop(s) for s in cell_input]
        else:
            source = cell_input
        value = ac.auroc(whole.labels, model.predict(whole, with_attention=False, stats_from=source).values)
        ex = model.explain(data, ["attention", "integrated_gradients"], options=ac.ExplainOptions(n_steps=args.n_steps), stats_from=source)
        beta = ex.beta.mean(axis=0) if ex.beta is not None else np.full(len(model.marks), np.nan)
        share = mark_shares(ex["integrated_gradients"]).mean(axis=0)
        cells = "  ".join(f"{b:>8.3f} / {s:<6.3f}" for b, s in zip(beta, share))
        print(f"{hidden or 'none':<10} {value:>6.4f}  {cells}")


if __name__ == "__main__":
    main()
