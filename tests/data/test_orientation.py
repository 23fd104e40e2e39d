"""Which way the bins run is recorded as data: CSV manifests, HistoneData, checkpoints, train and interpret."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import attentivechrome as ac
from attentivechrome.cli.main import main
from attentivechrome.data import HistoneData, read_csv, read_csv_cached, write_csv
from attentivechrome.data.orientation import check_orientation, position_label, recorded_orientation, resolve_orientation
from attentivechrome.trained import TrainedModel, load_model
from attentivechrome.training.pooling import concat_data


def cli(*args) -> int:
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0


def _data(n=4, bins=10, orientation="unknown") -> HistoneData:
    rng = np.random.default_rng(0)
    counts = rng.poisson(2.0, size=(n, bins, 5)).astype(np.float32)
    return HistoneData(np.array([f"G{i}" for i in range(n)]), counts, np.arange(n) % 2, ac.MARKS, orientation=orientation)


def test_names_and_resolution():
    assert [check_orientation(v) for v in ("genomic", "Transcript", "stranded", None)] == ["genomic", "transcript", "transcript", "unknown"]
    with pytest.raises(ValueError, match="orientation must be one of"):
        check_orientation("sideways")
    assert resolve_orientation("transcript", "genomic", "genomic")[0] == "transcript"  # stated wins
    assert resolve_orientation(None, "unknown", "transcript") == ("transcript", None)
    orientation, warning = resolve_orientation(None, "genomic", "transcript")
    assert orientation == "genomic" and "wrong way round" in warning
    assert "upstream" not in position_label("genomic") and "downstream" not in position_label("genomic")
    assert position_label("genomic").startswith("genomic position relative to the TSS")
    assert "upstream" in position_label("transcript")


def test_a_plain_csv_is_unknown_and_a_featurize_manifest_says_otherwise(tmp_path):
    csv = tmp_path / "cell.csv"
    write_csv(_data(), csv)
    assert read_csv(csv).orientation == "unknown"
    (tmp_path / "cell.json").write_text(json.dumps({"tool": "attentivechrome featurize", "parameters": {"orientation": "genomic"}}))
    assert recorded_orientation(csv) == "genomic" and read_csv(csv).orientation == "genomic"  # an older manifest: featurize's own word
    (tmp_path / "cell.json").write_text(json.dumps({"tool": "attentivechrome featurize", "parameters": {"orientation": "stranded", "bin_order": "transcript"}}))
    data = read_csv(csv)
    assert data.orientation == "transcript" and data.subset(np.array([1, 0])).orientation == "transcript"
    assert read_csv_cached(csv, cache_dir=tmp_path / "cache").orientation == "transcript"
    assert read_csv_cached(csv, cache_dir=tmp_path / "cache").orientation == "transcript"  # from the cache entry too
    (tmp_path / "cell.json").write_text(json.dumps({"tool": "another tool", "parameters": {"bin_order": "genomic"}}))
    assert read_csv(csv).orientation == "unknown"
    both = concat_data([_data(orientation="genomic"), _data(orientation="genomic")])
    assert both.orientation == "genomic" and concat_data([_data(orientation="genomic"), _data(orientation="transcript")]).orientation == "unknown"


def test_checkpoints_record_it(tmp_path, shared_data):
    module = ac.get_model("linear")
    model = TrainedModel.from_module(module, marks=ac.MARKS, n_bins=10, orientation="transcript")
    model.save(tmp_path / "m.pt")
    assert load_model(tmp_path / "m.pt").orientation == "transcript"
    dataclasses.replace(model, orientation="unknown").save(tmp_path / "old.pt")  # what an older checkpoint reads as
    assert load_model(tmp_path / "old.pt").orientation == "unknown"
    assert load_model(shared_data / "reference-checkpoint-E003.pt").orientation == "genomic"  # the original trained on REMC files


@pytest.mark.slow
def test_train_records_the_stated_orientation_and_interpret_uses_it(shared_data, tmp_path, capsys):
    toy = shared_data / "toy" / "classification"
    run = tmp_path / "run"
    assert cli("train", toy, "--out", run, "--epochs", "1", "--orientation", "banana", "-q") == 2
    assert "orientation must be one of" in capsys.readouterr().err
    assert cli("train", toy, "--out", run, "--epochs", "1", "--orientation", "genomic", "-q") == 0
    assert load_model(run).orientation == "genomic"
    out = tmp_path / "interp"
    assert cli("interpret", "--model", run, "--input", toy / "test.csv", "--out", out, "--methods", "attention", "--max-gene-plots", 0, "--no-tsv", "-q") == 0
    summary = (out / "summary.md").read_text()
    assert "bin order: genomic" in summary and "genomic position relative to the TSS" in summary
    assert "upstream" not in summary and "downstream" not in summary
