"""Simulated histone-mark data with planted rules and their ground truth.

Each gene draws a set of chromatin features. Four of them drive expression, one is a
distractor that does not:

=================  ======================  =============================  ===========
feature            mark                    where                          effect
=================  ======================  =============================  ===========
promoter peak      H3K4me3                 a few bins around the TSS      raises
gene-body signal   H3K36me3                bins downstream of the TSS     raises
broad repression   H3K27me3                a wide domain over the window  lowers
heterochromatin    H3K9me3                 a wide domain                  lowers
enhancer flank     H3K4me1                 a few bins anywhere            none
=================  ======================  =============================  ===========

Counts are negative-binomial background (means close to the REMC excerpts) plus
negative-binomial signal inside the planted bins. The expression value is a noisy
weighted sum of the strengths of the causal features; the label is 1 above the
median, as in the paper. The ground truth records, per gene, which (mark, bin) cells
hold a causal feature (``mask``) and how much each mark contributes (``mark_weight``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._io import move_files, staging_directory
from .csv_io import write_csv
from .dataset import HistoneData
from .expression import EXPRESSION_FILE  # noqa: F401 - the simulation writes the expression table every cell directory has
from .schema import MARKS, SPLITS

#: Mean background count per bin of each mark (close to remc-e123's medians and means).
_BACKGROUND_MEAN = {"H3K27me3": 1.0, "H3K36me3": 1.2, "H3K4me1": 2.5, "H3K4me3": 1.5, "H3K9me3": 1.2}
#: Negative-binomial shape (smaller = more overdispersed).
_NB_SHAPE = 2.0
#: Effect on expression of each mark's planted feature (H3K4me1 is a distractor).
MARK_EFFECTS = {"H3K27me3": -1.5, "H3K36me3": 1.5, "H3K4me1": 0.0, "H3K4me3": 2.0, "H3K9me3": -1.0}
_FEATURE_PROBABILITY = {"H3K27me3": 0.35, "H3K36me3": 0.5, "H3K4me1": 0.5, "H3K4me3": 0.5, "H3K9me3": 0.25}
_SIGNAL_MEAN = {"H3K27me3": 4.0, "H3K36me3": 5.0, "H3K4me1": 10.0, "H3K4me3": 25.0, "H3K9me3": 4.0}

TRUTH_FILE = "truth.npz"
MANIFEST_FILE = "simulation.json"


@dataclass(frozen=True)
class GroundTruth:
    """Where the planted signal of each gene lies.

    Attributes
    ----------
    gene_ids
        Shape (genes,).
    mask
        Bool (genes, marks, bins): True where a causal feature was planted.
    mark_weight
        Float (genes, marks): absolute contribution of each mark to the gene's expression
        score (0 for marks without a causal feature in that gene).
    expression
        Float (genes,): the simulated expression value (RPKM-like, positive).
    """

    gene_ids: np.ndarray
    mask: np.ndarray
    mark_weight: np.ndarray
    expression: np.ndarray


def simulate(n_genes: int = 3000, n_bins: int = 100, *, seed: int = 0) -> tuple[HistoneData, GroundTruth]:
    """Simulate ``n_genes`` genes of ``n_bins`` bins with the five standard marks.

    Returns the data (labels balanced by the median rule) and the ground truth.
    """
    if n_genes < 2:
        raise ValueError(f"need at least 2 genes, got {n_genes}")
    if n_bins < 10:
        raise ValueError(f"need at least 10 bins, got {n_bins}")
    rng = np.random.default_rng(seed)
    n_marks = len(MARKS)
    tss = n_bins // 2  # bin index (0-based) where the gene starts
    bins = np.arange(n_bins)

    counts = np.empty((n_genes, n_bins, n_marks), dtype=np.float32)
    mask = np.zeros((n_genes, n_marks, n_bins), dtype=bool)
    strength = np.zeros((n_genes, n_marks))
    for j, mark in enumerate(MARKS):
        counts[:, :, j] = _negative_binomial(rng, _BACKGROUND_MEAN[mark], (n_genes, n_bins))
        present = rng.random(n_genes) < _FEATURE_PROBABILITY[mark]
        amplitude = rng.uniform(0.5, 1.5, n_genes) * present
        start, stop = _feature_windows(rng, mark, n_genes, n_bins, tss)
        inside = (bins[None, :] >= start[:, None]) & (bins[None, :] < stop[:, None]) & present[:, None]
        signal = _negative_binomial(rng, 1.0, (n_genes, n_bins)) * (_SIGNAL_MEAN[mark] * amplitude[:, None])
        counts[:, :, j] += np.where(inside, np.round(signal), 0).astype(np.float32)
        if MARK_EFFECTS[mark] != 0:
            mask[:, j, :] = inside
        strength[:, j] = amplitude

    effects = np.array([MARK_EFFECTS[m] for m in MARKS])
    score = strength @ effects + rng.normal(0.0, 0.5, n_genes)
    labels = (score > np.median(score)).astype(np.int64)
    expression = np.round(np.exp(score + 1.0), 4)
    gene_ids = np.array([f"SIM{i:06d}" for i in range(n_genes)])
    data = HistoneData(gene_ids=gene_ids, counts=counts, labels=labels, marks=MARKS, source=f"simulate(seed={seed})")
    truth = GroundTruth(gene_ids=gene_ids, mask=mask, mark_weight=np.abs(strength * effects), expression=expression)
    return data, truth


def write_simulation(out_dir: str | Path, n_genes: int = 3000, n_bins: int = 100, *, seed: int = 0) -> dict[str, Path]:
    """Simulate and write a data directory: ``train/valid/test.csv``, ``expression.csv``,
    ``truth.npz`` (gene_ids, mask, mark_weight, marks) and ``simulation.json``.

    The genes are split into contiguous thirds, as in the paper. Returns the written paths.
    """
    if n_genes < 2 * len(SPLITS):
        raise ValueError(f"a train/valid/test set needs at least {2 * len(SPLITS)} genes (2 per split), got {n_genes}")
    out = Path(out_dir)
    data, truth = simulate(n_genes, n_bins, seed=seed)
    bounds = np.linspace(0, n_genes, len(SPLITS) + 1).round().astype(int)
    names = {split: f"{split}.csv" for split in SPLITS} | {"expression": EXPRESSION_FILE, "truth": TRUTH_FILE, "manifest": MANIFEST_FILE}
    with staging_directory(out) as stage:  # every file or none
        for split, lo, hi in zip(SPLITS, bounds[:-1], bounds[1:]):
            write_csv(data.subset(slice(lo, hi)), stage / names[split])
        frame = pd.DataFrame({"gene_id": truth.gene_ids, "value": truth.expression})
        frame.to_csv(stage / names["expression"], header=False, index=False)
        with open(stage / names["truth"], "wb") as handle:
            np.savez_compressed(handle, gene_ids=truth.gene_ids, mask=truth.mask, mark_weight=truth.mark_weight, marks=np.array(MARKS))
        manifest = {
            "generator": "attentivechrome.data.synthetic.simulate",
            "genes": n_genes,
            "bins": n_bins,
            "seed": seed,
            "splits": {s: int(hi - lo) for s, lo, hi in zip(SPLITS, bounds[:-1], bounds[1:])},
            "mark_effects": MARK_EFFECTS,
            "label_rule": "1 where the expression score is above its median",
            "truth": "truth.npz: mask (genes, marks, bins) marks the bins of causal features; mark_weight (genes, marks)",
        }
        (stage / names["manifest"]).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        move_files(stage, out)
    written = {key: out / name for key, name in names.items()}
    return written


def load_truth(path: str | Path) -> GroundTruth:
    """Read ``truth.npz`` written by :func:`write_simulation` (a file or the directory holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / TRUTH_FILE
    with np.load(path, allow_pickle=False) as npz:
        gene_ids = npz["gene_ids"]
        expression = np.full(len(gene_ids), np.nan)
        expression_file = path.parent / EXPRESSION_FILE
        if expression_file.is_file():
            table = pd.read_csv(expression_file, header=None, names=["gene_id", "value"], dtype={0: str})
            expression = table.set_index("gene_id")["value"].reindex(gene_ids).to_numpy()
        return GroundTruth(gene_ids=gene_ids, mask=npz["mask"], mark_weight=npz["mark_weight"], expression=expression)


def _negative_binomial(rng: np.random.Generator, mean: float, size: tuple[int, ...]) -> np.ndarray:
    # numpy parametrises by (n, p); mean = n (1 - p) / p.
    p = _NB_SHAPE / (_NB_SHAPE + mean)
    return rng.negative_binomial(_NB_SHAPE, p, size=size).astype(np.float32)


def _feature_windows(
    rng: np.random.Generator, mark: str, n_genes: int, n_bins: int, tss: int
) -> tuple[np.ndarray, np.ndarray]:
    """Start (inclusive) and stop (exclusive) bin of each gene's feature for ``mark``."""
    scale = n_bins / 100  # widths are given for 100 bins and scale with the window
    if mark == "H3K4me3":  # promoter peak centred near the TSS
        centre = tss + rng.integers(-3, 4, n_genes) * scale
        half = rng.integers(2, 6, n_genes) * scale
        start, stop = centre - half, centre + half
    elif mark == "H3K36me3":  # gene body: from a little after the TSS towards the 3' end
        start = tss + rng.integers(5, 15, n_genes) * scale
        stop = start + rng.integers(20, 35, n_genes) * scale
    elif mark in ("H3K27me3", "H3K9me3"):  # broad domains
        width = rng.integers(30, 60, n_genes) * scale
        start = rng.integers(0, n_bins, n_genes) - width / 2
        stop = start + width
    else:  # H3K4me1 enhancer flank: a few bins anywhere
        start = rng.integers(0, n_bins, n_genes)
        stop = start + rng.integers(3, 8, n_genes) * scale
    start = np.clip(np.round(start), 0, n_bins).astype(int)
    stop = np.clip(np.round(stop), 0, n_bins).astype(int)
    return start, stop
