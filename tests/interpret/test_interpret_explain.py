"""explain(): map shapes and normalisation, batching, inputs it accepts, class averages."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attentivechrome import explain
from attentivechrome.data import MARKS, HistoneData
from attentivechrome.interpret import ExplainOptions, Explanation, attribute, class_averages, iter_module_explanations
from attentivechrome.interpret.attention import ClassAverager
from attentivechrome.models import AttentiveChrome, ModelOutput

ALL_METHODS = ["attention", "attention_x_beta", "saliency", "input_x_gradient", "integrated_gradients", "deeplift", "occlusion"]


@pytest.fixture(scope="module")
def small_case():
    torch.manual_seed(0)
    model = AttentiveChrome(5, bin_hidden=4, mark_hidden=2, transform="log1p").eval()
    rng = np.random.default_rng(0)
    data = HistoneData(
        gene_ids=np.array([f"g{i}" for i in range(7)]),
        counts=rng.poisson(3.0, size=(7, 16, 5)).astype(np.float32),
        labels=np.array([1, 0, 1, 0, 1, 1, 0]),
        marks=MARKS,
    )
    return model, data


@pytest.fixture(scope="module")
def full_explanation(small_case):
    model, data = small_case
    return explain(model, data, ALL_METHODS, options=ExplainOptions(n_steps=4, window=4, batch_size=3))


def test_every_map_has_the_attention_layout(full_explanation):
    ex = full_explanation
    assert ex.methods == tuple(ALL_METHODS)
    for method in ALL_METHODS:
        assert ex[method].shape == (7, 5, 16), method
        assert ex[method].dtype == np.float32
        assert np.isfinite(ex[method]).all()
    assert ex.alpha.shape == (7, 5, 16) and ex.beta.shape == (7, 5)
    assert ex.logits.shape == (7,) and ex.gene_ids.tolist() == [f"g{i}" for i in range(7)]


def test_attention_maps_sum_to_one_where_they_should(full_explanation):
    ex = full_explanation
    np.testing.assert_allclose(ex["attention"].sum(axis=2), 1.0, atol=1e-5)  # alpha: over bins
    np.testing.assert_allclose(ex.beta.sum(axis=1), 1.0, atol=1e-5)  # beta: over marks
    np.testing.assert_allclose(ex["attention_x_beta"].sum(axis=(1, 2)), 1.0, atol=1e-5)
    assert (ex["attention"] >= 0).all() and (ex["saliency"] >= 0).all()
    for method in ALL_METHODS:
        scores = ex.mark_scores(method)
        assert scores.shape == (7, 5)
        np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(ex.mark_scores("attention"), ex.beta)


def test_maps_do_not_depend_on_the_batching(small_case, full_explanation):
    model, data = small_case
    whole = explain(model, data, ALL_METHODS, options=ExplainOptions(n_steps=4, window=4, batch_size=100))
    for method in ALL_METHODS:
        np.testing.assert_allclose(whole[method], full_explanation[method], rtol=1e-4, atol=1e-6, err_msg=method)
    np.testing.assert_allclose(whole.convergence_delta["integrated_gradients"], full_explanation.convergence_delta["integrated_gradients"], atol=1e-4)


def test_explain_maps_are_attribute_transposed(small_case, full_explanation):
    model, data = small_case
    direct = attribute(model, data.counts, "integrated_gradients", n_steps=4)  # (genes, bins, marks)
    np.testing.assert_allclose(full_explanation["integrated_gradients"], direct.transpose(0, 2, 1), rtol=1e-4, atol=1e-6)


def test_explain_probabilities_match_the_model(small_case, full_explanation):
    model, data = small_case
    with torch.no_grad():
        logits = model(torch.from_numpy(data.counts)).logits.numpy()
    np.testing.assert_allclose(full_explanation.logits, logits, rtol=1e-5)
    np.testing.assert_allclose(full_explanation.probabilities, 1 / (1 + np.exp(-logits)), rtol=1e-5)


def test_explain_accepts_paths_and_arrays(tmp_path, small_case):
    from attentivechrome.data import write_csv
    from attentivechrome.models.checkpoint import save_checkpoint

    model, data = small_case
    save_checkpoint(model, tmp_path / "m.pt")
    write_csv(data, tmp_path / "genes.csv")
    from_paths = explain(tmp_path / "m.pt", tmp_path / "genes.csv", "attention")
    from_array = explain(model, data.counts, "attention")
    np.testing.assert_allclose(from_paths["attention"], from_array["attention"], atol=1e-6)
    assert from_paths.gene_ids.tolist() == data.gene_ids.tolist()
    assert from_array.gene_ids[0] == "gene0" and from_array.labels is None


def test_to_frame_is_tidy_and_matches_the_arrays(full_explanation):
    frame = full_explanation.to_frame(["saliency"])
    assert list(frame.columns) == ["gene_id", "method", "mark", "bin", "value"]
    assert len(frame) == 7 * 5 * 16
    row = frame[(frame.gene_id == "g2") & (frame.mark == "H3K4me3") & (frame.bin == 16)]
    assert row.value.item() == pytest.approx(full_explanation["saliency"][2, MARKS.index("H3K4me3"), 15])


def test_iter_explanations_yields_batches_in_order(small_case):
    model, data = small_case
    parts = list(iter_module_explanations(model, data, "attention", options=ExplainOptions(batch_size=3), progress=False))
    assert [p.n_genes for p in parts] == [3, 3, 1]
    assert np.concatenate([p.gene_ids for p in parts]).tolist() == data.gene_ids.tolist()
    joined = Explanation.concat(parts)
    assert joined.subset(slice(2, 4)).gene_ids.tolist() == ["g2", "g3"]


class NoAttention(torch.nn.Module):
    n_marks = 5

    def forward(self, x):
        return ModelOutput(logits=x.sum(dim=(1, 2)))


def test_explain_errors_name_the_problem(small_case):
    model, data = small_case
    with pytest.raises(ValueError, match="NoAttention has no attention; choose other methods than attention"):
        explain(NoAttention(), data, "attention")
    with pytest.raises(ValueError, match="has 3 marks but the model expects 5"):
        explain(model, np.ones((2, 10, 3), dtype=np.float32), "saliency")
    with pytest.raises(KeyError, match="no 'occlusion' map in this explanation; it holds attention"):
        explain(model, data, "attention")["occlusion"]
    with pytest.raises(TypeError, match=r"model must be an nn.Module or a TrainedModel \(or the path of a run directory or checkpoint\), got int"):
        explain(3, data, "attention")
    from attentivechrome.interpret import explain_module  # the layer below: modules and TrainedModels only

    with pytest.raises(TypeError, match="load the model first"):
        explain_module("runs/somewhere", data, "attention")
    # a model without attention still gets attribution maps
    assert explain(NoAttention(), data, "saliency")["saliency"].shape == (7, 5, 16)


def test_class_averages_equal_the_plain_means(full_explanation, small_case):
    _, data = small_case
    ex = full_explanation
    averages = class_averages(ex, data.counts, by="label")
    high = data.labels == 1
    assert averages.n_genes.tolist() == [int(high.sum()), int((~high).sum())]
    np.testing.assert_allclose(averages.alpha[0], ex.alpha[high].mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(averages.beta[1], ex.beta[~high].mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(averages.signal[0], data.counts[high].mean(axis=0).T, atol=1e-5)
    profile = averages.profiles["saliency"]
    np.testing.assert_allclose(profile.sum(axis=2), 1.0, atol=1e-6)  # each mark's profile sums to 1 over bins

    # adding in two batches gives the same means
    averager = ClassAverager(by="label")
    averager.add(ex.subset(slice(0, 4)), data.counts[:4])
    averager.add(ex.subset(slice(4, 7)), data.counts[4:])
    np.testing.assert_allclose(averager.result().alpha, averages.alpha, atol=1e-7)


def test_class_averages_by_prediction_and_empty_class(full_explanation, small_case):
    _, data = small_case
    averages = class_averages(full_explanation, data.counts, by="predicted")
    predicted_high = full_explanation.logits >= 0
    assert averages.n_genes.tolist() == [int(predicted_high.sum()), int((~predicted_high).sum())]
    one_class = full_explanation.subset(np.flatnonzero(data.labels == 1))
    result = class_averages(one_class, data.counts[data.labels == 1], by="label")
    assert result.n_genes.tolist() == [4, 0] and np.isnan(result.alpha[1]).all()
    with pytest.raises(ValueError, match="cannot group by label: the genes have no labels"):
        class_averages(explain(small_case[0], data.counts, "attention"), data.counts, by="label")


def test_class_averages_by_rank_split_at_the_median_prediction(full_explanation, small_case):
    _, data = small_case
    averages = class_averages(full_explanation, data.counts, by="rank")
    assert averages.n_genes.tolist() == [4, 3]  # 7 genes: the median gene and those above it are high
    top = np.argsort(full_explanation.logits)[3:]
    np.testing.assert_allclose(averages.beta[0], full_explanation.beta[top].mean(axis=0), atol=1e-6)
    with pytest.raises(ValueError, match="grouping by rank needs the threshold"):
        ClassAverager(by="rank").add(full_explanation, data.counts)
    with pytest.raises(ValueError, match="by must be one of predicted, rank, label, got 'size'"):
        ClassAverager(by="size").add(full_explanation, data.counts)
