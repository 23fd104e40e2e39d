"""Score any map against a planted truth or an activity track, one gene at a time.

Every score is computed within each gene (a row) and then averaged over genes, so a
method is judged on where it puts its weight inside a gene, not on how its scale varies
between genes. The functions are vectorised over rows and handle ties the way
scikit-learn does (average ranks for AUROC, one threshold per distinct value for average
precision).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def rowwise_auroc(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """AUROC of each row of ``scores`` against the 0/1 ``labels`` of that row.

    Parameters
    ----------
    scores
        Shape (rows, items); higher means "more likely positive".
    labels
        Shape (rows, items), boolean or 0/1.

    Returns
    -------
    ndarray of shape (rows,)
        NaN for a row whose labels hold one class only.

    Examples
    --------
    >>> rowwise_auroc(np.array([[0.9, 0.1, 0.5]]), np.array([[1, 0, 0]]))
    array([1.])
    """
    scores, labels = _check_pair(scores, labels)
    ranks = rankdata(scores, axis=1, method="average")
    n_pos = labels.sum(axis=1)
    n_neg = labels.shape[1] - n_pos
    rank_sum = (ranks * labels).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def rowwise_average_precision(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Average precision (area under the precision-recall curve) of each row.

    Tied scores form one threshold, as in :func:`sklearn.metrics.average_precision_score`.
    NaN for a row without positives (and for a row without negatives AP is 1).
    """
    scores, labels = _check_pair(scores, labels)
    n_items = scores.shape[1]
    order = np.argsort(-scores, axis=1, kind="stable")
    sorted_scores = np.take_along_axis(scores, order, axis=1)
    hits = np.take_along_axis(labels, order, axis=1).astype(np.float64)
    precision = np.cumsum(hits, axis=1) / np.arange(1, n_items + 1)
    # each item takes the precision at the end of its group of tied scores
    is_end = np.ones_like(sorted_scores, dtype=bool)
    is_end[:, :-1] = sorted_scores[:, :-1] != sorted_scores[:, 1:]
    end_index = np.where(is_end, np.arange(n_items), n_items)
    group_end = np.minimum.accumulate(end_index[:, ::-1], axis=1)[:, ::-1]
    precision_at_end = np.take_along_axis(precision, group_end, axis=1)
    n_pos = hits.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ap = (hits * precision_at_end).sum(axis=1) / n_pos
    return np.where(n_pos > 0, ap, np.nan)


def rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b``; NaN where a row is constant."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two arrays of the same shape (rows, items), got {a.shape} and {b.shape}")
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(axis=1) / denominator
    return np.where(denominator > 1e-12, r, np.nan)


def rowwise_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation per row (average ranks for ties); NaN where a row is constant."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(f"expected two arrays of the same shape (rows, items), got {a.shape} and {b.shape}")
    return rowwise_pearson(rankdata(a, axis=1), rankdata(b, axis=1))


def score_bins(values: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """How well a map's magnitude finds the planted bins, per gene.

    Parameters
    ----------
    values
        A map of shape (genes, marks, bins); its absolute value is scored, so signed
        attributions count in either direction.
    mask
        Boolean (genes, marks, bins): True on planted (causal) cells.

    Returns
    -------
    dict
        ``auroc``, ``aupr``: (genes,), over all marks x bins of each gene.
        ``auroc_per_mark``, ``aupr_per_mark``: (genes, marks), over the bins of one mark
        of one gene. NaN where a gene (or gene and mark) has no planted cell or only planted cells.
    """
    values = np.abs(np.asarray(values, dtype=np.float64))
    mask = np.asarray(mask, dtype=bool)
    if values.shape != mask.shape or values.ndim != 3:
        raise ValueError(f"map and truth mask must both have shape (genes, marks, bins), got {values.shape} and {mask.shape}")
    n_genes, n_marks, n_bins = values.shape
    flat = values.reshape(n_genes, n_marks * n_bins)  # (genes, marks, bins) -> (genes, marks*bins)
    flat_mask = mask.reshape(n_genes, n_marks * n_bins)
    per_mark = values.reshape(n_genes * n_marks, n_bins)  # (genes, marks, bins) -> (genes*marks, bins)
    per_mark_mask = mask.reshape(n_genes * n_marks, n_bins)
    return {
        "auroc": rowwise_auroc(flat, flat_mask),
        "aupr": rowwise_average_precision(flat, flat_mask),
        "auroc_per_mark": rowwise_auroc(per_mark, per_mark_mask).reshape(n_genes, n_marks),
        "aupr_per_mark": rowwise_average_precision(per_mark, per_mark_mask).reshape(n_genes, n_marks),
    }


def score_marks(mark_scores: np.ndarray, mark_weight: np.ndarray) -> dict[str, np.ndarray]:
    """How well per-mark scores rank the marks by their planted weight, per gene.

    Parameters
    ----------
    mark_scores
        Shape (genes, marks): beta, or a method's share of attribution per mark.
    mark_weight
        Shape (genes, marks): the planted contribution of each mark (0 for none).

    Returns
    -------
    dict
        ``spearman`` (genes,): rank correlation; ``top_mark`` (genes,): 1.0 when the
        highest-scored mark is one of the marks with the largest weight, else 0.0.
        Both NaN for a gene whose marks all weigh the same.
    """
    scores = np.asarray(mark_scores, dtype=np.float64)
    weight = np.asarray(mark_weight, dtype=np.float64)
    if scores.shape != weight.shape or scores.ndim != 2:
        raise ValueError(f"mark scores and mark weights must both have shape (genes, marks), got {scores.shape} and {weight.shape}")
    informative = weight.max(axis=1) > weight.min(axis=1)
    top = np.argmax(scores, axis=1)
    hit = np.take_along_axis(weight, top[:, None], axis=1)[:, 0] >= weight.max(axis=1)
    return {
        "spearman": rowwise_spearman(scores, weight),
        "top_mark": np.where(informative, hit.astype(np.float64), np.nan),
    }


def score_pair(mark_scores: np.ndarray, mark_weight: np.ndarray, pair: tuple[int, ...]) -> np.ndarray:
    """How well per-mark scores put a cooperating pair of marks above the marks that do nothing, per gene.

    Parameters
    ----------
    mark_scores
        Shape (genes, marks): beta, or a method's share of attribution per mark.
    mark_weight
        Shape (genes, marks): the planted contribution of each mark; the marks weighing 0 in a
        gene are its non-causal marks.
    pair
        Column indices of the cooperating marks (two; or one, to rank a single mark).

    Returns
    -------
    ndarray of shape (genes,)
        The pair AUROC: the share of (pair mark, non-causal mark) comparisons in which the pair
        mark scores higher (ties count one half). 1 when both marks of the pair outrank every
        non-causal mark, 0.5 for a map that ranks marks at random. NaN for a gene without a
        non-causal mark.

    Examples
    --------
    >>> score_pair(np.array([[0.5, 0.1, 0.3, 0.1]]), np.array([[1.0, 0.0, 2.0, 0.0]]), (0, 2))
    array([1.])
    """
    scores = np.asarray(mark_scores, dtype=np.float64)
    weight = np.asarray(mark_weight, dtype=np.float64)
    if scores.shape != weight.shape or scores.ndim != 2:
        raise ValueError(f"mark scores and mark weights must both have shape (genes, marks), got {scores.shape} and {weight.shape}")
    negative = weight == 0
    negative[:, list(pair)] = False
    wins = np.zeros(len(scores))
    for column in pair:
        mine = scores[:, column : column + 1]
        wins += (((mine > scores) + 0.5 * (mine == scores)) * negative).sum(axis=1)
    n = negative.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, wins / (len(pair) * n), np.nan)


def window_share(values: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Share of each row's |map| that lies in bins ``start`` (inclusive) to ``stop`` (exclusive).

    ``values`` has shape (genes, bins), one mark's map. NaN for a row whose map is all zero.

    Examples
    --------
    >>> window_share(np.array([[0.0, 3.0, 1.0, 0.0]]), 1, 2)
    array([0.75])
    """
    magnitude = np.abs(np.asarray(values, dtype=np.float64))
    if magnitude.ndim != 2 or not 0 <= start < stop <= magnitude.shape[1]:
        raise ValueError(f"expected a (genes, bins) map and a window inside its {magnitude.shape[-1]} bins, got {magnitude.shape} and [{start}, {stop})")
    total = magnitude.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, magnitude[:, start:stop].sum(axis=1) / total, np.nan)


def score_track(values: np.ndarray, track: np.ndarray, *, top_k: int = 10) -> dict[str, np.ndarray]:
    """How well a map over the bins of one mark follows an activity track (e.g. H3K27ac), per gene.

    Parameters
    ----------
    values
        Shape (genes, bins): one mark's map; its absolute value is scored.
    track
        Shape (genes, bins): the activity signal on the same bins.
    top_k
        Bins compared by ``top_k_recall``. Default 10.

    Returns
    -------
    dict
        ``pearson`` and ``spearman`` (genes,): correlation of |map| with the track (NaN for a
        constant row); ``top_k_recall`` (genes,): share of the track's ``top_k`` bins among the
        map's ``top_k`` bins (ties broken by position).
    """
    magnitude = np.abs(np.asarray(values, dtype=np.float64))
    track = np.asarray(track, dtype=np.float64)
    if magnitude.shape != track.shape or magnitude.ndim != 2:
        raise ValueError(f"map and track must both have shape (genes, bins), got {magnitude.shape} and {track.shape}")
    if not 1 <= top_k <= magnitude.shape[1]:
        raise ValueError(f"top_k must be between 1 and the {magnitude.shape[1]} bins, got {top_k}")
    top_map = np.argsort(-magnitude, axis=1, kind="stable")[:, :top_k]
    top_track = np.argsort(-track, axis=1, kind="stable")[:, :top_k]
    overlap = np.array([len(np.intersect1d(a, b)) for a, b in zip(top_map, top_track)], dtype=np.float64)
    return {
        "pearson": rowwise_pearson(magnitude, track),
        "spearman": rowwise_spearman(magnitude, track),
        "top_k_recall": overlap / top_k,
    }


def mean_and_interval(values: np.ndarray, *, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over ``axis`` ignoring NaN, the half-width of its normal 95% interval, and the count used."""
    values = np.asarray(values, dtype=np.float64)
    n = np.sum(~np.isnan(values), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.nansum(values, axis=axis)
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        deviation = np.where(np.isnan(values), 0.0, values - np.expand_dims(mean, axis))
        sd = np.sqrt(np.sum(deviation**2, axis=axis) / np.maximum(n - 1, 1))
        half = np.where(n > 1, 1.96 * sd / np.sqrt(np.maximum(n, 1)), np.nan)
    return mean, half, n


def _check_pair(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels).astype(bool)
    if scores.shape != labels.shape or scores.ndim != 2:
        raise ValueError(f"scores and labels must both have shape (rows, items), got {scores.shape} and {labels.shape}")
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN; a map must be finite to be scored")
    return scores, labels
