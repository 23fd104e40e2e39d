"""Attribution methods: exact values on a hand-built linear model, and recovery of a planted rule by a trained LSTM."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from attentivechrome.interpret import ATTRIBUTION_METHODS, attribute, check_methods
from attentivechrome.models import AttentiveChrome, ModelOutput


class LinearOnCells(nn.Module):
    """logit = sum over cells of w * x, with w nonzero only on the planted cells: gradients are w."""

    def __init__(self, n_bins: int = 20, n_marks: int = 5) -> None:
        super().__init__()
        weight = torch.zeros(n_bins, n_marks)
        weight[5:10, 3] = torch.tensor([1.0, 2.0, -1.0, 0.5, 3.0])
        self.register_buffer("weight", weight)
        self.n_marks = n_marks

    def forward(self, x: torch.Tensor) -> ModelOutput:
        return ModelOutput(logits=(x * self.weight).sum(dim=(1, 2)))


@pytest.fixture
def linear_case():
    rng = np.random.default_rng(0)
    x = rng.poisson(3.0, size=(4, 20, 5)).astype(np.float32)
    model = LinearOnCells()
    return model, x, model.weight.numpy()


def test_saliency_of_linear_model_is_abs_weight(linear_case):
    model, x, w = linear_case
    result = attribute(model, x, "saliency")
    assert result.shape == x.shape
    np.testing.assert_allclose(result, np.broadcast_to(np.abs(w), x.shape), atol=1e-6)


@pytest.mark.parametrize("method", ["input_x_gradient", "integrated_gradients", "deeplift"])
def test_linear_model_attribution_is_input_times_weight(linear_case, method):
    model, x, w = linear_case
    result = attribute(model, x, method, n_steps=4)
    np.testing.assert_allclose(result, x * w, rtol=1e-5, atol=1e-4)
    # nothing outside the planted cells
    outside = np.ones_like(w, dtype=bool)
    outside[5:10, 3] = False
    assert np.all(result[:, outside] == 0)


def test_integrated_gradients_is_complete_on_linear_model(linear_case):
    model, x, _ = linear_case
    values, delta = attribute(model, x, "integrated_gradients", n_steps=8, return_convergence_delta=True)
    assert delta.shape == (4,)
    assert np.abs(delta).max() < 1e-3
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).logits.numpy()
    np.testing.assert_allclose(values.sum(axis=(1, 2)), logits, rtol=1e-4)


def test_occlusion_of_linear_model_gives_each_cell_its_window_total(linear_case):
    model, x, w = linear_case
    result = attribute(model, x, "occlusion", window=5)
    # the window covering bins 5..9 of mark 3 holds the whole logit; every cell in it gets that total
    window_total = (x[:, 5:10, 3] * w[5:10, 3]).sum(axis=1)
    np.testing.assert_allclose(result[:, 5:10, 3], np.repeat(window_total[:, None], 5, axis=1), rtol=1e-5)
    result[:, 5:10, 3] = 0
    assert np.all(result == 0)


def test_attribute_keeps_tensor_type_and_the_models_mode(linear_case):
    model, x, _ = linear_case
    model.train()
    result = attribute(model, torch.from_numpy(x), "saliency")
    assert isinstance(result, torch.Tensor) and result.shape == x.shape
    assert model.training


@pytest.mark.parametrize("method", ["integrated_gradients", "occlusion"])
def test_trained_lstm_attributions_find_the_planted_cells(planted_model, method):
    """A trained AttentiveChrome depends only on H3K4me3 bins 8-11; the attribution must say so."""
    data, mark, bins = planted_model.data, planted_model.mark, planted_model.bins
    high = data.labels == 1  # the genes where the rule fires
    values = np.abs(attribute(planted_model.model, data.counts[high], method, n_steps=16, window=2))  # (genes, bins, marks)
    share_per_mark = values.sum(axis=(0, 1)) / values.sum()
    assert share_per_mark[mark] > 0.8, share_per_mark
    planted = values[:, bins, mark].mean()
    elsewhere = np.delete(values[:, :, mark], np.arange(data.n_bins)[bins], axis=1).mean()
    assert planted > 5 * elsewhere, (planted, elsewhere)


def test_input_x_gradient_localises_the_planted_bins_within_the_mark(planted_model):
    """Weaker than the two above (the gradient of a saturated model is small), but still inside the peak."""
    data, mark, bins = planted_model.data, planted_model.mark, planted_model.bins
    values = np.abs(attribute(planted_model.model, data.counts[data.labels == 1], "input_x_gradient"))
    planted = values[:, bins, mark].mean()
    elsewhere = np.delete(values[:, :, mark], np.arange(data.n_bins)[bins], axis=1).mean()
    assert planted > 2 * elsewhere, (planted, elsewhere)


def test_deeplift_reduces_to_input_x_gradient_on_the_lstm(planted_model):
    """Captum cannot hook the gates inside nn.LSTM, so DeepLift with a zero baseline is input x gradient."""
    x = planted_model.data.counts[:8]
    deeplift = attribute(planted_model.model, x, "deeplift")
    product = attribute(planted_model.model, x, "input_x_gradient")
    np.testing.assert_allclose(deeplift, product, rtol=1e-5, atol=1e-6)


def test_attention_model_attribution_shapes_for_every_method():
    torch.manual_seed(0)
    model = AttentiveChrome(5, bin_hidden=3, mark_hidden=2)
    x = np.random.default_rng(1).poisson(2.0, size=(3, 12, 5)).astype(np.float32)
    for method in ATTRIBUTION_METHODS:
        result = attribute(model, x, method, n_steps=2, window=3, stride=2)
        assert result.shape == x.shape, method
        assert np.isfinite(result).all(), method


def test_attribute_rejects_bad_requests(linear_case):
    model, x, _ = linear_case
    with pytest.raises(ValueError, match="unknown attribution method 'gradcam'; choose from saliency"):
        attribute(model, x, "gradcam")
    with pytest.raises(ValueError, match="saliency has no convergence delta"):
        attribute(model, x, "saliency", return_convergence_delta=True)
    with pytest.raises(ValueError, match=r"inputs must have shape \(genes, bins, marks\), got \(20, 5\)"):
        attribute(model, x[0], "saliency")
    with pytest.raises(ValueError, match="window must be between 1 and the 20 bins, got 50"):
        attribute(model, x, "occlusion", window=50)


def test_check_methods_parses_and_rejects():
    assert check_methods("attention, saliency") == ("attention", "saliency")
    assert check_methods(["occlusion"]) == ("occlusion",)
    with pytest.raises(ValueError, match="unknown method 'lime'; choose from attention"):
        check_methods("attention,lime")
    with pytest.raises(ValueError, match="method 'saliency' given twice"):
        check_methods("saliency,saliency")
    with pytest.raises(ValueError, match="no method given"):
        check_methods(" , ")
