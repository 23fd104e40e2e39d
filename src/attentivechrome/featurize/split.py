"""Train/valid/test splits of featurized genes.

``contiguous``
    Consecutive blocks of the gene list in its order (thirds by default), as the paper
    split the REMC genes.
``random``
    A seeded random permutation cut into the same proportions; each split keeps the gene
    list's order.
``chromosome``
    Whole chromosomes held out: genes on ``valid_chroms`` and ``test_chroms`` form those
    splits and every other gene trains (names match across ``chr1``/``1`` conventions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from ..data.schema import SPLITS
from .chroms import same_chromosome

SplitMethod = Literal["none", "contiguous", "random", "chromosome"]
SPLIT_METHODS: tuple[str, ...] = ("none", "contiguous", "random", "chromosome")


def split_genes(
    chroms: np.ndarray,
    method: SplitMethod,
    *,
    fractions: Sequence[float] = (1.0, 1.0, 1.0),
    seed: int = 0,
    valid_chroms: Sequence[str] = (),
    test_chroms: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """Index arrays of the genes in each split.

    Parameters
    ----------
    chroms
        Chromosome of each gene, shape (genes,), in output order.
    method
        ``contiguous``, ``random`` or ``chromosome`` (``none`` puts every gene in ``all``).
    fractions
        Relative sizes of train, valid and test (normalised). Default: thirds.
    seed
        Seed of the ``random`` split.
    valid_chroms, test_chroms
        Held-out chromosomes of the ``chromosome`` split.

    Returns
    -------
    dict
        ``{"train": idx, "valid": idx, "test": idx}`` (sorted int64 arrays), or
        ``{"all": idx}`` for ``none``.

    Raises
    ------
    ValueError
        On an unknown method, bad fractions, or a split that would hold no genes.

    Examples
    --------
    >>> {k: v.tolist() for k, v in split_genes(np.array(["1"] * 6), "contiguous").items()}
    {'train': [0, 1], 'valid': [2, 3], 'test': [4, 5]}
    """
    n = len(chroms)
    if method not in SPLIT_METHODS:
        raise ValueError(f"unknown split {method!r}; choose one of {', '.join(SPLIT_METHODS)}")
    if method == "none":
        return {"all": np.arange(n)}
    if method == "chromosome":
        splits = _by_chromosome(np.asarray(chroms), valid_chroms, test_chroms)
    else:
        weights = np.asarray(fractions, dtype=np.float64)
        if weights.shape != (3,) or not np.all(np.isfinite(weights)) or np.any(weights < 0) or weights.sum() <= 0:
            raise ValueError(f"fractions must be three non-negative numbers (train, valid, test), got {list(fractions)}")
        bounds = np.round(np.cumsum(np.concatenate(([0.0], weights / weights.sum()))) * n).astype(int)
        order = np.arange(n) if method == "contiguous" else np.random.default_rng(seed).permutation(n)
        splits = {s: np.sort(order[bounds[i] : bounds[i + 1]]) for i, s in enumerate(SPLITS)}
    empty = [s for s, idx in splits.items() if len(idx) == 0]
    if empty:
        sizes = ", ".join(f"{s} {len(idx)}" for s, idx in splits.items())
        raise ValueError(f"the {method} split leaves {', '.join(empty)} without genes ({sizes} of {n}); change the fractions or held-out chromosomes")
    return splits


def _by_chromosome(chroms: np.ndarray, valid_chroms: Sequence[str], test_chroms: Sequence[str]) -> dict[str, np.ndarray]:
    if not valid_chroms or not test_chroms:
        raise ValueError("a chromosome split needs held-out chromosomes for both valid and test (--valid-chroms and --test-chroms)")
    overlap = [c for c in valid_chroms if any(same_chromosome(c, t) for t in test_chroms)]
    if overlap:
        raise ValueError(f"chromosome(s) {', '.join(overlap)} given for both valid and test")
    names = {str(c) for c in chroms}

    def member(wanted: Sequence[str]) -> np.ndarray:
        hits = {name for name in names if any(same_chromosome(name, w) for w in wanted)}
        return np.isin(chroms, sorted(hits))

    valid, test = member(valid_chroms), member(test_chroms)
    return {"train": np.flatnonzero(~valid & ~test), "valid": np.flatnonzero(valid), "test": np.flatnonzero(test)}
