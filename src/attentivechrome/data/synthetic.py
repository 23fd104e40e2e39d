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

These are the ``additive`` rules (the default). ``rules="cooperative"`` adds rules where
marks act together and rules that hold only at one position (:data:`RULES`):

=====================  ==========================================================================
rule                   what it does
=====================  ==========================================================================
promoter window        an H3K4me3 peak raises expression only inside +/-1 kb of the TSS
                       (+/-10 of 100 bins); a decoy peak 2-4 kb away adds reads but no effect
bivalent promoter      H3K4me3 at the promoter together with H3K27me3 over the promoter is low:
                       the pair's interaction term outweighs the H3K4me3 gain
gene body needs        gene-body H3K36me3 (downstream of the TSS) raises expression only when a
promoter               promoter H3K4me3 peak is present; an upstream decoy domain has no effect
=====================  ==========================================================================

H3K27me3 (anywhere) and H3K9me3 still lower expression on their own; H3K4me1 is a
distractor. ``mark_weight`` splits each interaction term equally between its two marks
(their Shapley shares), and the truth records the cooperating pairs (which marks, in which
genes each rule is active) and the position windows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
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

#: The simulator's rule sets: ``additive`` (each mark on its own) and ``cooperative``.
RULES = ("additive", "cooperative")

#: Cooperative rules: effect of a promoter H3K4me3 peak, of gene-body H3K36me3 given promoter
#: H3K4me3, of the bivalent pair (H3K4me3 x H3K27me3 over the promoter), of broad H3K27me3 and of H3K9me3.
COOPERATIVE_EFFECTS = {"promoter_H3K4me3": 2.0, "body_H3K36me3_with_H3K4me3": 1.5, "bivalent": -3.0, "H3K27me3": -1.5, "H3K9me3": -1.0}
#: Cooperating pairs of the cooperative rules: (first mark, second mark, short name, what the rule does).
#: In a ``conditional`` pair the second mark has no effect without the first.
COOPERATIVE_PAIRS = (
    ("H3K4me3", "H3K27me3", "bivalent", "H3K4me3 with H3K27me3 over the promoter (+/-1 kb) is low", False),
    ("H3K4me3", "H3K36me3", "body_needs_promoter", "gene-body H3K36me3 raises expression only with promoter H3K4me3", True),
)
#: Half-width of the promoter window, in bins of a 100-bin (10 kb) window: +/-1 kb.
PROMOTER_HALF_WIDTH = 10

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
    rules
        ``"additive"`` or ``"cooperative"`` (see the module's docstring).
    pairs
        Cooperating pairs, (first mark, second mark) each; empty for additive rules.
    pair_names
        A short name of each pair's rule (``bivalent``, ``body_needs_promoter``).
    pair_conditional
        Per pair: True when the second mark has no effect without the first.
    pair_active
        Bool (genes, pairs): the pair's rule is active in the gene (both features planted where
        the rule reads them).
    pair_candidate
        Bool (genes, pairs): the second mark's feature is planted where the rule reads it (with
        or without the first mark); ``pair_active`` implies it.
    window_marks
        Marks that count only inside a position window.
    window_start, window_stop
        Per windowed mark: the window's first bin and the bin after its last (0-based).
    window_active
        Bool (genes, windows): the mark's feature inside its window counts in the gene.
    window_decoy
        Bool (genes, windows): a feature of the same mark was planted outside the window (reads, no effect).
    """

    gene_ids: np.ndarray
    mask: np.ndarray
    mark_weight: np.ndarray
    expression: np.ndarray
    rules: str = "additive"
    pairs: tuple[tuple[str, str], ...] = ()
    pair_names: tuple[str, ...] = ()
    pair_conditional: tuple[bool, ...] = ()
    pair_active: np.ndarray | None = None
    pair_candidate: np.ndarray | None = None
    window_marks: tuple[str, ...] = ()
    window_start: tuple[int, ...] = ()
    window_stop: tuple[int, ...] = ()
    window_active: np.ndarray | None = None
    window_decoy: np.ndarray | None = None

    def subset(self, index) -> GroundTruth:
        """The truth of a subset of genes (an index array, a boolean mask or a slice)."""
        picked = {key: (None if getattr(self, key) is None else np.asarray(getattr(self, key))[index]) for key in _PER_GENE}
        return replace(self, **picked)


#: GroundTruth fields with one row per gene.
_PER_GENE = ("gene_ids", "mask", "mark_weight", "expression", "pair_active", "pair_candidate", "window_active", "window_decoy")


def simulate(n_genes: int = 3000, n_bins: int = 100, *, seed: int = 0, rules: str = "additive") -> tuple[HistoneData, GroundTruth]:
    """Simulate ``n_genes`` genes of ``n_bins`` bins with the five standard marks.

    ``rules`` is ``"additive"`` (default: each mark acts on its own; the same seed gives the same
    data as before the option existed) or ``"cooperative"`` (pairs of marks acting together and
    position windows; see the module's docstring). Returns the data (labels balanced by the
    median rule) and the ground truth.

    Examples
    --------
    >>> data, truth = simulate(40, 20, seed=0, rules="cooperative")
    >>> truth.pairs
    (('H3K4me3', 'H3K27me3'), ('H3K4me3', 'H3K36me3'))
    >>> truth.pair_active.shape, truth.window_marks
    ((40, 2), ('H3K4me3', 'H3K36me3'))
    """
    if n_genes < 2:
        raise ValueError(f"need at least 2 genes, got {n_genes}")
    if n_bins < 10:
        raise ValueError(f"need at least 10 bins, got {n_bins}")
    if rules not in RULES:
        raise ValueError(f"unknown rules {rules!r}; choose from {', '.join(RULES)}")
    if rules == "cooperative":
        return _simulate_cooperative(n_genes, n_bins, seed)
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


def _simulate_cooperative(n_genes: int, n_bins: int, seed: int) -> tuple[HistoneData, GroundTruth]:
    """The cooperative rules (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    n_marks = len(MARKS)
    col = {mark: j for j, mark in enumerate(MARKS)}
    tss = n_bins // 2
    scale = n_bins / 100
    half_window = max(1, int(round(PROMOTER_HALF_WIDTH * scale)))
    promoter = (tss - half_window, tss + half_window)  # [start, stop) bins: +/-1 kb of 10 kb
    body = (tss, n_bins)  # downstream of the TSS
    bins = np.arange(n_bins)

    counts = np.empty((n_genes, n_bins, n_marks), dtype=np.float32)
    for mark, j in col.items():
        counts[:, :, j] = _negative_binomial(rng, _BACKGROUND_MEAN[mark], (n_genes, n_bins))

    def plant(mark: str, probability: float, start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Add one feature of ``mark`` to a random share of genes; returns (present, amplitude, cells)."""
        present = rng.random(n_genes) < probability
        amplitude = rng.uniform(0.5, 1.5, n_genes) * present
        start = np.clip(np.round(start), 0, n_bins).astype(int)
        stop = np.clip(np.round(stop), 0, n_bins).astype(int)
        inside = (bins[None, :] >= start[:, None]) & (bins[None, :] < stop[:, None]) & present[:, None]
        signal = _negative_binomial(rng, 1.0, (n_genes, n_bins)) * (_SIGNAL_MEAN[mark] * amplitude[:, None])
        counts[:, :, col[mark]] += np.where(inside, np.round(signal), 0).astype(np.float32)
        return present & inside.any(axis=1), amplitude, inside

    def integers(low: int, high: int) -> np.ndarray:
        return rng.integers(low, high, n_genes) * scale

    # H3K4me3: a promoter peak inside +/-1 kb (counts) and a decoy peak 2-4 kb away on either side (does not).
    centre, half = tss + integers(-5, 6), integers(2, 6)
    k4_on, k4, k4_cells = plant("H3K4me3", 0.5, np.maximum(centre - half, promoter[0]), np.minimum(centre + half, promoter[1]))
    centre, half = tss + rng.choice([-1, 1], n_genes) * integers(20, 40), integers(2, 6)
    k4_decoy, _, _ = plant("H3K4me3", 0.4, centre - half, centre + half)
    # H3K36me3: a gene-body domain downstream (counts with promoter H3K4me3) and an upstream decoy (does not).
    start = tss + integers(5, 15)
    k36_on, k36, k36_cells = plant("H3K36me3", 0.5, start, start + integers(20, 35))
    stop = tss - integers(5, 15)
    k36_decoy, _, _ = plant("H3K36me3", 0.3, stop - integers(20, 35), stop)
    # Broad repressive domains anywhere; H3K27me3 over the promoter makes an H3K4me3 promoter bivalent.
    width = integers(30, 60)
    start = rng.integers(0, n_bins, n_genes) - width / 2
    k27_on, k27, k27_cells = plant("H3K27me3", 0.35, start, start + width)
    width = integers(30, 60)
    start = rng.integers(0, n_bins, n_genes) - width / 2
    _, k9, k9_cells = plant("H3K9me3", 0.25, start, start + width)
    start = rng.integers(0, n_bins, n_genes)
    plant("H3K4me1", 0.5, start, start + integers(3, 8))  # distractor

    k27_promoter = k27_on & k27_cells[:, promoter[0] : promoter[1]].any(axis=1)
    bivalent = k4_on & k27_promoter
    body_active = k4_on & k36_on
    effects = COOPERATIVE_EFFECTS
    terms = {  # (term value per gene, {mark: share of the term})
        "promoter": (effects["promoter_H3K4me3"] * k4, {"H3K4me3": 1.0}),
        "body": (effects["body_H3K36me3_with_H3K4me3"] * k36 * k4_on, {"H3K4me3": 0.5, "H3K36me3": 0.5}),
        "bivalent": (effects["bivalent"] * k4 * k27_promoter, {"H3K4me3": 0.5, "H3K27me3": 0.5}),
        "H3K27me3": (effects["H3K27me3"] * k27, {"H3K27me3": 1.0}),
        "H3K9me3": (effects["H3K9me3"] * k9, {"H3K9me3": 1.0}),
    }
    share = np.zeros((n_genes, n_marks))
    for value, parts in terms.values():
        for mark, fraction in parts.items():
            share[:, col[mark]] += fraction * value
    score = sum(value for value, _ in terms.values()) + rng.normal(0.0, 0.5, n_genes)

    mask = np.zeros((n_genes, n_marks, n_bins), dtype=bool)
    mask[:, col["H3K4me3"]] = k4_cells
    mask[:, col["H3K36me3"]] = k36_cells & body_active[:, None]
    mask[:, col["H3K27me3"]] = k27_cells
    mask[:, col["H3K9me3"]] = k9_cells

    data, truth = _finish(counts, score, seed, "cooperative")
    truth = replace(
        truth,
        mask=mask,
        mark_weight=np.abs(share),
        pairs=tuple((a, b) for a, b, *_ in COOPERATIVE_PAIRS),
        pair_names=tuple(name for *_, name, _, _ in COOPERATIVE_PAIRS),
        pair_conditional=tuple(conditional for *_, conditional in COOPERATIVE_PAIRS),
        pair_active=np.stack([bivalent, body_active], axis=1),
        pair_candidate=np.stack([k27_promoter, k36_on], axis=1),
        window_marks=("H3K4me3", "H3K36me3"),
        window_start=(promoter[0], body[0]),
        window_stop=(promoter[1], body[1]),
        window_active=np.stack([k4_on, body_active], axis=1),
        window_decoy=np.stack([k4_decoy, k36_decoy], axis=1),
    )
    return data, truth


def _finish(counts: np.ndarray, score: np.ndarray, seed: int, rules: str) -> tuple[HistoneData, GroundTruth]:
    """Labels (above the median score), expression and ids; the truth's mask and weights are filled in by the caller."""
    n_genes = len(score)
    labels = (score > np.median(score)).astype(np.int64)
    expression = np.round(np.exp(score + 1.0), 4)
    gene_ids = np.array([f"SIM{i:06d}" for i in range(n_genes)])
    data = HistoneData(gene_ids=gene_ids, counts=counts, labels=labels, marks=MARKS, source=f"simulate(seed={seed}, rules={rules})")
    empty = np.zeros((n_genes, 0))
    return data, GroundTruth(gene_ids=gene_ids, mask=np.zeros(0, bool), mark_weight=empty, expression=expression, rules=rules)


def write_simulation(
    out_dir: str | Path, n_genes: int = 3000, n_bins: int = 100, *, seed: int = 0, rules: str = "additive"
) -> dict[str, Path]:
    """Simulate and write a data directory: ``train/valid/test.csv``, ``expression.csv``,
    ``truth.npz`` and ``simulation.json``.

    ``truth.npz`` holds ``gene_ids``, ``mask``, ``mark_weight``, ``marks`` and ``rules``; for
    ``rules="cooperative"`` also the pairs (``pairs``, ``pair_names``, ``pair_conditional``,
    ``pair_active``, ``pair_candidate``) and the position windows (``window_marks``,
    ``window_start``, ``window_stop``, ``window_active``, ``window_decoy``), as in
    :class:`GroundTruth`. The genes are split into contiguous thirds, as in the paper. Returns
    the written paths.
    """
    if n_genes < 2 * len(SPLITS):
        raise ValueError(f"a train/valid/test set needs at least {2 * len(SPLITS)} genes (2 per split), got {n_genes}")
    out = Path(out_dir)
    data, truth = simulate(n_genes, n_bins, seed=seed, rules=rules)
    bounds = np.linspace(0, n_genes, len(SPLITS) + 1).round().astype(int)
    names = {split: f"{split}.csv" for split in SPLITS} | {"expression": EXPRESSION_FILE, "truth": TRUTH_FILE, "manifest": MANIFEST_FILE}
    with staging_directory(out) as stage:  # every file or none
        for split, lo, hi in zip(SPLITS, bounds[:-1], bounds[1:]):
            write_csv(data.subset(slice(lo, hi)), stage / names[split])
        frame = pd.DataFrame({"gene_id": truth.gene_ids, "value": truth.expression})
        frame.to_csv(stage / names["expression"], header=False, index=False)
        with open(stage / names["truth"], "wb") as handle:
            np.savez_compressed(handle, **_truth_arrays(truth))
        manifest = {
            "generator": "attentivechrome.data.synthetic.simulate",
            "genes": n_genes,
            "bins": n_bins,
            "seed": seed,
            "rules": rules,
            "splits": {s: int(hi - lo) for s, lo, hi in zip(SPLITS, bounds[:-1], bounds[1:])},
            "mark_effects": MARK_EFFECTS if rules == "additive" else COOPERATIVE_EFFECTS,
            "label_rule": "1 where the expression score is above its median",
            "truth": "truth.npz: mask (genes, marks, bins) marks the bins of causal features; mark_weight (genes, marks)",
        }
        if rules == "cooperative":
            manifest["pairs"] = [{"marks": list(pair), "name": name, "rule": rule, "conditional": conditional} for *pair, name, rule, conditional in COOPERATIVE_PAIRS]
            manifest["windows"] = [
                {"mark": mark, "start_bin": int(lo), "stop_bin": int(hi)} for mark, lo, hi in zip(truth.window_marks, truth.window_start, truth.window_stop)
            ]
            manifest["truth"] += "; pair_active/pair_candidate (genes, pairs); window_active/window_decoy (genes, windows)"
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
        truth = GroundTruth(gene_ids=gene_ids, mask=npz["mask"], mark_weight=npz["mark_weight"], expression=expression)
        if "rules" not in npz.files or str(npz["rules"]) == "additive":  # files written before the option are additive
            return truth
        return replace(
            truth,
            rules=str(npz["rules"]),
            pairs=tuple((str(a), str(b)) for a, b in npz["pairs"]),
            pair_names=tuple(str(n) for n in npz["pair_names"]),
            pair_conditional=tuple(bool(c) for c in npz["pair_conditional"]),
            pair_active=npz["pair_active"],
            pair_candidate=npz["pair_candidate"],
            window_marks=tuple(str(m) for m in npz["window_marks"]),
            window_start=tuple(int(v) for v in npz["window_start"]),
            window_stop=tuple(int(v) for v in npz["window_stop"]),
            window_active=npz["window_active"],
            window_decoy=npz["window_decoy"],
        )


def _truth_arrays(truth: GroundTruth) -> dict[str, np.ndarray]:
    """The arrays of ``truth.npz``."""
    arrays = {"gene_ids": truth.gene_ids, "mask": truth.mask, "mark_weight": truth.mark_weight, "marks": np.array(MARKS), "rules": np.array(truth.rules)}
    if truth.rules != "additive":
        arrays |= {
            "pairs": np.array(truth.pairs, dtype=str).reshape(-1, 2),
            "pair_names": np.array(truth.pair_names, dtype=str),
            "pair_conditional": np.array(truth.pair_conditional, dtype=bool),
            "pair_active": truth.pair_active,
            "pair_candidate": truth.pair_candidate,
            "window_marks": np.array(truth.window_marks, dtype=str),
            "window_start": np.array(truth.window_start, dtype=np.int64),
            "window_stop": np.array(truth.window_stop, dtype=np.int64),
            "window_active": truth.window_active,
            "window_decoy": truth.window_decoy,
        }
    return arrays


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
