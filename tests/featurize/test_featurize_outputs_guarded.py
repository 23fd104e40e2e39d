"""featurize writes over none of its inputs: mark files, the gene annotation, the expression table (one line, exit 2, nothing changed)."""

from __future__ import annotations

import pytest

from attentivechrome.cli.main import main


def _cli(capsys, *args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in args])
    return stop.value.code or 0, capsys.readouterr().err


def mark_args(files):
    marks = {"H3K27me3": files["bam"], "H3K36me3": files["tagalign"], "H3K4me1": files["bigwig"], "H3K4me3": files["bam"], "H3K9me3": files["tagalign"]}
    return [a for name, path in marks.items() for a in ("--mark", f"{name}={path}")]


def test_featurize_refuses_to_write_over_its_inputs(dataset_files, tmp_path, capsys):
    gtf, expression = dataset_files["gtf"], dataset_files["expression"]
    before = {p: p.read_bytes() for p in (gtf, expression, dataset_files["bam"])}
    marks = mark_args(dataset_files)
    common = ["featurize", *marks, "--genes", gtf, "--quiet"]
    cases = [
        (["--out", gtf], gtf),
        (["--out", dataset_files["bam"]], dataset_files["bam"]),
        (["--out", expression, "--expression", expression, "--cell", "E003"], expression),
    ]
    for extra, clobbered in cases:
        code, err = _cli(capsys, *common, *extra)
        assert code == 2 and f"is the same file as {clobbered}" in err, err
    # --split writes train/valid/test.csv into --out: an expression table there named train.csv is read, not replaced.
    folder = tmp_path / "split"
    folder.mkdir()
    table = folder / "train.csv"
    table.write_bytes(expression.read_bytes())
    code, err = _cli(capsys, *common, "--out", folder, "--expression", table, "--cell", "E003", "--split", "contiguous")
    assert code == 2 and f"{table}: is the same file as {table}" in err, err
    assert table.read_bytes() == expression.read_bytes() and sorted(p.name for p in folder.iterdir()) == ["train.csv"]
    assert {p: p.read_bytes() for p in before} == before


def test_a_failed_write_of_one_csv_names_that_csv(dataset_files, tmp_path, monkeypatch, capsys):
    import attentivechrome.featurize.pipeline as pipeline
    from attentivechrome.exceptions import OutputWriteError

    def full_disk(data, path):
        raise OutputWriteError(path, "No space left on device", 28)  # as the atomic writer reports it

    monkeypatch.setattr(pipeline, "write_csv", full_disk)
    out = tmp_path / "out.csv"
    code, err = _cli(capsys, "featurize", *mark_args(dataset_files), "--genes", dataset_files["gtf"], "--out", out, "--quiet")
    assert code == 2
    assert err.strip() == f"attentivechrome: error: {out}: cannot write (No space left on device)"
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # nothing left, no staging


def test_ctrl_c_says_nothing_was_written(dataset_files, tmp_path, monkeypatch, capsys):
    import attentivechrome.featurize as featurize

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(featurize, "featurize", interrupted)
    out = tmp_path / "out.csv"
    code, err = _cli(capsys, "featurize", *mark_args(dataset_files), "--genes", dataset_files["gtf"], "--out", out, "--quiet")
    assert code == 130 and err.strip() == f"attentivechrome: interrupted, nothing written to {out}"
