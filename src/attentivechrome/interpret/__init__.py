"""Explain predictions: attention maps, Captum attributions, class averages, pictures, and a benchmark.

Every method returns maps in the attention layout (genes, marks, bins), so alpha and the
attribution methods are plotted and scored the same way.
"""

from .attention import CLASSES, ClassAverager, ClassAverages, bin_profile, class_averages
from .attribution import ATTRIBUTION_METHODS, DEFAULT_METHODS, METHODS, LogitModule, MethodInfo, attribute, check_methods
from .benchmark import (
    REFERENCES,
    GroundTruthBenchmark,
    cooperation_markdown,
    ground_truth_markdown,
    run_ground_truth_benchmark,
    score_cooperation,
    score_maps,
    write_ground_truth_benchmark,
)
from .explain import ExplainOptions, Explanation, OutputScale, explain_module, iter_module_explanations, mark_shares
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
    score_pair,
    score_track,
    window_share,
)

__all__ = [
    "ATTRIBUTION_METHODS",
    "BASELINES",
    "CLASSES",
    "DEFAULT_METHODS",
    "METHODS",
    "REFERENCES",
    "ClassAverager",
    "ClassAverages",
    "ExplainOptions",
    "Explanation",
    "FaithfulnessResult",
    "GroundTruthBenchmark",
    "InterpretationResult",
    "LogitModule",
    "MethodInfo",
    "OutputScale",
    "attribute",
    "bin_profile",
    "check_methods",
    "class_averages",
    "cooperation_markdown",
    "explain_module",
    "faithfulness",
    "ground_truth_markdown",
    "iter_module_explanations",
    "mark_shares",
    "mean_and_interval",
    "rowwise_auroc",
    "rowwise_average_precision",
    "rowwise_pearson",
    "rowwise_spearman",
    "run_ground_truth_benchmark",
    "score_bins",
    "score_cooperation",
    "score_maps",
    "score_marks",
    "score_pair",
    "score_track",
    "select_genes",
    "window_share",
    "write_ground_truth_benchmark",
    "write_interpretation",
]
