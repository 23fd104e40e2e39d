"""The fast bin-level encoder computes what the per-mark nn.LSTM reference computes.

Outputs must agree to 1e-5 and gradients to 1e-4 (float32, CPU), for the default sizes and
for odd ones (batch sizes that leave a tail row, other bin, mark and hidden counts).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attentivechrome import _settings
from attentivechrome.models import AttentiveChrome, _fast_lstm
from attentivechrome.trained import load_model


OUT_TOL = dict(atol=1e-5, rtol=0)
GRAD_TOL = dict(atol=1e-4, rtol=0)


@pytest.fixture(autouse=True)
def _kernel_and_one_torch_thread():
    """Skip without a C++ compiler; run with one PyTorch thread (the reference nn.LSTM is slow with
    OpenMP threads on a busy machine, and the results do not depend on it)."""
    from attentivechrome import _settings

    if _fast_lstm.kernel_library(32) is None:
        pytest.skip("no C++ compiler: the fast kernel is unavailable")
    with _settings.torch_threads(1):
        yield


def _pair(seed: int = 0, **params) -> tuple[AttentiveChrome, AttentiveChrome]:
    torch.manual_seed(seed)
    reference = AttentiveChrome(encoder="reference", **params)
    fast = AttentiveChrome(encoder="fast", **params)
    fast.load_state_dict(reference.state_dict())
    return reference, fast


def _counts(genes: int, bins: int = 100, marks: int = 5, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    rates = torch.rand(genes, bins, marks, generator=generator) * 6
    return torch.poisson(rates, generator=generator)


def _assert_outputs_close(reference, fast, x):
    with torch.no_grad():
        expected, got = reference(x), fast(x)
    for name, a, b in zip(expected._fields, expected, got):
        assert a.shape == b.shape, name
        torch.testing.assert_close(b, a, **OUT_TOL, msg=name)


def _loss_gradients(model, x, y):
    model.zero_grad(set_to_none=True)
    out = model(x)
    # Use every output so that the alpha and beta paths are checked as well as the logits.
    loss = torch.nn.functional.binary_cross_entropy_with_logits(out.logits, y) + (out.alpha**2).sum() + out.beta[:, 0].sum()
    loss.backward()
    return {name: p.grad.clone() for name, p in model.named_parameters()}


@pytest.mark.parametrize("genes", [1, 3, 16, 37])
def test_outputs_match_reference(genes):
    reference, fast = _pair(init_range=0.3)
    _assert_outputs_close(reference, fast, _counts(genes))


@pytest.mark.parametrize(
    "params,bins,marks",
    [({"bin_hidden": 8, "mark_hidden": 4}, 37, 3), ({"bin_hidden": 20, "transform": "log1p"}, 100, 5), ({}, 200, 5)],
    ids=["hidden8-bins37-marks3", "hidden20-log1p", "bins200"],
)
def test_outputs_match_reference_other_sizes(params, bins, marks):
    reference, fast = _pair(n_marks=marks, init_range=0.3, **params)
    _assert_outputs_close(reference, fast, _counts(5, bins, marks))


@pytest.mark.parametrize("genes", [2, 17])
def test_gradients_match_reference(genes):
    reference, fast = _pair(seed=1, init_range=0.3)
    x, y = _counts(genes, seed=2), (torch.arange(genes) % 2).float()
    expected, got = _loss_gradients(reference, x, y), _loss_gradients(fast, x, y)
    assert expected.keys() == got.keys()
    for name in expected:
        torch.testing.assert_close(got[name], expected[name], **GRAD_TOL, msg=name)


def test_input_gradients_match_reference():
    reference, fast = _pair(seed=3, init_range=0.3)
    x = _counts(4, seed=4)
    grads = []
    for model in (reference, fast):
        inputs = x.clone().requires_grad_(True)
        model(inputs).logits.sum().backward()
        grads.append(inputs.grad)
    torch.testing.assert_close(grads[1], grads[0], **GRAD_TOL)


def test_published_weights_give_the_same_predictions(shared_data):
    from attentivechrome.data import read_csv

    model = load_model(shared_data / "reference-checkpoint-E003.pt").module
    x = torch.from_numpy(read_csv(shared_data / "remc-e003" / "classification" / "test.csv").counts)
    with torch.no_grad():
        model.encoder = "reference"
        expected = model(x)
        model.encoder = "fast"
        got = model(x)
    for name, a, b in zip(expected._fields, expected, got):
        torch.testing.assert_close(b, a, **OUT_TOL, msg=name)


def test_state_dict_and_init_params_do_not_change():
    reference, fast = _pair()
    assert list(fast.state_dict()) == list(reference.state_dict())
    assert fast.init_params() == reference.init_params()
    assert "encoder" not in fast.init_params()
    assert AttentiveChrome().encoder == "fast"


def test_unknown_encoder_is_rejected():
    with pytest.raises(ValueError, match="unknown encoder 'cudnn'; choose one of fast, reference"):
        AttentiveChrome(encoder="cudnn")


def test_thread_count_does_not_change_results():
    _, fast = _pair(init_range=0.3)
    x = _counts(9)
    results = []
    try:
        for threads in (1, 3):
            _settings.set_num_threads(threads)
            with torch.no_grad():
                results.append(fast(x).logits)
    finally:
        _settings.set_num_threads(None)
    assert torch.equal(results[0], results[1])


def test_falls_back_to_reference_when_hooked_or_double():
    reference, fast = _pair(init_range=0.3)
    x = _counts(3)
    seen = []
    handle = fast.rnn_hms[0].rnn.register_forward_hook(lambda module, inputs, output: seen.append(output[0].shape))
    try:
        with torch.no_grad():
            fast(x)
    finally:
        handle.remove()
    assert seen == [(3, 100, 64)]  # the hooked nn.LSTM ran
    with torch.no_grad():
        torch.testing.assert_close(fast.double()(x.double()).logits, reference.double()(x.double()).logits)


def test_falls_back_when_the_kernel_is_unavailable(monkeypatch):
    reference, fast = _pair(init_range=0.3)
    monkeypatch.setattr(_fast_lstm, "kernel_library", lambda hidden: None)
    x = _counts(3)
    with torch.no_grad():
        torch.testing.assert_close(fast(x).logits, reference(x).logits, atol=0, rtol=0)


def test_training_mode_backward_twice_raises_eval_mode_allows_it():
    _, fast = _pair()
    x = _counts(2)
    out = fast.train()(x).logits.sum()
    out.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="ran twice in training mode"):
        out.backward()
    out = fast.eval()(x.clone().requires_grad_(True)).logits.sum()
    out.backward(retain_graph=True)
    out.backward()


@pytest.mark.parametrize("load,own,expected", [(0.1, 1, 2), (2.0, 2, 2), (3.1, 2, 1), (2.2, 1, 1), (1.2, 1, 2), (9.0, 1, 1)])
def test_threads_follow_the_other_processes_load(load, own, expected):
    assert _settings.threads_for_load(2, load, own) == expected


def test_threads_count_what_other_processes_use_now_not_the_lagging_load_average(monkeypatch):
    """A previous run that just ended still holds the 1-minute load up; the CPU time measured since counts only what runs now."""
    monkeypatch.setattr(_settings, "load_average", lambda: 1.9)  # the run before this one, finished seconds ago
    monkeypatch.setattr(_settings, "usable_cores", lambda: 2)
    samples = iter([(100.0, 500.0, 3.0), (102.0, 502.1, 5.0), (104.0, 506.0, 6.9)])  # (wall, machine busy, own) seconds
    monkeypatch.setattr(_settings, "cpu_sample", lambda: next(samples))
    monkeypatch.setitem(_settings._since, "sample", (99.0, 499.0, 2.0))
    assert _settings.others_busy((99.0, 499.0, 2.0), (100.0, 500.0, 3.0)) == 0.0  # all the busy time was ours
    assert _settings.free_cores() == 2  # idle but for us: both cores, although the load average says 1.9
    assert _settings.free_cores() == 2  # 2.1 s busy in 2 s, 2 of them ours
    assert _settings.free_cores() == 1  # 3.9 s busy in 2 s, 1.9 ours: another process holds a core
    monkeypatch.setattr(_settings, "cpu_sample", lambda: None)  # no /proc/stat: the load average decides
    monkeypatch.setitem(_settings._since, "sample", None)
    assert _settings.free_cores() == 1


def test_thread_setting_is_validated():
    with pytest.raises(ValueError, match="positive integer or None, got 0"):
        _settings.set_num_threads(0)


def test_kernel_builds_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTENTIVECHROME_CACHE_DIR", str(tmp_path))
    first = _fast_lstm._build(12)
    stamp = first.stat().st_mtime_ns
    assert first.parent == tmp_path / "kernels"
    assert _fast_lstm._build(12) == first and first.stat().st_mtime_ns == stamp
    library = _fast_lstm._load(first, 12)
    assert library.acx_hidden_size() == 12
    assert np.isfinite(library.acx_vector_width())


def test_workspace_keeps_two_buffers_per_shape_within_its_byte_budget():
    workspace = _fast_lstm._Workspace(max_bytes=3 * 4096)
    a, b, c = torch.empty(1024), torch.empty(1024), torch.empty(1024)  # 4 KB each
    workspace.give(a, b, c)
    assert workspace.nbytes() == 2 * 4096
    assert workspace.take(1024) is b and workspace.take(1024) is a
    assert workspace.take(1024) is not c  # not kept: a fresh tensor
    workspace.give(a)
    workspace.give(torch.empty(2048))  # 8 KB: 12 KB in all, the budget
    assert workspace.nbytes() == 3 * 4096
    workspace.give(torch.empty(512))  # over budget: the oldest shape goes
    assert workspace.nbytes() == 2048 * 4 + 512 * 4
    workspace.clear()
    assert workspace.nbytes() == 0


def test_lstm_alpha_uses_the_kernel_with_the_same_outputs_and_gradients():
    from attentivechrome.models.lstm import LSTMAlpha

    torch.manual_seed(5)
    reference = LSTMAlpha(5, transform="log1p", encoder="reference")
    fast = LSTMAlpha(5, transform="log1p")
    fast.load_state_dict(reference.state_dict())
    x, y = _counts(9, seed=6), (torch.arange(9) % 2).float()
    results = []
    for model in (reference, fast):
        model.zero_grad(set_to_none=True)
        out = model(x)
        (torch.nn.functional.binary_cross_entropy_with_logits(out.logits, y) + (out.alpha**2).sum()).backward()
        results.append((out.logits.detach(), out.alpha.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}))
    (logits_ref, alpha_ref, grads_ref), (logits_fast, alpha_fast, grads_fast) = results
    torch.testing.assert_close(logits_fast, logits_ref, **OUT_TOL)
    torch.testing.assert_close(alpha_fast, alpha_ref, **OUT_TOL)
    for name in grads_ref:
        torch.testing.assert_close(grads_fast[name], grads_ref[name], **GRAD_TOL, msg=name)
    assert "encoder" not in fast.init_params()


def test_an_avx2_build_computes_the_same_as_the_native_one(tmp_path, monkeypatch):
    """ATTENTIVECHROME_KERNEL_ARCH builds for another CPU (here what an AVX2 machine without AVX-512 runs)."""
    import subprocess

    probe = subprocess.run(["c++", "-march=x86-64-v3", "-E", "-x", "c++", "-"], input="", capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("the compiler does not know -march=x86-64-v3")
    monkeypatch.setenv("ATTENTIVECHROME_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv(_fast_lstm.ARCH_ENV, "x86-64-v3")
    avx2 = _fast_lstm._load(_fast_lstm._build(32), 32)
    assert avx2.acx_vector_width() == 8  # eight floats per vector: AVX2, not AVX-512
    reference, fast = _pair(seed=7, init_range=0.3)
    x = _counts(6, seed=8)
    monkeypatch.setitem(_fast_lstm._libraries, 32, avx2)
    _assert_outputs_close(reference, fast, x)
