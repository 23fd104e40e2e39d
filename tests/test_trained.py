"""TrainedModel: one object that checks data, decodes outputs for its task, explains, saves and loads."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

import attentivechrome as ac
from attentivechrome.config import TrainConfig
from attentivechrome.data.expression import read_expression
from attentivechrome.data.layout import load_splits
from attentivechrome.exceptions import BinCountWarning, ExtraMarksWarning, ModelDataMismatchError
from attentivechrome.trained import TargetScale, TrainedModel, load_model

QUICK = dict(epochs=2, batch_size=32, lr=3e-3, transform="log1p", device="cpu")


@pytest.fixture(scope="module")
def regression_training(sim_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("reg") / "run"
    return ac.train(load_splits(sim_dir, task="regression"), TrainConfig(model="attentivechrome", task="regression", **QUICK), out_dir=out, progress=False), out


@pytest.fixture(scope="module")
def regression_run(regression_training):
    result, out = regression_training
    return result.model, out


def test_train_returns_the_trained_model_beside_its_record(regression_training):
    (trained, record), out = regression_training
    assert isinstance(trained, TrainedModel) and trained.task == "regression"
    assert trained.config.task == "regression" and trained.config.epochs == 2
    assert record.best_epoch == trained.epoch and record.out_dir == out
    assert record.scores["test_pearson"] > 0.2 and np.isnan(record.test_auroc)
    assert trained.marks == ac.MARKS and trained.n_bins == 100 and trained.transform == "log1p"
    assert not hasattr(ac, "TrainResult") and not hasattr(trained, "model")  # the 0.1 names are gone: TrainedModel, .module
    assert not hasattr(trained, "record") and not hasattr(trained, "scores")  # the record is returned beside the model, not set on it
    assert not hasattr(ac, "load_checkpoint") and not hasattr(TrainedModel, "load")  # one loader: load_model


def test_regression_predictions_are_decoded_through_every_entry_point(regression_run, sim_dir):
    trained, out = regression_run
    test = ac.read_csv(sim_dir / "test.csv")
    expected = np.log1p(read_expression(sim_dir / "expression.csv").reindex(test.gene_ids).to_numpy())
    in_memory = trained.predict(test).values
    assert np.corrcoef(in_memory, expected)[0, 1] > 0.2 and abs(in_memory.mean() - expected.mean()) < 1.0  # the log1p scale, not 0..1
    loaded = load_model(out)
    assert (loaded.task, loaded.target_scale, loaded.config) == (trained.task, trained.target_scale, trained.config)
    np.testing.assert_allclose(loaded.predict(test).values, in_memory, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ac.predict(out, test).values, in_memory, rtol=1e-5, atol=1e-5)  # a path goes through TrainedModel too
    with pytest.raises(ValueError, match="regression model predicts log1p expression, not probabilities"):
        ac.predict(out, test).probabilities
    with pytest.raises(ValueError, match="is a regression model"):
        ac.AttentiveChromeClassifier.load(out).predict_proba(test)


def test_regression_explanations_are_in_log1p_expression_units(regression_run, sim_dir):
    trained, _ = regression_run
    test = ac.read_csv(sim_dir / "test.csv").subset(slice(0, 6))
    ex = trained.explain(test, ["attention", "integrated_gradients"], options=ac.ExplainOptions(n_steps=8))
    bare = ac.explain(trained.module, test, ["attention", "integrated_gradients"], options=ac.ExplainOptions(n_steps=8))
    std = trained.target_scale.std
    assert ex.task == "regression" and bare.task == "classification"
    np.testing.assert_allclose(ex.logits, trained.predict(test).values, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ex["integrated_gradients"], bare["integrated_gradients"] * std, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ex["attention"], bare["attention"], atol=1e-7)  # attention is not an output: unscaled
    np.testing.assert_allclose(ex.convergence_delta["integrated_gradients"], bare.convergence_delta["integrated_gradients"] * std, rtol=1e-4, atol=1e-6)


def test_the_module_level_core_refuses_a_trained_model(regression_run, sim_dir, tmp_path):
    """interpret.explain_module(trained_model) once stripped the model to its module: a classifier's probabilities, standardised maps."""
    from attentivechrome import interpret

    trained, _ = regression_run
    test = ac.read_csv(sim_dir / "test.csv").subset(slice(0, 4))
    with pytest.raises(TypeError, match=r"not explained by the module-level core.*call model.explain\(data\)"):
        interpret.explain_module(trained, test, "attention")
    with pytest.raises(TypeError, match=r"workflows.interpret_model\(model, data, out_dir\)"):
        interpret.write_interpretation(trained, test, tmp_path / "out")
    truth = ac.load_truth(sim_dir)
    with pytest.raises(TypeError, match=r"workflows.benchmark_model\(model, data, truth\)"):
        interpret.run_ground_truth_benchmark(trained, test, truth)
    # The core given the module, the prepared input and the output scale says what the model says.
    core = interpret.explain_module(trained.module, trained.prepare(test), ["attention", "saliency"], output=trained.output_scale)
    ex = trained.explain(test, ["attention", "saliency"])
    assert core.task == ex.task == "regression"
    np.testing.assert_allclose(core.logits, ex.logits, rtol=1e-6)
    np.testing.assert_allclose(core["saliency"], ex["saliency"], rtol=1e-5, atol=1e-7)
    assert abs(ex.values.mean() - trained.target_scale.mean) < 3 * trained.target_scale.std  # log1p values, not probabilities near 0.5


def _with_marks(data, order, names=None, source="cell.csv"):
    """``data`` with its mark columns taken in ``order`` (indices) and named ``names``."""
    marks = tuple(names or (data.marks[j] for j in order))
    return dataclasses.replace(data, counts=np.ascontiguousarray(data.counts[:, :, list(order)]), marks=marks, source=source)


def test_check_is_the_one_place_for_model_and_data_rules():
    model = TrainedModel.from_module(ac.get_model("attentivechrome", bin_hidden=4, mark_hidden=2), marks=ac.MARKS, n_bins=20)
    data, _ = ac.simulate(6, 20, seed=0)
    assert model.check(data) is data
    expected = model.predict(data).logits
    # Same marks in another order, names in another case: matched by name.
    shuffled = _with_marks(data, [4, 2, 0, 3, 1], names=["h3k9ME3", "H3K4me1", "H3K27me3", "H3K4me3", "H3K36me3"])
    np.testing.assert_allclose(model.predict(shuffled).logits, expected, rtol=1e-6)
    # Extra marks: ignored, with one warning naming them.
    extra = dataclasses.replace(data, counts=np.concatenate([data.counts, data.counts[:, :, :2]], axis=2), marks=(*data.marks, "H3K27ac", "H3K9ac"))
    with pytest.warns(ExtraMarksWarning, match="the marks H3K27ac, H3K9ac are not among the model's"):
        np.testing.assert_allclose(model.predict(extra).logits, expected, rtol=1e-6)
    # Missing marks: refused, naming them, by a model not trained for it.
    fewer = _with_marks(data, [0, 1, 3, 4], source="four.csv")
    with pytest.raises(ModelDataMismatchError, match=r"four.csv: lacks the marks H3K4me1 that the model reads .* --mark-dropout"):
        model.predict(fewer)
    with pytest.raises(ModelDataMismatchError, match="none of the model's"):
        model.check(dataclasses.replace(data, marks=("a", "b", "c", "d", "e")))
    longer, _ = ac.simulate(6, 30, seed=0)
    # Another bin count is refused (issue 13), unless allowed: then a warning.
    with pytest.raises(ModelDataMismatchError, match=r"has 30 bins per gene but the model was trained on 20; .* --allow-bin-mismatch"):
        model.predict(longer)
    with pytest.warns(BinCountWarning, match="has 30 bins per gene; the model was trained on 20"):
        model.check(longer, allow_bin_mismatch=True)
    with pytest.warns(BinCountWarning, match="has 30 bins per gene"):
        assert model.predict(longer, allow_bin_mismatch=True).logits.shape == (6,)  # a per-call option: the model is not changed
    assert not hasattr(model, "allow_bin_mismatch")
    with pytest.raises(ModelDataMismatchError, match="has 30 bins per gene"):
        model.explain(longer)
    with pytest.warns(BinCountWarning):
        assert model.explain(longer, allow_bin_mismatch=True).alpha.shape == (6, 5, 30)


def test_a_model_trained_for_missing_marks_takes_a_subset():
    module = ac.get_model("attentivechrome", bin_hidden=4, mark_hidden=2, missing_marks=True)
    model = TrainedModel.from_module(module, marks=ac.MARKS, n_bins=20)
    data, _ = ac.simulate(6, 20, seed=0)
    fewer = _with_marks(data, [0, 1, 3, 4])
    prepared = model.check(fewer)
    assert prepared.marks == ac.MARKS and np.isnan(prepared.counts[:, :, 2]).all()
    out = model.predict(fewer)
    assert np.isfinite(out.logits).all()
    np.testing.assert_allclose(out.beta[:, 2], 0.0) and np.testing.assert_allclose(out.beta.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(out.alpha[:, 2], 0.0)
    ex = model.explain(fewer, ["saliency", "integrated_gradients", "occlusion"], options=ac.ExplainOptions(n_steps=64, window=5))
    for method in ex.methods:  # nothing to attribute to an absent mark, and no NaN anywhere
        assert np.isfinite(ex[method]).all() and not ex[method][:, 2].any(), method
    # completeness holds with the absent mark absent in the baseline too
    gap = ex.convergence_delta["integrated_gradients"]
    assert np.isfinite(gap).all() and np.abs(gap).max() < 0.05 * max(1e-3, np.abs(ex["integrated_gradients"]).sum(axis=(1, 2)).max())


def test_save_load_round_trip_keeps_every_field(tmp_path):
    module = ac.get_model("cnn-attn", transform="log1p")
    config = TrainConfig(model="cnn-attn", task="regression", epochs=3)
    model = TrainedModel.from_module(module, marks=ac.MARKS, n_bins=100, task="regression", target_scale=TargetScale(2.0, 0.5), config=config, epoch=3)
    model.save(tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    for name in ("model_name", "marks", "n_bins", "task", "target_scale", "config", "epoch"):
        assert getattr(loaded, name) == getattr(model, name), name
    x = torch.rand(3, 100, 5)
    torch.testing.assert_close(loaded.module(x).logits, module.eval()(x).logits)
    assert not hasattr(loaded, "best_epoch")  # a training record is returned by train(), beside the model; a model holds none


def test_format_1_checkpoints_are_read_into_typed_fields(tmp_path):
    module = ac.get_model("linear")
    payload = {
        "format": "attentivechrome-checkpoint", "format_version": 1, "package_version": "0.1.0", "model_name": "linear",
        "model_params": module.init_params(), "marks": list(ac.MARKS), "n_bins": 100,
        "state_dict": module.state_dict(), "extra": {"epoch": 1, "task": "regression", "target_mean": 1.5, "target_std": 2.0},
    }  # fmt: skip
    torch.save(payload, tmp_path / "v1.pt")
    loaded = load_model(tmp_path / "v1.pt")
    assert (loaded.task, loaded.target_scale, loaded.epoch, loaded.config) == ("regression", TargetScale(1.5, 2.0), 1, None)
    np.testing.assert_allclose(loaded.decode(np.array([0.0, 1.0])), [1.5, 3.5])


def test_the_published_checkpoint_is_a_legacy_classifier(shared_data):
    loaded = load_model(shared_data / "reference-checkpoint-E003.pt")
    assert loaded.legacy and loaded.task == "classification" and loaded.target_scale is None and loaded.n_bins == 100
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 100 bins: no warning
        prediction = loaded.predict(ac.read_csv(shared_data / "remc-e003" / "classification" / "test.csv"))
    assert ((prediction.probabilities > 0) & (prediction.probabilities < 1)).all()


def test_interpretation_of_a_cell_lacking_a_mark(tmp_path, pyplot):
    from attentivechrome.workflows import interpret_model

    module = ac.get_model("attentivechrome", bin_hidden=4, mark_hidden=2, missing_marks=True)
    model = TrainedModel.from_module(module, marks=ac.MARKS, n_bins=20)
    data, _ = ac.simulate(8, 20, seed=1)
    fewer = _with_marks(data, [4, 0, 1, 3], source="four.csv")  # no H3K4me1, another order
    result = interpret_model(model, fewer, tmp_path / "out", methods="attention,saliency", options=ac.ExplainOptions(batch_size=4), tsv=False, max_gene_plots=1, progress=False)
    with np.load(tmp_path / "out" / "explanations.npz") as npz:
        assert npz["marks"].tolist() == list(ac.MARKS)  # the model's marks, in its order
        assert npz["saliency"].shape == (8, 5, 20) and not npz["saliency"][:, 2].any() and np.isfinite(npz["saliency"]).all()
        np.testing.assert_allclose(npz["beta"][:, 2], 0.0)
    assert result.n_genes == 8 and (tmp_path / "out" / "figures" / "class_profiles.png").is_file()
    assert len(list((tmp_path / "out" / "figures").glob("gene_*.png"))) == 2  # one gene pictured (absent mark included), with its methods
