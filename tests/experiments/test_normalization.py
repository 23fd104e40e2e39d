"""--normalize auto: the normalisation chosen by held-out-cell validation."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from attentivechrome.config import TrainConfig
from attentivechrome.data import read_csv, write_csv
from attentivechrome.data.synthetic import write_simulation
from attentivechrome.experiments.normalization import SELECTION_DIR, SELECTION_FILE, select_normalization

QUICK = TrainConfig(epochs=2, batch_size=32, lr=3e-3, transform="log1p", device="cpu")


def test_each_candidate_is_scored_on_each_held_out_cell(tmp_path):
    for i, name in enumerate(("deep", "shallow")):
        write_simulation(tmp_path / name, 180, 20, seed=i)
    for split in ("train", "valid", "test"):  # the second cell is sequenced a fifth as deep
        data = read_csv(tmp_path / "shallow" / f"{split}.csv")
        write_csv(dataclasses.replace(data, counts=np.floor(data.counts / 5)), tmp_path / "shallow" / f"{split}.csv")
    choice = select_normalization([tmp_path / "deep", tmp_path / "shallow"], tmp_path / "out", QUICK)
    assert set(choice.scores) == {"none", "depth", "quantile"} and all(set(s) == {"deep", "shallow"} for s in choice.scores.values())
    assert choice.mean(choice.best) == max(choice.mean(c) for c in choice.scores)
    saved = json.loads((tmp_path / "out" / SELECTION_DIR / SELECTION_FILE).read_text())
    assert saved["best"] == choice.best and saved["mean"][choice.best] == pytest.approx(choice.mean(choice.best))
    with pytest.raises(ValueError, match="needs at least two cells"):
        select_normalization([tmp_path / "deep"], tmp_path / "out2", QUICK)
