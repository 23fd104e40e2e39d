"""write_interpretation on a whole set, in process; the streamed NPZ."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attentivechrome.data import read_csv
from attentivechrome.interpret import ExplainOptions, select_genes
from attentivechrome.interpret._npz import NpzStreamWriter
from attentivechrome.trained import load_model
from attentivechrome.workflows import interpret_model


@pytest.mark.slow
def test_whole_set_streams_the_same_maps_as_explain(sim_dir, tiny_checkpoint, tmp_path):
    loaded = load_model(tiny_checkpoint)
    data = read_csv(sim_dir / "test.csv").subset(slice(0, 40))
    out = tmp_path / "all"
    result = interpret_model(
        loaded, data, out, methods="attention,saliency,occlusion", options=ExplainOptions(batch_size=16, window=10), tsv=False, progress=False, max_gene_plots=5
    )
    assert result.n_genes == 40 and not (out / "maps.tsv").exists()
    expected = loaded.explain(data, ["attention", "saliency", "occlusion"], options=ExplainOptions(window=10))
    with np.load(out / "explanations.npz") as npz:
        assert npz["gene_ids"].tolist() == data.gene_ids.tolist()
        np.testing.assert_allclose(npz["alpha"], expected["attention"], atol=1e-6)
        np.testing.assert_allclose(npz["beta"], expected.beta, atol=1e-6)
        np.testing.assert_allclose(npz["occlusion"], expected["occlusion"], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(npz["probability"], expected.probabilities, rtol=1e-5)
    with np.load(out / "class_averages.npz") as averages:
        assert averages["n_genes"].tolist() == [int((expected.logits >= 0).sum()), int((expected.logits < 0).sum())]
        assert averages["alpha"].shape == (2, 5, 100) and averages["profile_saliency"].shape == (2, 5, 100)
    for stem in ("class_profiles", "class_beta", "method_profiles"):
        assert (out / "figures" / f"{stem}.png").is_file() and (out / "figures" / f"{stem}.svg").is_file()
    # without a gene list, max_gene_plots genes get pictures: the 3 highest and 2 lowest predictions
    # (streamed over batches of 16, so the choice spans batches), highest first
    order = np.argsort(-expected.logits, kind="stable")
    assert result.plotted_genes == data.gene_ids[np.concatenate([order[:3], order[-2:]])].tolist()
    for gene in result.plotted_genes:
        assert (out / "figures" / f"gene_{gene}_methods.png").is_file() and (out / "figures" / f"gene_{gene}.png").is_file()
    assert len(list((out / "figures").glob("gene_*_methods.png"))) == 5
    predictions = pd.read_csv(out / "predictions.tsv", sep="\t")
    assert len(predictions) == 40 and list(predictions.columns) == ["gene_id", "probability", "label"]
    summary = (out / "summary.md").read_text()
    assert "# Interpretation of 40 genes" in summary and "## Mean beta by class (grouped by predicted)" in summary
    assert "is a summary of where the model pooled" in summary and "integrated_gradients" in summary  # the measured verdict, beside attention


def test_select_genes_keeps_the_requested_order(sim_dir):
    data = read_csv(sim_dir / "test.csv")
    picked = select_genes(data, ["SIM000450", "SIM000400", "SIM000450"])
    assert picked.gene_ids.tolist() == ["SIM000450", "SIM000400"]
    np.testing.assert_array_equal(picked.counts[1], data.counts[0])
    with pytest.raises(ValueError, match=r"2 of 3 requested genes are not in .*test.csv: X1, X2"):
        select_genes(data, ["X1", "SIM000400", "X2"])


def test_streamed_npz_round_trips_and_is_atomic(tmp_path):
    path = tmp_path / "a.npz"
    rng = np.random.default_rng(0)
    chunks = [rng.random((n, 3, 4)).astype(np.float32) for n in (5, 1, 7)]
    with NpzStreamWriter(path) as npz:
        for chunk in chunks:
            npz.append("maps", chunk)
            npz.append("ids", np.arange(len(chunk)))
        npz.put("names", np.array(["x", "y"]))
    with np.load(path) as loaded:
        np.testing.assert_array_equal(loaded["maps"], np.concatenate(chunks))
        assert loaded["ids"].tolist() == [0, 1, 2, 3, 4, 0, 0, 1, 2, 3, 4, 5, 6]
        assert loaded["names"].tolist() == ["x", "y"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]  # spool files are gone

    with pytest.raises(RuntimeError), NpzStreamWriter(tmp_path / "b.npz") as npz:
        npz.append("maps", chunks[0])
        raise RuntimeError("interrupted")
    assert not (tmp_path / "b.npz").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["a.npz"]

    with pytest.raises(ValueError, match=r"maps: chunk float64\(2, 3\) does not continue float32"), NpzStreamWriter(tmp_path / "c.npz") as npz:
        npz.append("maps", np.zeros((1, 3), dtype=np.float32))
        npz.append("maps", np.zeros((2, 3)))
