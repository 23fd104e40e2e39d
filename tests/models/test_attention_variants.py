"""AttentiveChrome's attention modes (states, local, conv) and the attention-entropy term of the loss."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from attentivechrome.config import TrainConfig
from attentivechrome.data import load_splits
from attentivechrome.models import AttentiveChrome
from attentivechrome.trained import load_model
from attentivechrome.training.epochs import attention_entropy
from attentivechrome.training.trainer import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

MODES = ("states", "local", "conv")
TINY = dict(bin_hidden=8, mark_hidden=4, encoder="reference")  # the compiled kernel has its own tests


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """60 simulated genes of 20 bins."""
    from attentivechrome.data.synthetic import write_simulation

    out = tmp_path_factory.mktemp("tiny-sim")
    write_simulation(out, 60, 20, seed=0)
    return out


def _counts(genes=6, bins=30, seed=0):
    return torch.poisson(torch.full((genes, bins, 5), 3.0), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("mode", MODES)
def test_alpha_sums_to_one_and_every_parameter_learns(mode):
    torch.manual_seed(0)
    model = AttentiveChrome(attention=mode, **TINY)
    x = _counts()
    out = model(x)
    assert out.alpha.shape == (6, 5, 30) and (out.alpha >= 0).all()
    torch.testing.assert_close(out.alpha.sum(-1), torch.ones(6, 5))
    torch.testing.assert_close(out.beta.sum(-1), torch.ones(6))
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(out.logits, torch.tensor([0.0, 1, 0, 1, 1, 0]))
    (loss + attention_entropy(out.alpha)).backward()
    optimizer.step()
    unchanged = [name for name, p in model.named_parameters() if torch.equal(p, before[name])]
    assert not unchanged  # every parameter, the scorers' included, takes part in the prediction or the alpha term


@pytest.mark.parametrize("mode", ("local", "conv"))
def test_local_alpha_ranks_a_bin_by_its_own_reads_only(mode):
    """Changing reads far from a bin leaves that bin's score, so its weight relative to every other far bin, unchanged."""
    torch.manual_seed(0)
    model = AttentiveChrome(attention=mode, attention_window=5, **TINY).eval()
    x = _counts()
    changed = x.clone()
    changed[:, 20:, 0] += torch.poisson(torch.full((6, 10), 20.0))  # mark 0, bins 20-29
    with torch.no_grad():
        a, b = model(x).alpha, model(changed).alpha
    far = slice(0, 18)  # bins whose window (+-2) does not reach bin 20
    torch.testing.assert_close(a[:, 0, far] / a[:, 0, far].sum(-1, keepdim=True), b[:, 0, far] / b[:, 0, far].sum(-1, keepdim=True))
    torch.testing.assert_close(a[:, 1:], b[:, 1:])  # the other marks' alpha does not see mark 0
    assert not torch.allclose(a[:, 0, 20:], b[:, 0, 20:])  # the changed bins' own weights do move


def test_states_alpha_is_not_local():
    """The same check fails for the original attention: each BiLSTM state reads the whole window."""
    torch.manual_seed(0)
    model = AttentiveChrome(**TINY).eval()
    x = _counts()
    changed = x.clone()
    changed[:, 20:, 0] += torch.poisson(torch.full((6, 10), 20.0))
    with torch.no_grad():
        a, b = model(x).alpha[:, 0, :18], model(changed).alpha[:, 0, :18]
    assert not torch.allclose(a / a.sum(-1, keepdim=True), b / b.sum(-1, keepdim=True), atol=1e-5)


def test_defaults_are_the_original_network():
    model = AttentiveChrome()
    assert model.attention == "states" and "attention" not in model.init_params()
    assert not any(".scorer." in name or ".features." in name for name in model.state_dict())
    config = TrainConfig()
    assert (config.attention, config.attention_window, config.attention_entropy) == ("states", 5, 0.0)
    assert not {"attention", "attention_window", "attention_entropy"} & set(config.to_dict())  # records of default runs are as before
    assert TrainConfig.from_dict(TrainConfig().to_dict()).attention == "states"


def test_reference_weights_load_as_the_original_attention(shared_data):
    trained = load_model(shared_data / "reference-checkpoint-E003.pt")
    assert trained.module.attention == "states"


@pytest.mark.parametrize("mode", ("local", "conv"))
def test_a_trained_variant_saves_and_loads(tiny_dir, tmp_path, mode):
    config = TrainConfig(epochs=1, batch_size=16, device="cpu", attention=mode, attention_window=3, attention_entropy=0.1)
    train(load_splits(tiny_dir), config, out_dir=tmp_path / "run", progress=False)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["model_params"]["attention"] == mode and saved["model_params"]["attention_window"] == 3
    assert saved["train"]["attention"] == mode and saved["train"]["attention_entropy"] == 0.1
    trained = load_model(tmp_path / "run")
    assert (trained.module.attention, trained.module.attention_window) == (mode, 3)
    assert (trained.config.attention, trained.config.attention_entropy) == (mode, 0.1)
    x = torch.from_numpy(load_splits(tiny_dir)["test"].counts)
    with torch.no_grad():
        alpha = trained.module(x).alpha
    torch.testing.assert_close(alpha.sum(-1), torch.ones(alpha.shape[:2]))


@pytest.mark.slow
def test_entropy_term_makes_alpha_sparser(tiny_dir):
    splits = load_splits(tiny_dir)
    x = torch.from_numpy(splits["test"].counts)
    entropies = []
    for weight in (0.0, 2.0):
        result = train(splits, TrainConfig(epochs=3, batch_size=8, lr=1e-2, device="cpu", attention_entropy=weight), progress=False)
        with torch.no_grad():
            entropies.append(float(attention_entropy(result.model.module.eval()(x).alpha)))
    assert entropies[1] < entropies[0] - 0.05


def test_attention_entropy_runs_from_zero_to_one():
    uniform = torch.full((2, 3, 10), 0.1)
    one_hot = torch.zeros(2, 3, 10)
    one_hot[..., 4] = 1
    assert float(attention_entropy(uniform)) == pytest.approx(1.0)
    assert float(attention_entropy(one_hot)) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="needs a model with bin attention"):
        attention_entropy(None, "deepchrome")


def test_attention_settings_are_checked():
    with pytest.raises(ValueError, match="attention must be one of"):
        TrainConfig(attention="global")
    with pytest.raises(ValueError, match="must be odd"):
        TrainConfig(attention="local", attention_window=4)
    with pytest.raises(ValueError, match="apply to attentivechrome"):
        TrainConfig(model="lstm", attention="conv")
    assert TrainConfig(attention="conv").for_model("lstm").attention == "states"  # a benchmark of every model gives it to AttentiveChrome only
    with pytest.raises(ValueError, match="unknown attention 'global'"):
        AttentiveChrome(attention="global")
    with pytest.raises(ValueError, match="odd positive"):
        AttentiveChrome(attention="conv", attention_window=2)
