"""Names and shapes written once: mark order, file layout, array layouts."""

from __future__ import annotations

#: Histone marks of the standard AttentiveChrome files, in column order.
MARKS: tuple[str, ...] = ("H3K27me3", "H3K36me3", "H3K4me1", "H3K4me3", "H3K9me3")

#: Bins per gene in the standard REMC files (100 bins of 100 bp, TSS +/- 5 kb).
DEFAULT_N_BINS = 100
#: Base pairs per bin of the standard input (100 bins of 100 bp: the TSS +/- 5 kb); figures place bins with it.
DEFAULT_BIN_SIZE = 100

#: Split names of a data directory, and the files holding them.
SPLITS: tuple[str, ...] = ("train", "valid", "test")

#: What a model predicts: the 0/1 label, log1p(expression) read from ``expression.csv``, or that minus
#: the gene's reference prior (``deviation``); named where their Task objects are defined.
from ..tasks import TASKS  # noqa: E402 - the names sit with their objects in attentivechrome.tasks

#: Per-cell input normalisations (see attentivechrome.data.normalize).
NORMALIZATIONS: tuple[str, ...] = ("none", "depth", "quantile")

#: Input transforms accepted by the loaders and models.
TRANSFORMS: tuple[str, ...] = ("none", "log1p")

# Array layouts (documented once, used everywhere):
#   counts     float32 (genes, bins, marks)  -- as read from the CSV
#   alpha      float32 (genes, marks, bins)  -- bin-level attention, sums to 1 over bins
#   beta       float32 (genes, marks)        -- mark-level attention, sums to 1 over marks
