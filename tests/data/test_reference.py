"""The reference-expression table, the gene prior, and the models that read it beside the marks."""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pandas as pd
import pytest

from attentivechrome.config import TrainConfig
from attentivechrome.data.layout import load_splits
from attentivechrome.data.reference import ES_EPIGENOMES, epigenome_of, parse_exclude, read_reference, usable_columns
from attentivechrome.interpret import ExplainOptions
from attentivechrome.exceptions import InputFormatError, ModelDataMismatchError, ReferenceWarning
from attentivechrome.trained import load_model
from attentivechrome.training.trainer import train

TABLE = "roadmap-expression/rpkm.tsv.gz"


@pytest.fixture(scope="module")
def compendium(shared_data) -> pd.DataFrame:
    """The shared compendium as a frame (gene_id index, one column per epigenome)."""
    return pd.read_csv(shared_data / TABLE, sep="\t", index_col=0)


@pytest.fixture(scope="module")
def k562(shared_data):
    """remc-e123 (K562, Roadmap E123): three splits of 200 genes, labelled 0/1, and its log1p expression."""
    return shared_data / "remc-e123"


def write_table(frame: pd.DataFrame, path, sep="\t") -> None:
    frame.to_csv(path, sep=sep, index_label="gene_id", float_format="%.4f")


def test_cell_names_map_to_epigenomes_and_es_expands():
    assert epigenome_of("roadmap-e012") == "E012" and epigenome_of("/data/remc-E123/") == "E123" and epigenome_of("E003") == "E003"
    assert epigenome_of("mycell") is None and epigenome_of("e1234x") is None
    assert parse_exclude("es, e127") == (*ES_EPIGENOMES, "E127")


def test_the_cells_own_column_changes_nothing_even_when_it_is_the_answer(k562, compendium, tmp_path):
    """A table whose E123 column IS the answer trains and predicts exactly as the table without that column."""
    splits = load_splits(k562, task="regression")
    genes = np.concatenate([splits[s].gene_ids for s in splits])
    answer = pd.Series(np.concatenate([np.expm1(splits[s].labels) for s in splits]), index=genes)
    leaky = compendium.copy()
    leaky["E123"] = answer.reindex(leaky.index).fillna(0.0) * 1000.0  # the cell's own expression, scaled
    write_table(leaky, tmp_path / "leaky.tsv")
    write_table(leaky.drop(columns="E123"), tmp_path / "clean.tsv")
    leaky_table, clean_table = read_reference(tmp_path / "leaky.tsv"), read_reference(tmp_path / "clean.tsv")
    assert "E123" in leaky_table.columns and usable_columns(leaky_table, "remc-e123") == clean_table.columns
    for model, task in (("linear", "regression"), ("gbt", "deviation"), ("attentivechrome", "classification")):
        data = load_splits(k562, task="classification" if task == "classification" else "regression")
        config = TrainConfig(model=model, task=task, reference="new-cell", preset="original", epochs=2, device="cpu")
        with_leak, leak_record = train(data, config, reference=leaky_table, cell="remc-e123", progress=False)
        without, clean_record = train(data, config, reference=clean_table, cell="remc-e123", progress=False)
        assert leak_record.scores == pytest.approx(clean_record.scores, rel=1e-6), model
        np.testing.assert_allclose(
            with_leak.with_reference(leaky_table, "remc-e123").predict(data["test"]).values,
            without.with_reference(clean_table, "remc-e123").predict(data["test"]).values, rtol=1e-5, atol=1e-6,
        )  # fmt: skip
    # Named another way, the leak would be read: the cell's name is what keeps it out.
    assert "E123" in usable_columns(leaky_table, "some-other-cell")


def test_fitted_mode_reads_every_other_column_and_refuses_a_cell_it_reads(k562, shared_data):
    table = read_reference(shared_data / TABLE)
    data = load_splits(k562)
    config = TrainConfig(model="linear", reference="fitted", reference_exclude=("E003",))
    trained = train(data, config, reference=table, cell="remc-e123", progress=False).model
    assert trained.module.n_prior == 1 + len(table.columns) - 2  # the mean, then every column but E123 and E003
    assert "E123" not in trained.reference["columns"] and "E003" not in trained.reference["columns"]
    with pytest.raises(ModelDataMismatchError, match="E012"):
        trained.with_reference(table, "roadmap-e012")  # a fitted model would read E012's own column
    assert trained.with_reference(table, "remc-e123").predict(data["test"]).values.shape == (200,)


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("gene_id\tE001\nG1\t1.0\nG1\t2.0\n", 3, "gene 'G1' is listed twice"),
        ("gene_id\tE001\tE002\nG1\t1.0\tx\n", 2, r"column E002: expected an RPKM value .* got 'x'"),
        ("gene_id\tE001\nG1\t-1\n", 2, "got '-1'"),
        ("gene_id\tE001\nG1\tnan\n", 2, "got 'nan'"),
        ("name\tE001\nG1\t1\n", 1, "the header must start with gene_id"),
        ("gene_id\n", 1, "has no epigenome column"),
        ("gene_id\tE001\tE001\nG1\t1\t2\n", 1, "column 'E001' is named twice"),
        ("", 1, "is empty"),
        ("gene_id,E001,E002\nG1,1,2\nG2,1,2,3\n", 3, "expected 3 fields"),
    ],
)
def test_a_bad_table_names_the_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "table.tsv"
    path.write_text(text)
    with pytest.raises(InputFormatError, match=message) as caught:
        read_reference(path)
    assert caught.value.path == str(path) and caught.value.line == line


def test_comma_gzip_and_missing_genes(tmp_path, compendium):
    part = compendium.iloc[:50, :5]
    with gzip.open(tmp_path / "t.csv.gz", "wt") as handle:
        part.to_csv(handle, index_label="gene_id")
    table = read_reference(tmp_path / "t.csv.gz")
    assert table.columns == tuple(part.columns) and table.rpkm.shape == (50, 5)
    prior = table.prior_for("E003")
    genes = np.array([part.index[0], "ENSG_NOT_THERE", part.index[1]])
    with pytest.warns(ReferenceWarning, match="1 of 3 genes are not in the reference table"):
        raw = prior.raw_features(genes)
    expected_mean = np.log1p(part.loc[part.index[0]].drop("E003")).mean()
    assert raw[0, 0] == pytest.approx(expected_mean) and np.all(np.isfinite(raw))
    with pytest.raises(ValueError, match="no column left"):
        table.prior_for("E003", exclude=tuple(part.columns))


def test_deviation_targets_and_scores(k562, shared_data):
    table = read_reference(shared_data / TABLE)
    data = load_splits(k562, task="regression")
    trained, record = train(data, TrainConfig(model="linear", task="deviation", reference="new-cell"), reference=table, cell="remc-e123", progress=False)
    bound = trained.with_reference(table, "remc-e123")
    predictions = bound.predict(data["test"])
    prior = table.prior_for("remc-e123").baseline(data["test"].gene_ids)
    np.testing.assert_allclose(predictions.baseline, prior, rtol=1e-5)
    deviation = data["test"].labels - prior
    assert record.scores["test_pearson"] == pytest.approx(np.corrcoef(deviation, predictions.values)[0, 1], abs=1e-4)
    rebuilt = np.corrcoef(data["test"].labels, predictions.values + prior)[0, 1]
    assert record.scores["test_expression_pearson"] == pytest.approx(rebuilt, abs=1e-4)
    with pytest.raises(ValueError, match="needs a reference-expression table"):
        TrainConfig(task="deviation")
    with pytest.raises(ValueError, match="needs a reference-expression table"):
        TrainConfig(model="prior")


@pytest.mark.parametrize("model", ["attentivechrome", "deepchrome", "gbt", "prior"])
def test_reference_models_save_load_and_need_their_table(k562, shared_data, tmp_path, model):
    table = read_reference(shared_data / TABLE)
    data = load_splits(k562)
    config = TrainConfig(model=model, reference="new-cell", preset="original", epochs=2, device="cpu")
    trained = train(data, config, reference=table, cell="remc-e123", out_dir=tmp_path / "run", progress=False).model
    loaded = load_model(tmp_path / "run")
    assert loaded.reference["checksum"] == table.checksum and loaded.reference["features"] == ["mean", "sd", "max", "frac_expressed"]
    with pytest.raises(ModelDataMismatchError, match="reads a reference-expression prior"):
        loaded.predict(data["test"])
    np.testing.assert_allclose(
        loaded.with_reference(table, "remc-e123").predict(data["test"]).values, trained.with_reference(table, "remc-e123").predict(data["test"]).values, rtol=1e-5
    )
    other = read_reference(_small_copy(shared_data / TABLE, tmp_path / "other.tsv"))
    with pytest.raises(ModelDataMismatchError, match="is not the reference-expression table the model was trained with"):
        loaded.with_reference(other, "remc-e123")


def _small_copy(source, path):
    pd.read_csv(source, sep="\t", index_col=0).iloc[:, :10].to_csv(path, sep="\t")
    return path


def test_explanations_of_a_reference_model_hold_the_prior_fixed(k562, shared_data):
    table = read_reference(shared_data / TABLE)
    data = load_splits(k562, task="regression")
    config = TrainConfig(task="deviation", reference="new-cell", preset="original", epochs=2, device="cpu")
    bound = train(data, config, reference=table, cell="remc-e123", progress=False).model.with_reference(table, "remc-e123")
    test = data["test"].subset(slice(0, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explanation = bound.explain(test, ["attention", "integrated_gradients"], options=ExplainOptions(n_steps=16))
    assert explanation.alpha.shape == (8, 5, 100) and explanation.maps["integrated_gradients"].shape == (8, 5, 100)
    np.testing.assert_allclose(explanation.logits, bound.predict(test).values, rtol=1e-4, atol=1e-5)
    # Completeness: the maps add up to what the marks add to the prior (the output minus the output without reads).
    no_reads = bound.predict(type(test)(gene_ids=test.gene_ids, counts=np.zeros_like(test.counts), labels=None, marks=test.marks)).values
    np.testing.assert_allclose(explanation.maps["integrated_gradients"].sum(axis=(1, 2)), explanation.logits - no_reads, atol=0.05)
