"""No command writes over another command's output folder unless told (--overwrite); simulate wants an empty one."""

from __future__ import annotations

import json

import pytest

from attentivechrome.cli._outputs import OWNER_FILE
from attentivechrome.cli.main import main

TINY = ["--preset", "original", "--epochs", "1", "--batch-size", "16", "--device", "cpu", "-q"]


def _cli(capsys, *args) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0, capsys.readouterr().err


def _contents(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def readme_steps(tmp_path_factory, one_torch_thread):
    """The README's sequence, small: simulate sim/, train runs/sim, interpret-benchmark --out bench/."""
    root = tmp_path_factory.mktemp("folders")
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in ("simulate", "--genes", 60, "--bins", 20, "--out", root / "sim")])
    assert stop.value.code in (0, None)
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in ("train", root / "sim", "--out", root / "run", *TINY)])
    assert stop.value.code in (0, None)
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in ("interpret-benchmark", "--data", root / "sim", "--model", root / "run", "--out", root / "bench", "--methods", "attention", "--quiet")])
    assert stop.value.code in (0, None)
    return root


def test_each_command_records_what_wrote_its_folder(readme_steps):
    for folder, command in (("sim", "simulate"), ("run", "train"), ("bench", "interpret-benchmark")):
        record = json.loads((readme_steps / folder / OWNER_FILE).read_text())
        assert record["command"] == command


def test_benchmark_refuses_the_folder_interpret_benchmark_wrote(readme_steps, capsys):
    bench = readme_steps / "bench"
    before = _contents(bench)
    code, err = _cli(capsys, "benchmark", readme_steps / "sim", "--models", "linear", "--seeds", 1, "--out", bench, "-q")
    assert code == 2
    [line] = err.strip().splitlines()
    assert line == (
        f"attentivechrome: error: {bench}: holds the outputs of `attentivechrome interpret-benchmark`; `benchmark` would write over them: "
        "choose another --out, or pass --overwrite to write over them"
    )
    assert _contents(bench) == before  # benchmark.md and benchmark.png untouched


def test_a_folder_without_the_record_is_recognised_by_its_files(readme_steps, tmp_path, capsys):
    """Folders written by an older version or the Python API have no record: their files tell."""
    import shutil

    bench = tmp_path / "bench"
    shutil.copytree(readme_steps / "bench", bench)
    (bench / OWNER_FILE).unlink()
    before = _contents(bench)
    code, err = _cli(capsys, "benchmark", readme_steps / "sim", "--models", "linear", "--seeds", 1, "--out", bench, "-q")
    assert code == 2 and "holds the outputs of `attentivechrome interpret-benchmark`" in err
    assert _contents(bench) == before


def test_interpret_benchmark_refuses_a_benchmark_folder(readme_steps, tmp_path, capsys):
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "benchmark.md").write_text("the models' table\n")  # left by an interrupted `benchmark` (no record yet)
    (bench / "benchmark.json").write_text("{}\n")
    code, err = _cli(capsys, "interpret-benchmark", "--data", readme_steps / "sim", "--model", readme_steps / "run", "--out", bench, "--methods", "attention", "-q")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "holds the outputs of `attentivechrome benchmark`" in err
    assert (bench / "benchmark.md").read_text() == "the models' table\n" and not (bench / "per_gene_scores.csv").exists()


def test_a_folder_of_unknown_origin_is_refused_when_a_file_would_be_replaced(readme_steps, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "benchmark.md").write_text("my notes\n")
    code, err = _cli(capsys, "interpret-benchmark", "--data", readme_steps / "sim", "--model", readme_steps / "run", "--out", out, "--methods", "attention", "-q")
    assert code == 2
    assert f"{out}: holds benchmark.md, not written by `attentivechrome interpret-benchmark`" in err
    assert (out / "benchmark.md").read_text() == "my notes\n"


def test_overwrite_writes_into_another_commands_folder(readme_steps, tmp_path, capsys):
    import shutil

    out = tmp_path / "bench"
    shutil.copytree(readme_steps / "sim", out)  # a simulate folder
    code, err = _cli(capsys, "interpret-benchmark", "--data", readme_steps / "sim", "--model", readme_steps / "run", "--out", out, "--methods", "attention", "-q")
    assert code == 2 and "holds the outputs of `attentivechrome simulate`" in err
    code, err = _cli(capsys, "interpret-benchmark", "--data", readme_steps / "sim", "--model", readme_steps / "run", "--out", out, "--methods", "attention", "-q", "--overwrite")
    assert code == 0, err
    assert json.loads((out / OWNER_FILE).read_text())["command"] == "interpret-benchmark" and (out / "per_gene_scores.csv").is_file()


def test_a_command_continues_its_own_folder(readme_steps, capsys):
    bench = readme_steps / "bench"
    code, err = _cli(capsys, "interpret-benchmark", "--data", readme_steps / "sim", "--model", readme_steps / "run", "--out", bench, "--methods", "attention", "-q")
    assert code == 0, err


@pytest.mark.parametrize("command", ["train", "interpret", "train-many"])
def test_other_commands_refuse_a_simulated_data_folder(readme_steps, tmp_path, capsys, command):
    import shutil

    sim = tmp_path / "sim"
    shutil.copytree(readme_steps / "sim", sim)
    before = _contents(sim)
    args = {
        "train": ("train", readme_steps / "sim", "--out", sim, *TINY),
        "interpret": ("interpret", "--model", readme_steps / "run", "--input", sim / "test.csv", "--out", sim, "--methods", "attention", "-q"),
        "train-many": ("train-many", readme_steps / "sim", "--out", sim, *TINY),
    }[command]
    code, err = _cli(capsys, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{sim}: holds the outputs of `attentivechrome simulate`; `{command}` would write over them" in err
    assert _contents(sim) == before


def test_simulate_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    out = tmp_path / "sim"
    assert _cli(capsys, "simulate", "--genes", 30, "--bins", 10, "--out", out)[0] == 0
    before = _contents(out)
    code, err = _cli(capsys, "simulate", "--genes", 30, "--bins", 10, "--out", out, "--seed", 1)
    assert code == 2
    [line] = err.strip().splitlines()
    assert line.startswith(f"attentivechrome: error: {out}: is not empty (") and "pass --overwrite" in line
    assert _contents(out) == before
    assert _cli(capsys, "simulate", "--genes", 30, "--bins", 10, "--out", out, "--seed", 1, "--overwrite")[0] == 0
    assert _contents(out) != before  # another seed's data, in place

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep\n")
    code, err = _cli(capsys, "simulate", "--genes", 30, "--bins", 10, "--out", mine)
    assert code == 2 and f"{mine}: is not empty (notes.txt)" in err
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _cli(capsys, "simulate", "--genes", 30, "--bins", 10, "--out", empty)[0] == 0
