"""The HTML report in a real browser: headless Chromium driven by Playwright (one browser for the module)."""

from __future__ import annotations

import numpy as np
import pytest

from attentivechrome.report import write_report

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is part of the test extra: pip install -e '.[test]'")


@pytest.fixture(scope="module")
def browser(chromium):
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


def open_page(browser, path):
    """Open ``path``; return the page and the list that collects its console errors and uncaught exceptions."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.resolve().as_uri())
    page.wait_for_function("document.querySelectorAll('.figure .main-svg').length > 0")
    return page, errors


def test_gene_search_shows_that_genes_heatmap(browser, report_dirs, tmp_path):
    html = write_report(report_dirs["interpret"], tmp_path / "interp.html")
    page, errors = open_page(browser, html)
    with np.load(report_dirs["interpret"] / "explanations.npz") as npz:
        gene_ids, alpha, probability = npz["gene_ids"].tolist(), npz["alpha"], npz["probability"]
    gene = gene_ids[7]
    assert page.evaluate("document.getElementById('gene-explorer').dataset.gene") == gene_ids[0]  # the first gene before a search
    page.fill("#gene-search", gene)
    page.press("#gene-search", "Enter")
    page.wait_for_function(f"document.getElementById('gene-explorer').dataset.gene === {gene!r}")
    assert page.inner_text("#gene-status").startswith(f"{gene} — P(high) {probability[7]:.3f}")
    shown = np.array(page.evaluate("document.getElementById('gene-alpha').data[0].z"), dtype=float)
    np.testing.assert_allclose(shown, alpha[7], rtol=1e-5)  # the heatmap drawn is that gene's alpha
    assert page.locator("#gene-alpha .main-svg").count() >= 1 and page.locator("#gene-map-integrated_gradients .main-svg").count() >= 1
    scale = page.evaluate("[document.getElementById('gene-map-occlusion').data[0].zmin, document.getElementById('gene-map-integrated_gradients').data[0].zmax]")
    assert scale[0] == pytest.approx(-scale[1])  # one symmetric scale shared by the signed maps
    page.fill("#gene-search", "NO_SUCH_GENE")
    page.press("#gene-search", "Enter")
    assert "is not in this report" in page.inner_text("#gene-status")
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000
    assert errors == []


@pytest.mark.parametrize("kind", ["run", "benchmark", "train-many"])
def test_other_pages_load_without_errors(browser, report_dirs, kind, tmp_path):
    page, errors = open_page(browser, write_report(report_dirs[kind], tmp_path / f"{kind}.html"))
    drawn = page.evaluate("document.querySelectorAll('.figure .main-svg').length")
    assert drawn >= page.evaluate("document.querySelectorAll('.figure').length") > 0  # every figure drawn
    assert errors == []


def _gene_panels_drawn(page) -> int:
    return page.evaluate("document.querySelectorAll('#gene-explorer .figure .main-svg').length")


def _search(page, text):
    page.fill("#gene-search", text)
    page.press("#gene-search", "Enter")


def test_gene_search_ignores_case_and_clears_the_last_gene_on_a_miss(browser, report_dirs, tmp_path):
    html = write_report(report_dirs["interpret"], tmp_path / "interp.html")
    page, errors = open_page(browser, html)
    with np.load(report_dirs["interpret"] / "explanations.npz") as npz:
        gene_ids = npz["gene_ids"].tolist()
    gene = gene_ids[5]
    _search(page, f"  {gene.lower()} ")  # as typed: lower case, spaces around
    page.wait_for_function(f"document.getElementById('gene-explorer').dataset.gene === {gene!r}")
    assert page.inner_text("#gene-status").startswith(f"{gene} — P(high)")
    assert _gene_panels_drawn(page) >= 3
    _search(page, "NO_SUCH_GENE")
    status = page.inner_text("#gene-status")
    assert status.startswith("gene NO_SUCH_GENE is not in this report")
    # no plot of the gene shown before stays on screen, and the explorer names no gene
    assert _gene_panels_drawn(page) == 0
    assert page.evaluate("document.getElementById('gene-explorer').dataset.gene") is None
    _search(page, gene.upper())
    page.wait_for_function(f"document.getElementById('gene-explorer').dataset.gene === {gene!r}")
    assert _gene_panels_drawn(page) >= 3
    assert errors == []


def test_gene_search_finds_a_symbol_and_shows_it(browser, named_interpretation, tmp_path):
    html = write_report(named_interpretation, tmp_path / "named.html")
    page, errors = open_page(browser, html)
    with np.load(named_interpretation / "explanations.npz") as npz:
        gene_ids, names = npz["gene_ids"].tolist(), npz["gene_names"].tolist()
    assert page.inner_text("#gene-status").startswith(f"{gene_ids[0]} ({names[0]}) — ")  # the first gene, with its symbol
    _search(page, names[3].lower())
    page.wait_for_function(f"document.getElementById('gene-explorer').dataset.gene === {gene_ids[3]!r}")
    assert page.inner_text("#gene-status").startswith(f"{gene_ids[3]} ({names[3]}) — P(high)")
    assert page.evaluate("document.querySelector('#gene-ids option:nth-child(4)').textContent") == names[3]  # the suggestion list shows symbols
    assert errors == []
