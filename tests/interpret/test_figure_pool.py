"""interpret's figures drawn by worker processes while the maps are computed are those drawn in one process."""

from __future__ import annotations

import pytest

import attentivechrome.interpret._figure_pool as figure_pool
from attentivechrome.data import read_csv
from attentivechrome.interpret import ExplainOptions
from attentivechrome.trained import load_model
from attentivechrome.workflows import interpret_model


@pytest.mark.slow
def test_workers_draw_the_same_figures_of_the_same_genes(sim_dir, tiny_checkpoint, tmp_path, monkeypatch):
    loaded = load_model(tiny_checkpoint)
    data = read_csv(sim_dir / "test.csv").subset(slice(0, 8))
    options = dict(methods="attention", options=ExplainOptions(batch_size=4), tsv=False, progress=False, max_gene_plots=2)
    parallel = interpret_model(loaded, data, tmp_path / "parallel", **options)
    monkeypatch.setattr(figure_pool, "MAX_WORKERS", 1)  # everything drawn in this process, after the maps
    serial = interpret_model(loaded, data, tmp_path / "serial", **options)
    assert parallel.plotted_genes == serial.plotted_genes and len(serial.plotted_genes) == 2
    pngs = sorted(p.name for p in (tmp_path / "serial" / "figures").glob("*.png"))
    assert pngs == sorted(p.name for p in (tmp_path / "parallel" / "figures").glob("*.png"))  # no figure of a gene not pictured
    assert len(pngs) == 2 + 2 * 2  # two class figures (alpha, beta), two per pictured gene
    for name in pngs:
        assert (tmp_path / "serial" / "figures" / name).read_bytes() == (tmp_path / "parallel" / "figures" / name).read_bytes(), name
    summary = (tmp_path / "parallel" / "summary.md").read_text()
    assert summary == (tmp_path / "serial" / "summary.md").read_text().replace(str(tmp_path / "serial"), str(tmp_path / "parallel"))
    with figure_pool.FigurePool(workers=2) as pool:
        assert pool.parallel  # forked workers on this machine, so the test above compared the two ways
