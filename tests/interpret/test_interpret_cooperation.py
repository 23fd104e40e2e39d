"""Cooperation scores of the ground-truth benchmark: an oracle scores 1, random sits at chance, the CLI prints the table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from attentivechrome.data.synthetic import simulate, write_simulation
from attentivechrome.interpret import score_cooperation


@pytest.fixture(scope="module")
def cooperative():
    return simulate(3000, 100, seed=7, rules="cooperative")


def test_oracle_scores_one_random_sits_at_chance_and_the_reads_miss_the_partner_rule(cooperative):
    data, truth = cooperative
    rng = np.random.default_rng(0)
    table = score_cooperation(
        {"oracle": truth.mask, "random": rng.random(truth.mask.shape), "input_signal": data.counts.transpose(0, 2, 1)},
        truth,
        mark_scores={"oracle": truth.mark_weight},
    )
    scores = ["pair_bivalent", "pair_body_needs_promoter", "partner_body_needs_promoter", "window_H3K4me3", "window_H3K36me3"]
    assert list(table.attrs["headers"]) == scores
    for column in scores:
        assert table.loc["oracle", column] == pytest.approx(1.0), column
        assert table.loc["oracle", f"{column}_n"] > 50, column
    chance = {"pair_bivalent": 0.5, "pair_body_needs_promoter": 0.5, "partner_body_needs_promoter": 0.0, "window_H3K4me3": 0.2, "window_H3K36me3": 0.5}
    for column, level in chance.items():
        assert abs(table.loc["random", column] - level) < 1.5 * table.loc["random", f"{column}_ci"] + 0.02, column
    assert table.loc["random", "family"] == "reference" and table.loc["oracle", "family"] == "external"
    # Following the reads ranks H3K36me3 high whether or not its partner is there: no partner effect.
    assert table.loc["input_signal", "partner_body_needs_promoter_without"] > 0.7
    assert abs(table.loc["input_signal", "partner_body_needs_promoter"]) < 0.15
    # ... and puts part of H3K4me3's weight on the decoy peak.
    assert table.loc["input_signal", "window_H3K4me3"] < 0.6


def test_cooperation_needs_cooperative_truth_and_matching_maps(cooperative):
    _, truth = cooperative
    _, additive = simulate(20, 100, seed=0)
    with pytest.raises(ValueError, match="no cooperating pairs or position windows \\(rules 'additive'\\)"):
        score_cooperation({"m": additive.mask}, additive)
    with pytest.raises(ValueError, match="map 'm' has shape \\(3000, 5, 50\\)"):
        score_cooperation({"m": truth.mask[:, :, :50]}, truth)


def test_interpret_benchmark_prints_and_writes_the_cooperation_table(tiny_checkpoint, tmp_path, capsys):
    from attentivechrome.cli.main import main

    data = tmp_path / "coop"
    write_simulation(data, 300, 100, seed=3, rules="cooperative")
    out = tmp_path / "bench"
    with pytest.raises(SystemExit) as exit_info:
        main(["interpret-benchmark", "--data", str(data), "--model", str(tiny_checkpoint), "--out", str(out), "--methods", "attention", "--max-genes", "40", "--device", "cpu", "-q"])
    assert exit_info.value.code in (0, None)
    stdout = capsys.readouterr().out
    assert "| method | H3K4me3 + H3K27me3 pair AUROC (bivalent) |" in stdout
    assert "| Random map (floor) |" in stdout.split("Cooperation and position")[1]
    table = pd.read_csv(out / "cooperation.csv", index_col="method")
    assert list(table.index) == ["attention", "random", "input_signal"]
    assert table["window_H3K4me3"].between(0, 1).all() and (table["pair_bivalent_n"] > 0).all()
    assert (out / "cooperation.png").read_bytes()[:4] == b"\x89PNG"
