"""The baseline models: output contract, checkpoints, learning on an easy set, classical exactness."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from attentivechrome.data.dataset import HistoneData
from attentivechrome.data.schema import MARKS
from attentivechrome.exceptions import NotFittedError
from attentivechrome.models import MODEL_REGISTRY, get_model
from attentivechrome.models.checkpoint import save_checkpoint
from attentivechrome.trained import load_model
from attentivechrome.models.classical import (
    GradientBoostingBaseline,
    LinearBaseline,
    feature_names,
    histone_features,
    is_fitted_once,
    tss_window,
)
from attentivechrome.config import TrainConfig
from attentivechrome.training.trainer import train

NEURAL = ["attentivechrome", "lstm", "lstm-alpha", "cnn-attn", "cnn-alpha-beta", "deepchrome", "transformer"]
CLASSICAL = ["linear", "gbt"]
#: Which attention each neural model returns: (alpha, beta).
ATTENTION = {
    "attentivechrome": (True, True),
    "lstm": (False, False),
    "lstm-alpha": (True, False),
    "cnn-attn": (True, False),
    "cnn-alpha-beta": (True, True),
    "deepchrome": (False, False),
    "transformer": (True, False),
}


def _easy_splits(n_bins: int = 20, seed: int = 0) -> dict[str, HistoneData]:
    """Poisson background; expressed genes carry a strong H3K4me3 peak in the central bins."""
    rng = np.random.default_rng(seed)
    splits = {}
    for name, n in (("train", 160), ("valid", 80), ("test", 80)):
        labels = np.tile([0, 1], n // 2)
        counts = rng.poisson(1.0, size=(n, n_bins, len(MARKS))).astype(np.float32)
        centre = slice(n_bins // 2 - 2, n_bins // 2 + 2)
        counts[labels == 1, centre, MARKS.index("H3K4me3")] += rng.poisson(6.0, size=(int(labels.sum()), 4)).astype(np.float32)
        ids = np.array([f"{name}{i}" for i in range(n)])
        splits[name] = HistoneData(gene_ids=ids, counts=counts, labels=labels, marks=MARKS)
    return splits


@pytest.fixture(scope="module")
def easy_splits():
    return _easy_splits()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_registry_holds_every_family():
    assert set(NEURAL + CLASSICAL) <= set(MODEL_REGISTRY)
    assert is_fitted_once(get_model("gbt", n_marks=5, transform="none"))
    assert not is_fitted_once(get_model("lstm", n_marks=5, transform="none"))


@pytest.mark.parametrize("name", NEURAL, ids=NEURAL)
def test_neural_output_contract_and_rebuild(name):
    torch.manual_seed(0)
    model = get_model(name, n_marks=5, transform="log1p").eval()
    x = torch.poisson(torch.full((3, 30, 5), 2.0))
    out = model(x)
    assert out.logits.shape == (3,)
    has_alpha, has_beta = ATTENTION[name]
    assert (out.alpha is not None) == has_alpha and (out.beta is not None) == has_beta
    if has_alpha:
        assert out.alpha.shape == (3, 5, 30)
        torch.testing.assert_close(out.alpha.sum(dim=2), torch.ones(3, 5))
    if has_beta:
        assert out.beta.shape == (3, 5)
        torch.testing.assert_close(out.beta.sum(dim=1), torch.ones(3))
    # init_params() rebuilds the same architecture; the weights then give the same outputs.
    rebuilt = get_model(name, **model.init_params()).eval()
    rebuilt.load_state_dict(model.state_dict())
    torch.testing.assert_close(rebuilt(x).logits, out.logits)


def test_the_catalog_names_exactly_the_models_built_of_lstms():
    from attentivechrome.model_catalog import RECURRENT_MODELS

    built_of_lstms = {name for name in MODEL_REGISTRY if any(isinstance(m, torch.nn.LSTM) for m in get_model(name, n_marks=5).modules())}
    assert built_of_lstms == set(RECURRENT_MODELS)  # forget_bias reaches these (TrainConfig.for_model reads the catalog)


def test_deepchrome_has_the_published_size():
    model = get_model("deepchrome", n_marks=5, transform="none")
    # 50 filters of width 10 over 5 marks, 18 pooled positions, 625 and 125 hidden units, one logit.
    expected = (5 * 10 * 50 + 50) + (50 * 18 * 625 + 625) + (625 * 125 + 125) + (125 + 1)
    assert sum(p.numel() for p in model.parameters()) == expected


def test_transformer_drops_no_attention_weights_unless_asked():
    from attentivechrome.models.transformer import TransformerBaseline

    torch.manual_seed(0)
    model = TransformerBaseline(5).train()
    assert all(layer.self_attn.dropout == 0.0 for layer in model.encoder.layers)
    assert "attention_dropout" not in model.init_params()  # checkpoints stay as they were
    x = torch.rand(2, 20, 5)
    layer = model.encoder.layers[0]
    tokens = model.mark_embedding(x)
    with torch.no_grad():  # with the attention weights kept, self-attention gives the same output twice in training mode
        assert torch.equal(layer.self_attn(tokens, tokens, tokens)[0], layer.self_attn(tokens, tokens, tokens)[0])
    asked = TransformerBaseline(5, attention_dropout=0.2)
    assert asked.encoder.layers[1].self_attn.dropout == 0.2
    attention, tokens = asked.train().encoder.layers[0].self_attn, asked.mark_embedding(x)
    with torch.no_grad():
        assert not torch.equal(attention(tokens, tokens, tokens)[0], attention(tokens, tokens, tokens)[0])
    assert TransformerBaseline(**asked.init_params()).init_params() == asked.init_params()


@pytest.mark.parametrize("name", NEURAL + CLASSICAL, ids=NEURAL + CLASSICAL)
def test_each_model_beats_chance_on_an_easy_set(name, easy_splits):
    config = TrainConfig(model=name, epochs=4, batch_size=16, lr=3e-3, transform="log1p", device="cpu", seed=0)
    result = train(easy_splits, config, progress=False).record
    assert result.test_auroc > 0.8, f"{name}: test AUROC {result.test_auroc:.3f}"


def test_histone_features_by_hand():
    x = torch.zeros(1, 10, 2)
    x[0, 4, 1] = np.e - 1  # log1p -> 1 in the central window of mark 2
    features = histone_features(x)
    assert tss_window(10) == (4, 6)
    assert features.shape == (1, 2 * 10 + 2 * 5)
    names = feature_names(("a", "b"), 10)
    assert len(names) == features.shape[1]
    values = dict(zip(names, features[0].tolist()))
    assert values["b:bin5"] == pytest.approx(1.0)
    assert values["b:tss_mean"] == pytest.approx(0.5)  # one of the two central bins
    assert values["b:window_mean"] == pytest.approx(0.1)
    assert values["b:window_max"] == pytest.approx(1.0)
    assert values["b:left_mean"] == values["b:right_mean"] == values["a:tss_mean"] == 0.0


def test_linear_matches_scikit_learn(easy_splits):
    tr, va = easy_splits["train"], easy_splits["valid"]
    model = LinearBaseline(5).fit(tr.counts, tr.labels, va.counts, va.labels)
    features = histone_features(torch.from_numpy(tr.counts)).numpy()
    scaler = StandardScaler().fit(features)
    reference = LogisticRegression(C=model.strength_, max_iter=5000).fit(scaler.transform(features), tr.labels)
    valid = histone_features(torch.from_numpy(va.counts)).numpy()
    expected = reference.decision_function(scaler.transform(valid))
    np.testing.assert_allclose(model(torch.from_numpy(va.counts)).logits.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_gbt_trees_in_torch_match_scikit_learn(easy_splits):
    tr, va = easy_splits["train"], easy_splits["valid"]
    model = GradientBoostingBaseline(5, n_estimators=40).fit(tr.counts, tr.labels, va.counts, va.labels, seed=3)
    assert 1 <= model.n_trees <= 40
    reference = GradientBoostingClassifier(
        n_estimators=40, learning_rate=0.05, max_depth=3, subsample=0.8, max_features="sqrt", random_state=3
    ).fit(histone_features(torch.from_numpy(tr.counts)).numpy(), tr.labels)
    staged = list(reference.staged_decision_function(histone_features(torch.from_numpy(va.counts)).numpy()))
    expected = np.ravel(staged[model.n_trees - 1])
    np.testing.assert_allclose(model(torch.from_numpy(va.counts)).logits.numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", CLASSICAL, ids=CLASSICAL)
def test_classical_checkpoint_round_trip(name, easy_splits, tmp_path):
    tr, va = easy_splits["train"], easy_splits["valid"]
    model = get_model(name, n_marks=5, transform="none")
    with pytest.raises(NotFittedError, match="not fitted"):
        model(torch.from_numpy(va.counts))
    model.fit(tr.counts, tr.labels, va.counts, va.labels)
    save_checkpoint(model, tmp_path / "m.pt", n_bins=20)
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.model_name == name
    x = torch.from_numpy(va.counts)
    assert torch.equal(loaded.module(x).logits, model(x).logits)
    with pytest.raises(ValueError, match="fitted on .* features"):
        model(x[:, :12])


def test_classical_fit_rejects_unknown_task(easy_splits):
    tr = easy_splits["train"]
    with pytest.raises(ValueError, match="task must be one of classification, regression"):
        LinearBaseline(5).fit(tr.counts, tr.labels, tr.counts, tr.labels, task="ranking")
