"""Explain predictions: attention maps, Captum attributions, class averages, pictures, and a benchmark.

Every method returns maps in the attention layout (genes, marks, bins), so alpha and the
attribution methods are plotted and scored the same way.
"""

from .attention import CLASSES, ClassAverager, ClassAverages, bin_profile, class_averages
from .attribution import ATTRIBUTION_METHODS, DEFAULT_METHODS, METHODS, LogitModule, MethodInfo, attribute, check_methods
from .benchmark import REFERENCES, BenchmarkResult, benchmark_markdown, run_benchmark, score_maps, write_benchmark
from .explain import Explanation, OutputScale, explain, iter_explanations, mark_shares
from .faithfulness import BASELINES, FaithfulnessResult, faithfulness
from .report import InterpretationResult, select_genes, write_interpretation
from .scoring import (
    mean_and_interval,
    rowwise_auroc,
    rowwise_average_precision,
    rowwise_pearson,
    rowwise_spearman,
    score_bins,
    score_marks,
    score_track,
)

__all__ = [
    "ATTRIBUTION_METHODS",
    "BASELINES",
    "CLASSES",
    "DEFAULT_METHODS",
    "METHODS",
    "REFERENCES",
    "BenchmarkResult",
    "ClassAverager",
    "ClassAverages",
    "Explanation",
    "FaithfulnessResult",
    "InterpretationResult",
    "LogitModule",
    "MethodInfo",
    "OutputScale",
    "attribute",
    "benchmark_markdown",
    "bin_profile",
    "check_methods",
    "class_averages",
    "explain",
    "faithfulness",
    "iter_explanations",
    "mark_shares",
    "mean_and_interval",
    "rowwise_auroc",
    "rowwise_average_precision",
    "rowwise_pearson",
    "rowwise_spearman",
    "run_benchmark",
    "score_bins",
    "score_maps",
    "score_marks",
    "score_track",
    "select_genes",
    "write_benchmark",
    "write_interpretation",
]
