"""A benchmark whose every run fails (a broken split, say) ends in one line naming the first failure: no traceback, exit 2."""

from __future__ import annotations

import pytest

from attentivechrome.cli.main import main


@pytest.fixture(scope="module")
def broken_cells(tmp_path_factory):
    """Two tiny cells whose valid split holds one class only (AUROC cannot select an epoch on it)."""
    from attentivechrome.data.synthetic import write_simulation

    root = tmp_path_factory.mktemp("broken")
    for seed, name in enumerate(("cellA", "cellB")):
        write_simulation(root / name, 60, 20, seed=seed)
        valid = root / name / "valid.csv"
        valid.write_text("".join(line.rsplit(",", 1)[0] + ",0\n" for line in valid.read_text().splitlines()))
    return root


def _cli(capsys, *args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0, capsys.readouterr().err


def test_every_run_failing_is_one_line(broken_cells, tmp_path, capsys):
    out = tmp_path / "bench"
    code, err = _cli(capsys, "benchmark", broken_cells / "cellA", "--out", out, "--models", "linear,deepchrome", "--seeds", 1, "--epochs", 1, "--device", "cpu", "-q")
    assert code == 2
    [line] = err.strip().splitlines()
    assert line.startswith(f"attentivechrome: error: {out}: every run of the benchmark failed (2 runs), so no table was written; the first: cellA linear seed 1: UndefinedMetricError: the valid split")
    assert not (out / "benchmark.md").exists()


def test_every_cross_cell_training_failing_is_one_line(broken_cells, tmp_path, capsys):
    out = tmp_path / "cross"
    cells = [broken_cells / "cellA", broken_cells / "cellB"]
    code, err = _cli(capsys, "benchmark", *cells, "--cross-cell", "--out", out, "--models", "linear", "--seeds", 1, "--device", "cpu", "-q")
    assert code == 2, err
    [line] = err.strip().splitlines()
    assert line.startswith(f"attentivechrome: error: {out}: every training of the cross-cell benchmark failed (2), so no matrix was written; the first: cellA seed 1: UndefinedMetricError")
    assert not (out / "matrix.md").exists()
