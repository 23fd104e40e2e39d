"""Where bins lie relative to the TSS: pure arithmetic for figures and the HTML report.

A window of ``n_bins`` bins of ``bin_size`` bp is centred on the TSS, which lies on the
boundary between bins ``n_bins / 2`` and ``n_bins / 2 + 1`` (bins numbered from 1). With the
standard 100 bins of 100 bp, bin 1 spans -5.0 to -4.9 kb and bin 100 spans +4.9 to +5.0 kb.
"""

from __future__ import annotations

import numpy as np

from ..data.schema import DEFAULT_BIN_SIZE

#: The axis label every figure uses for positions.
POSITION_LABEL = "position relative to the TSS (kb)"


def bin_edges_kb(n_bins: int, bin_size: int = DEFAULT_BIN_SIZE) -> np.ndarray:
    """The ``n_bins + 1`` bin edges in kb from the TSS, shape (n_bins + 1,).

    >>> bin_edges_kb(4, 100).tolist()
    [-0.2, -0.1, 0.0, 0.1, 0.2]
    """
    if n_bins < 1 or bin_size <= 0:
        raise ValueError(f"need at least one bin of a positive size, got {n_bins} bins of {bin_size} bp")
    return (np.arange(n_bins + 1) - n_bins / 2) * bin_size / 1000.0


def bin_centres_kb(n_bins: int, bin_size: int = DEFAULT_BIN_SIZE) -> np.ndarray:
    """The centre of each bin in kb from the TSS, shape (n_bins,).

    >>> bin_centres_kb(4, 100).tolist()
    [-0.15, -0.05, 0.05, 0.15]
    """
    bin_edges_kb(n_bins, bin_size)  # checks the arguments
    # In bp first and divided once, so a centre is the nearest float to its value (no sum of rounded edges).
    return (np.arange(n_bins) + 0.5 - n_bins / 2) * bin_size / 1000.0
