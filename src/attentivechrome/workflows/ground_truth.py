"""Score a trained model's maps against the planted truth of simulated data (the ``interpret-benchmark`` command's work)."""

from __future__ import annotations

from pathlib import Path

from ..data.dataset import HistoneData
from ..data.synthetic import GroundTruth
from ..interpret.benchmark import GroundTruthBenchmark, run_ground_truth_benchmark
from ..interpret.explain import as_histone_data
from ..trained import TrainedModel


def benchmark_model(
    model: TrainedModel, data: HistoneData | str | Path, truth: GroundTruth, *, allow_bin_mismatch: bool = False, **options
) -> GroundTruthBenchmark:
    """Score every method's maps of ``model`` on ``data`` against ``truth``.

    The whole of ``data`` is prepared by the model (so a gene subset, ``max_genes``, is normalised
    with the statistics of all the genes); ``options`` are those of
    :func:`attentivechrome.interpret.run_ground_truth_benchmark`.
    """
    if not isinstance(model, TrainedModel):
        raise TypeError(f"benchmark_model takes a TrainedModel (attentivechrome.load_model(path)), got {type(model).__name__}")
    prepared = model.prepare(as_histone_data(data), allow_bin_mismatch=allow_bin_mismatch)
    return run_ground_truth_benchmark(model.module, prepared, truth, output=model.output_scale, **options)
