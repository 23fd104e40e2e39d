"""From aligned reads or signal tracks to model input: bins around each TSS, labels, splits.

The entry points are :func:`featurize` (count every mark around every gene) and
:func:`write_featurized` (CSV or train/valid/test CSVs plus a JSON manifest). The
building blocks are public too: gene tables (:func:`read_genes`), the bin grid
(:class:`BinLayout`, :func:`windows`, :func:`count_overlaps`), the three mark readers and
the median-rule labels (:func:`read_expression_column`).
"""

from ._plan import CountOptions, MarkCounts, WindowPlan
from .bam import count_bam
from .bigwig import signal_bigwig
from .bins import BinLayout, count_overlaps, orient, windows
from .gtf import GeneTable, read_genes
from .labels import Expression, read_expression_column
from .pipeline import FeaturizeResult, featurize, manifest_path, mark_format, write_featurized
from .reads_bed import count_reads_bed
from .split import split_genes

__all__ = [
    "BinLayout",
    "CountOptions",
    "Expression",
    "FeaturizeResult",
    "GeneTable",
    "MarkCounts",
    "WindowPlan",
    "count_bam",
    "count_overlaps",
    "count_reads_bed",
    "featurize",
    "manifest_path",
    "mark_format",
    "orient",
    "read_expression_column",
    "read_genes",
    "signal_bigwig",
    "split_genes",
    "windows",
]
