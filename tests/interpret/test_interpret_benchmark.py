"""The ground-truth benchmark: a perfect map beats a random one, and the model-driven run is complete."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attentivechrome.data import read_csv
from attentivechrome.data.synthetic import load_truth, simulate
from attentivechrome.interpret import REFERENCES, ExplainOptions, score_maps, write_ground_truth_benchmark
from attentivechrome.trained import load_model
from attentivechrome.workflows import benchmark_model


def test_perfect_map_ranks_above_random_and_random_sits_at_the_floor():
    _, truth = simulate(120, 40, seed=4)
    rng = np.random.default_rng(0)
    perfect = truth.mask.astype(np.float32)
    noisy = perfect + rng.normal(0, 0.6, perfect.shape)  # a partly informative map
    table = score_maps(
        {"perfect": perfect, "noisy": noisy, "random": rng.random(perfect.shape)},
        truth.mask,
        truth.mark_weight,
        mark_scores={"perfect": truth.mark_weight},
    )
    assert table.loc["perfect", "bin_auroc"] == pytest.approx(1.0)
    assert table.loc["perfect", "bin_aupr"] == pytest.approx(1.0)
    assert table.loc["perfect", "mark_spearman"] == pytest.approx(1.0)
    assert table.loc["perfect", "top_mark"] == pytest.approx(1.0)
    assert table.loc["perfect", "bin_auroc"] > table.loc["noisy", "bin_auroc"] > table.loc["random", "bin_auroc"]
    assert abs(table.loc["random", "bin_auroc"] - 0.5) < 3 * table.loc["random", "bin_auroc_ci"] + 0.01
    assert table.loc["random", "family"] == "reference" and table.loc["noisy", "family"] == "external"
    assert np.isnan(table.loc["perfect", "auroc_H3K4me1"])  # the distractor mark has no planted causal bins


@pytest.fixture(scope="module")
def small_benchmark(sim_dir, tiny_checkpoint):
    data = read_csv(sim_dir / "test.csv")
    return benchmark_model(
        load_model(tiny_checkpoint),
        data,
        load_truth(sim_dir),
        methods=["attention", "saliency", "occlusion"],
        max_genes=24,
        options=ExplainOptions(window=10),
        seed=1,
        progress=False,
    )


def test_benchmark_table_has_every_method_and_the_floor(small_benchmark):
    table = small_benchmark.table
    assert list(table.index) == ["attention", "saliency", "occlusion", *REFERENCES]
    assert (table["n_genes"] == 24).all() and len(small_benchmark.gene_ids) == 24
    for column in ("bin_auroc", "bin_aupr", "top_mark"):
        assert table[column].between(0, 1).all(), column
    assert table["mark_spearman"].between(-1, 1).all()
    assert abs(table.loc["random", "bin_auroc"] - 0.5) < 0.06
    # the planted features add reads, so the raw signal alone beats the floor
    assert table.loc["input_signal", "bin_auroc"] > table.loc["random", "bin_auroc"] + 0.1
    assert small_benchmark.best_method() in ("attention", "saliency", "occlusion")


def test_benchmark_writes_table_plot_and_per_gene_scores(small_benchmark, tmp_path):
    files = write_ground_truth_benchmark(small_benchmark, tmp_path / "bench")
    for path in files.values():
        assert path.is_file() and path.stat().st_size > 0
    table = pd.read_csv(files["csv"], index_col="method")
    assert list(table.index) == list(small_benchmark.table.index)
    np.testing.assert_allclose(table["bin_auroc"], small_benchmark.table["bin_auroc"], rtol=1e-5)
    markdown = files["markdown"].read_text()
    assert "| Random map (floor) |" in markdown and "Bin AUROC within each mark" in markdown
    per_gene = pd.read_csv(files["per_gene"])
    assert len(per_gene) == 24 * 5 and set(per_gene.columns) == {"gene_id", "method", "auroc", "aupr", "spearman", "top_mark"}
    assert files["png"].read_bytes()[:4] == b"\x89PNG"


def test_benchmark_refuses_genes_without_truth(sim_dir, tiny_checkpoint):
    data = read_csv(sim_dir / "test.csv")
    _, other_truth = simulate(10, 100, seed=0)  # ids SIM000000..SIM000009: not the test genes
    with pytest.raises(ValueError, match=r"200 of 200 genes have no ground truth \(e.g. SIM000400"):
        benchmark_model(load_model(tiny_checkpoint), data, other_truth, methods="attention", progress=False)
    with pytest.raises(ValueError, match="unknown reference map 'zeros'"):
        benchmark_model(load_model(tiny_checkpoint), data, other_truth, references=["zeros"])
