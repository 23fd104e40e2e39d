"""AttentiveChrome: shapes, attention sums, parameter layout, and the published weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attentivechrome.data import read_csv
from attentivechrome.metrics.classification import auroc
from attentivechrome.models import AttentiveChrome
from attentivechrome.trained import load_model


def test_output_shapes_and_attention_sums():
    torch.manual_seed(0)
    model = AttentiveChrome()
    x = torch.poisson(torch.full((7, 100, 5), 3.0))
    out = model(x)
    assert out.logits.shape == (7,)
    assert out.alpha.shape == (7, 5, 100)
    assert out.beta.shape == (7, 5)
    torch.testing.assert_close(out.alpha.sum(-1), torch.ones(7, 5))
    torch.testing.assert_close(out.beta.sum(-1), torch.ones(7))
    assert (out.alpha >= 0).all() and (out.beta >= 0).all()


def test_sizes_are_configurable_and_bins_free():
    model = AttentiveChrome(n_marks=3, bin_hidden=8, mark_hidden=4)
    out = model(torch.rand(2, 37, 3))
    assert out.alpha.shape == (2, 3, 37) and out.beta.shape == (2, 3)
    assert model.state_dict()["rnn_hms.0.bin_attention.bin_context_vector"].shape == (16, 1)


def test_parameter_names_shapes_and_init_range():
    model = AttentiveChrome()
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["rnn_hms.4.rnn.weight_ih_l0_reverse"] == (128, 1)
    assert shapes["rnn_hms.0.rnn.weight_hh_l0"] == (128, 32)
    assert shapes["rnn_hms.2.bin_attention.bin_context_vector"] == (64, 1)
    assert shapes["hm_level_rnn_1.rnn.weight_ih_l0"] == (64, 64)
    assert shapes["hm_level_rnn_1.rnn.weight_hh_l0_reverse"] == (64, 16)
    assert shapes["hm_level_rnn_1.bin_attention.bin_context_vector"] == (32, 1)
    assert shapes["fdiff1_1.weight"] == (1, 32) and shapes["fdiff1_1.bias"] == (1,)
    assert len(shapes) == 5 * 9 + 9 + 2
    values = torch.cat([p.flatten() for p in model.parameters()])
    assert values.abs().max() <= 0.1 and values.abs().max() > 0.09


def test_log1p_transform_is_applied_inside():
    torch.manual_seed(0)
    raw = AttentiveChrome()
    logged = AttentiveChrome(transform="log1p")
    logged.load_state_dict(raw.state_dict())
    x = torch.poisson(torch.full((3, 20, 5), 4.0))
    torch.testing.assert_close(logged(x).logits, raw(torch.log1p(x)).logits)
    with pytest.raises(ValueError, match="unknown input transform"):
        AttentiveChrome(transform="sqrt")


# ------------------------------------------------------------------ the published E003 weights


def _lstm_direction(x, w_ih, w_hh, b_ih, b_hh, reverse):
    """One LSTM direction written out from the gate equations; x is (steps, batch, features)."""
    steps, batch, _ = x.shape
    hidden = w_hh.shape[1]
    h = torch.zeros(batch, hidden, dtype=x.dtype)
    c = torch.zeros(batch, hidden, dtype=x.dtype)
    outputs = [None] * steps
    for t in (range(steps - 1, -1, -1) if reverse else range(steps)):
        gates = x[t] @ w_ih.T + b_ih + h @ w_hh.T + b_hh
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outputs[t] = h
    return torch.stack(outputs)  # (steps, batch, hidden)


def _original_forward(state, counts):
    """The original computation, step by step in float64, sequence-first as the original lays it out."""
    s = {k: v.double() for k, v in state.items()}
    x = torch.from_numpy(counts).double()  # (genes, bins, marks)

    def encoder(prefix, seq):  # seq: (steps, genes, features)
        fwd = _lstm_direction(seq, s[f"{prefix}.rnn.weight_ih_l0"], s[f"{prefix}.rnn.weight_hh_l0"],
                              s[f"{prefix}.rnn.bias_ih_l0"], s[f"{prefix}.rnn.bias_hh_l0"], False)
        bwd = _lstm_direction(seq, s[f"{prefix}.rnn.weight_ih_l0_reverse"], s[f"{prefix}.rnn.weight_hh_l0_reverse"],
                              s[f"{prefix}.rnn.bias_ih_l0_reverse"], s[f"{prefix}.rnn.bias_hh_l0_reverse"], True)
        h = torch.cat([fwd, bwd], dim=2).permute(1, 0, 2)  # (genes, steps, 2*hidden)
        weights = torch.softmax((h @ s[f"{prefix}.bin_attention.bin_context_vector"])[..., 0], dim=1)
        return (weights[..., None] * h).sum(1), weights

    mark_vectors = [encoder(f"rnn_hms.{m}", x[:, :, m].T[..., None])[0] for m in range(x.shape[2])]
    level1 = torch.stack(mark_vectors, dim=0)  # (marks, genes, 64)
    gene_vector, _ = encoder("hm_level_rnn_1", level1)
    return (gene_vector @ s["fdiff1_1.weight"].T + s["fdiff1_1.bias"])[:, 0]


@pytest.fixture(scope="module")
def e003(shared_data):
    return load_model(shared_data / "reference-checkpoint-E003.pt")


def test_reference_checkpoint_loads_quietly(shared_data, recwarn):
    loaded = load_model(shared_data / "reference-checkpoint-E003.pt")
    assert loaded.n_bins == 100  # the original layout, so other bin counts get a warning
    assert not [w for w in recwarn if "pickle protocol" in str(w.message)]


def test_reference_checkpoint_matches_original_computation(e003, shared_data):
    assert e003.legacy and e003.marks[3] == "H3K4me3"
    test = read_csv(shared_data / "remc-e003" / "classification" / "test.csv")
    counts = test.counts[:60]
    state = torch.load(shared_data / "reference-checkpoint-E003.pt", weights_only=True)
    expected = torch.sigmoid(_original_forward(state, counts)).numpy()
    with torch.no_grad():
        got = torch.sigmoid(e003.module(torch.from_numpy(counts)).logits).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("cell,expected", [("remc-e003", 0.8972), ("remc-e123", 0.9532)])
def test_reference_checkpoint_test_auroc(e003, shared_data, cell, expected):
    test = read_csv(shared_data / cell / "classification" / "test.csv")
    with torch.no_grad():
        logits = e003.module(torch.from_numpy(test.counts)).logits.numpy()
    assert auroc(test.labels, logits) == pytest.approx(expected, abs=5e-5)
