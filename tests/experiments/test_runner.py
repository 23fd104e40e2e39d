"""The one runner: picklable units, resume, failure isolation, the settings guard, tolerant results."""

from __future__ import annotations

import json
import pickle

import pytest

from attentivechrome.config import TrainConfig
from attentivechrome.exceptions import InputFormatError
from attentivechrome.experiments.benchmark import run_benchmark, run_directory
from attentivechrome.exceptions import AttentiveChromeError, RunSettingsError
from attentivechrome.experiments.cross_cell import run_cross_cell
from attentivechrome.experiments.experiment import ExperimentResult
from attentivechrome.experiments.normalization import SELECTION_DIR, select_normalization
from attentivechrome.experiments.runner import RESULT_FILE, STATUSES, TrainingUnit, guard_settings, read_result, run_units
from attentivechrome.experiments.train_many import SUMMARY_FILE, train_many

QUICK = TrainConfig(epochs=1, batch_size=32, lr=3e-3, transform="log1p", device="cpu")


@pytest.fixture(scope="module")
def cells(two_cells):
    return two_cells


def test_a_unit_is_plain_and_picklable(cells, tmp_path):
    unit = TrainingUnit(cell="cellA", data_dirs=(str(cells[0]),), run_dir=str(tmp_path / "a"), config=QUICK.to_dict())
    assert pickle.loads(pickle.dumps(unit)) == unit
    assert json.loads(json.dumps(unit.config)) == unit.config  # settings travel as plain values


def test_units_resume_and_a_damaged_result_is_trained_again(cells, tmp_path):
    units = [TrainingUnit(cell=c.name, data_dirs=(str(c),), run_dir=str(tmp_path / c.name), config=QUICK.to_dict()) for c in cells]
    first = run_units(units, jobs=1)
    assert [r["status"] for r in first] == ["trained", "trained"]
    assert read_result(tmp_path / "cellA")["test_auroc"] == first[0]["test_auroc"]
    import resource

    lifetime_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB
    # each unit's own peak memory (measured from its start), within what this process ever held
    assert all(0 < row["peak_memory_mb"] <= lifetime_mb + 1 for row in first)
    assert read_result(tmp_path / "cellA")["peak_memory_mb"] == first[0]["peak_memory_mb"]
    (tmp_path / "cellB" / RESULT_FILE).write_text("{not json")
    again = run_units(units, jobs=1)
    assert [r["status"] for r in again] == ["done earlier", "trained"]
    assert again[1]["test_auroc"] == pytest.approx(first[1]["test_auroc"])  # same seed, same data
    # a finished run is not taken for one with other settings (say, after a model's defaults changed)
    changed = [TrainingUnit(cell=u.cell, data_dirs=u.data_dirs, run_dir=u.run_dir, config={**u.config, "lr": 1e-2}) for u in units]
    with pytest.raises(RunSettingsError, match=r"cellA: finished with other settings than this call gives it \(lr 0.003 -> 0.01\)"):
        run_units(changed, jobs=1)
    assert issubclass(RunSettingsError, AttentiveChromeError)  # one of the errors users catch (and the CLI turns into one line)
    moved = [TrainingUnit(cell=u.cell, data_dirs=u.data_dirs, run_dir=u.run_dir, config={**u.config, "device": "auto"}) for u in units]
    assert [r["status"] for r in run_units(moved, jobs=1)] == ["done earlier", "done earlier"]  # the device is no setting of the result


def test_train_many_regression(cells, tmp_path):
    config = TrainConfig(**{**QUICK.to_dict(), "task": "regression", "model": "linear"})
    result = train_many(cells, tmp_path / "out", config, jobs=1, progress=False)
    assert result.failed == [] and result.trained == 2
    assert {"valid_pearson", "test_pearson", "test_spearman", "test_mse"} <= set(result.summary.columns)
    assert (result.summary["test_pearson"] > 0.3).all()
    assert "test_pearson" in (tmp_path / "out" / SUMMARY_FILE).read_text().splitlines()[0]


def test_a_failing_benchmark_run_fails_only_itself(cells, tmp_path, monkeypatch):
    from attentivechrome.training import trainer

    real_train = trainer.train

    def break_one(splits, config, **kwargs):
        if config.model == "deepchrome" and config.seed == 2:
            raise RuntimeError("out of memory, say")
        return real_train(splits, config, **kwargs)

    monkeypatch.setattr(trainer, "train", break_one)
    events = []
    result = run_benchmark(cells[:1], tmp_path / "bench", models="linear,deepchrome", seeds=2, config=QUICK, n_bootstrap=20, on_run=events.append)
    assert result.failed == [("cellA", "deepchrome", 2, "RuntimeError: out of memory, say")]
    assert [e["status"] for e in events].count("failed") == 1 and result.trained == 3
    assert sorted(result.runs["model"]) == ["deepchrome", "linear", "linear"]
    assert result.per_cell.set_index("model").loc["deepchrome", "seeds"] == 1
    assert not (run_directory(tmp_path / "bench", "cellA", "deepchrome", 2) / RESULT_FILE).exists()
    monkeypatch.setattr(trainer, "train", real_train)
    resumed = run_benchmark(cells[:1], tmp_path / "bench", models="linear,deepchrome", seeds=2, config=QUICK, n_bootstrap=20)
    assert (resumed.trained, resumed.skipped, resumed.failed) == (1, 3, [])


def test_the_settings_guard_names_each_difference(tmp_path):
    guard_settings(tmp_path, "s.json", {"lr": 0.1, "epochs": 2}, {"cells": {}}, hint="try again")
    guard_settings(tmp_path, "s.json", {"lr": 0.1, "epochs": 2}, {"cells": {}}, hint="try again")  # same settings continue
    with pytest.raises(RunSettingsError, match=r"other settings \(lr 0.1 -> 0.2; epochs 2 -> 3\); try again"):
        guard_settings(tmp_path, "s.json", {"lr": 0.2, "epochs": 3}, {}, hint="try again")
    guard_settings(tmp_path, "s.json", {"lr": 0.2, "epochs": 3}, {}, restart=True, hint="")
    # A damaged record cannot vouch for the runs: refused in one line naming it (issue 13), replaced with restart.
    for damaged, message in [("{damaged", r"s.json:1: damaged: not JSON"), ('{"settings": [1]}', r"s.json: damaged: expected \{\"settings\": \{...\}, ...\}, got settings list"),
                             ("[]", r"s.json: damaged: .*got list")]:  # fmt: skip
        (tmp_path / "s.json").write_text(damaged)
        with pytest.raises(InputFormatError, match=message + r".*; delete it to continue .* with this call's settings, or pass --restart"):
            guard_settings(tmp_path, "s.json", {"lr": 0.5}, {}, hint="or --restart to train again")
    guard_settings(tmp_path, "s.json", {"lr": 0.5}, {}, restart=True, hint="")
    assert json.loads((tmp_path / "s.json").read_text())["settings"] == {"lr": 0.5}


@pytest.mark.parametrize(
    "damaged,why",
    [("[1]", "expected a JSON object, got list"), ('{"cell": "cellA"}', "model must be a str, got None"),
     ('{"cell": "a", "model": "m", "seed": 1, "best_epoch": 1, "test_auroc": "high"}', "test_auroc must be a number, got 'high'")],
)  # fmt: skip
def test_a_result_of_the_wrong_shape_is_named_and_means_train_again(tmp_path, caplog, damaged, why):
    (tmp_path / RESULT_FILE).write_text(damaged)
    with caplog.at_level("WARNING"):
        assert read_result(tmp_path) is None
    assert f"{tmp_path / RESULT_FILE}: damaged ({why}); the run is trained again" in caplog.text


def test_a_second_call_on_the_same_out_refuses_while_the_first_runs(cells, tmp_path):
    from attentivechrome._io import exclusive_lock
    from attentivechrome.exceptions import DirectoryLockedError

    with exclusive_lock(tmp_path / "out", "train-many"):  # as a running call holds it
        with pytest.raises(DirectoryLockedError, match=r"out: another train-many is writing here \(pid \d+\); wait for it to finish, or use another --out"):
            train_many(cells, tmp_path / "out", QUICK, jobs=1, progress=False)
        with pytest.raises(DirectoryLockedError, match="another train-many is writing here"):
            run_benchmark(cells, tmp_path / "out", models=["deepchrome"], seeds=1, config=QUICK, jobs=1, progress=False)
        with pytest.raises(DirectoryLockedError, match="another train-many is writing here"):
            run_cross_cell(cells, tmp_path / "out", config=QUICK, progress=False)
    with exclusive_lock(tmp_path / "out" / SELECTION_DIR, "normalisation selection"):  # train --normalize auto's trainings
        with pytest.raises(DirectoryLockedError, match="another normalisation selection is writing here"):
            select_normalization(cells, tmp_path / "out", QUICK)
    assert not (tmp_path / "out" / SUMMARY_FILE).exists() and not list((tmp_path / "out").rglob("*.json"))  # nothing trained, no settings recorded


def test_every_experiment_returns_one_result_type_in_one_status_vocabulary(cells, tmp_path):
    """train-many, benchmark and cross-cell: the same result type, rows in the runner's statuses, tables as attributes."""
    config = TrainConfig(**{**QUICK.to_dict(), "model": "linear"})
    results = {
        "train-many": train_many(cells, tmp_path / "many", config, jobs=1, progress=False),
        "benchmark": run_benchmark(cells, tmp_path / "bench", models="linear", seeds=1, config=config, n_bootstrap=10, progress=False),
        "cross-cell": run_cross_cell(cells, tmp_path / "xc", config=config, progress=False),
    }
    for name, result in results.items():
        assert type(result) is ExperimentResult, name
        assert {row["status"] for row in result.rows} == {"trained"} and set(STATUSES) == {"trained", "done earlier", "failed"}
        assert (result.trained, result.skipped, result.failed) == (len(result.rows), 0, []), name
        for table in result.tables:
            assert getattr(result, table) is result.tables[table]
    assert set(results["benchmark"].tables) == {"runs", "per_cell", "summary"} and set(results["cross-cell"].tables) == {"scores", "matrix"}
    again = train_many(cells, tmp_path / "many", config, jobs=1, progress=False)
    assert {row["status"] for row in again.rows} == {"done earlier"} and again.skipped == 2
    with pytest.raises(AttributeError, match="no attribute or table 'matrix'"):
        again.matrix


def test_links_to_one_cell_are_two_cells_with_absolute_paths(cells, tmp_path):
    from attentivechrome.experiments.runner import plan_cells

    (tmp_path / "copy").symlink_to(cells[0], target_is_directory=True)
    planned = plan_cells([cells[0], tmp_path / "copy"])
    assert list(planned) == ["cellA", "copy"]
    assert all(path.is_absolute() for path in planned.values()) and planned["copy"] == tmp_path / "copy"
