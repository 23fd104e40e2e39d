"""One self-contained HTML page: sections of text, tables and Plotly figures, and the gene explorer.

Every figure is a Plotly specification (``{"data": [...], "layout": {...}}``, plain dicts) drawn by
plotly.js, which is inlined from the ``plotly`` Python package: the page needs no network. The
gene explorer's arrays travel as base64 float32 blocks and are drawn by the small script below.
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1180px;
       padding: 0 1.2em 3em; color: #1c2833; line-height: 1.45; }
h1 { font-size: 1.6em; margin: 0.8em 0 0.2em; } h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #d5d8dc; }
p.note { color: #566573; font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #d5d8dc; padding: 0.25em 0.6em; text-align: right; } th { background: #f4f6f7; }
td:first-child, th:first-child { text-align: left; }
.figure { width: 100%; min-height: 320px; }
nav a { margin-right: 1em; font-size: 0.92em; }
#gene-explorer .controls { display: flex; gap: 0.5em; align-items: center; flex-wrap: wrap; }
#gene-search { font-size: 1em; padding: 0.3em 0.5em; width: 18em; }
#gene-status { font-weight: 600; }
#gene-status.missing { color: #b03a2e; }
"""

# Draws every figure of the page, then wires the gene search box to the explorer's arrays.
_SCRIPT = r"""
(function () {
  "use strict";
  const report = JSON.parse(document.getElementById("report-data").textContent);
  const config = {responsive: true, displaylogo: false};
  for (const [id, spec] of Object.entries(report.figures)) {
    Plotly.newPlot(id, spec.data, spec.layout, config);
  }
  const genes = report.genes;
  if (!genes) { return; }

  function floats(b64) {
    const text = atob(b64);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) { bytes[i] = text.charCodeAt(i); }
    return new Float32Array(bytes.buffer);
  }
  const arrays = {};
  for (const [name, b64] of Object.entries(genes.arrays)) { arrays[name] = floats(b64); }
  const nMarks = genes.marks.length, nBins = genes.x.length, cells = nMarks * nBins;
  const names = genes.names;  // gene symbols where the data recorded them ("" where unknown), or null
  // The search ignores case and finds a gene by its id, its id without an Ensembl version (.N) or its symbol.
  const index = new Map();
  function known(key, g) { if (key && !index.has(key)) { index.set(key, g); } }
  genes.ids.forEach((id, g) => known(id.toLowerCase(), g));
  genes.ids.forEach((id, g) => known(id.toLowerCase().replace(/\.\d+$/, ""), g));
  if (names) { names.forEach((name, g) => known(name.toLowerCase(), g)); }
  function find(query) {
    const key = query.trim().toLowerCase();
    return index.has(key) ? index.get(key) : index.get(key.replace(/\.\d+$/, ""));
  }
  function named(g) { return names && names[g] ? genes.ids[g] + " (" + names[g] + ")" : genes.ids[g]; }
  const explorer = document.getElementById("gene-explorer");
  const panels = Array.from(document.querySelectorAll("#gene-explorer .figure"));
  // a gene not found leaves no plot of the gene shown before
  function clear() {
    for (const panel of panels) { Plotly.purge(panel); }
    delete explorer.dataset.gene;
  }

  // rows (marks) of one gene's (marks, bins) block; NaN (an absent mark) becomes a gap
  function rows(array, g) {
    const out = [];
    for (let m = 0; m < nMarks; m++) {
      const row = [];
      for (let b = 0; b < nBins; b++) {
        const v = array[g * cells + m * nBins + b];
        row.push(Number.isNaN(v) ? null : v);
      }
      out.push(row);
    }
    return out;
  }
  function heatmapLayout(title) {
    return {
      title: {text: title, x: 0, font: {size: 14}}, height: 240, margin: {l: 90, r: 20, t: 36, b: 42},
      xaxis: {title: {text: genes.x_label}}, yaxis: {autorange: "reversed"},
      shapes: [{type: "line", x0: 0, x1: 0, yref: "paper", y0: 0, y1: 1, line: {dash: "dash", width: 1, color: "#17202a"}}]
    };
  }
  function heatmap(id, z, title, style) {
    const trace = Object.assign({type: "heatmap", z: z, x: genes.x, y: genes.marks, hoverongaps: false}, style);
    Plotly.react(id, [trace], heatmapLayout(title), config);
  }
  function show(geneId) {
    const status = document.getElementById("gene-status");
    const g = find(geneId);
    if (g === undefined) {
      clear();
      status.textContent = "gene " + geneId.trim() + " is not in this report (" + genes.ids.length + " genes; " + genes.missing_hint + ")";
      status.className = "missing";
      return false;
    }
    const value = genes.values[g];
    const label = genes.labels ? genes.labels[g] : null;
    let text = named(g) + " \u2014 " + genes.value_label + " " + value.toFixed(3);
    if (label !== null) { text += " \u2014 " + genes.label_text[label === 1 ? 1 : 0]; }
    status.textContent = text;
    status.className = "";
    explorer.dataset.gene = genes.ids[g];
    heatmap("gene-input", rows(arrays.signal, g), "input: log(1 + reads)", {colorscale: "Greys", reversescale: true, zmin: 0, colorbar: {title: {text: "log(1+reads)"}}});
    if (arrays.alpha) {
      heatmap("gene-alpha", rows(arrays.alpha, g), "bin-level attention alpha (each row sums to 1)", {colorscale: "Viridis", zmin: 0, colorbar: {title: {text: "alpha"}}});
    }
    if (arrays.beta) {
      const beta = Array.from(arrays.beta.slice(g * nMarks, (g + 1) * nMarks));
      Plotly.react("gene-beta", [{type: "bar", x: beta, y: genes.marks, orientation: "h", marker: {color: "#5d6d7e"}}], {
        title: {text: "mark-level attention beta (sums to 1)", x: 0, font: {size: 14}}, height: 240,
        margin: {l: 90, r: 20, t: 36, b: 42}, yaxis: {autorange: "reversed"}, xaxis: {title: {text: "beta"}, rangemode: "tozero"}
      }, config);
    }
    // one symmetric scale shared by every signed map of the gene
    let limit = 0;
    for (const method of genes.methods) {
      if (!method.signed) { continue; }
      const a = arrays["map_" + method.name];
      for (let i = g * cells; i < (g + 1) * cells; i++) { if (Math.abs(a[i]) > limit) { limit = Math.abs(a[i]); } }
    }
    limit = limit > 0 ? limit : 1;
    for (const method of genes.methods) {
      const z = rows(arrays["map_" + method.name], g);
      const style = method.signed
        ? {colorscale: [[0, "#2166ac"], [0.5, "#f7f7f7"], [1, "#b2182b"]], zmin: -limit, zmax: limit,
           colorbar: {title: {text: "toward high \u2191<br>toward low \u2193<br>expression", side: "right"}}}
        : {colorscale: "Viridis", zmin: 0, colorbar: {title: {text: method.unit}}};
      heatmap("gene-map-" + method.name, z, method.label + (method.signed ? " (red: toward high expression, blue: toward low; one scale for all signed maps)" : ""), style);
    }
    return true;
  }
  const box = document.getElementById("gene-search");
  document.getElementById("gene-form").addEventListener("submit", function (event) {
    event.preventDefault();
    show(box.value);
  });
  box.addEventListener("change", function () { show(box.value); });
  show(genes.ids[0]);
})();
"""


@dataclass
class Page:
    """Collects the sections of a report; :meth:`render` returns the whole HTML document."""

    title: str
    subtitle: str = ""
    parts: list[str] = field(default_factory=list)
    figures: dict[str, dict] = field(default_factory=dict)
    genes: dict | None = None
    headings: list[tuple[str, str]] = field(default_factory=list)

    def heading(self, text: str) -> None:
        anchor = f"section-{len(self.headings) + 1}"
        self.headings.append((anchor, text))
        self.parts.append(f'<h2 id="{anchor}">{html.escape(text)}</h2>')

    def note(self, text: str) -> None:
        self.parts.append(f'<p class="note">{html.escape(text)}</p>')

    def metrics(self, values: dict[str, object]) -> None:
        """A two-column table of named values (floats shown to 4 decimals)."""
        rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(_format(v))}</td></tr>" for k, v in values.items())
        self.parts.append(f'<table class="metrics">{rows}</table>')

    def table(self, frame: pd.DataFrame, *, digits: int = 4) -> None:
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_format(v, digits))}</td>" for v in row) + "</tr>" for row in frame.itertuples(index=False)
        )
        self.parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def figure(self, spec: dict, *, height: int | None = None) -> str:
        """Add a Plotly figure; return its element id."""
        figure_id = f"figure-{len(self.figures) + 1}"
        spec = {"data": spec["data"], "layout": dict(spec.get("layout", {}))}
        if height is not None:
            spec["layout"]["height"] = height
        self.figures[figure_id] = spec
        self.parts.append(f'<div class="figure" id="{figure_id}"></div>')
        return figure_id

    def gene_explorer(self, payload: dict) -> None:
        """The search box and one plot per panel; the script fills them for the gene searched."""
        self.genes = payload
        names = payload.get("names") or [""] * len(payload["ids"])
        options = "".join(f'<option value="{html.escape(g)}">{html.escape(n)}</option>' if n else f'<option value="{html.escape(g)}">' for g, n in zip(payload["ids"], names))
        example = f"gene id or symbol, e.g. {payload['ids'][0]}" + (f" or {names[0]}" if names[0] else "") if any(names) else f"gene id, e.g. {payload['ids'][0]}"
        panels = ['<div class="figure" id="gene-input"></div>']
        if "alpha" in payload["arrays"]:
            panels.append('<div class="figure" id="gene-alpha"></div>')
        if "beta" in payload["arrays"]:
            panels.append('<div class="figure" id="gene-beta"></div>')
        panels += [f'<div class="figure" id="gene-map-{html.escape(m["name"])}"></div>' for m in payload["methods"]]
        self.parts.append(
            '<div id="gene-explorer">'
            '<form id="gene-form" class="controls" autocomplete="off">'
            '<label for="gene-search">Gene:</label>'
            f'<input id="gene-search" name="gene" list="gene-ids" placeholder="{html.escape(example)}">'
            '<button type="submit">Show</button></form>'
            f'<datalist id="gene-ids">{options}</datalist>'
            '<p id="gene-status"></p>' + "".join(panels) + "</div>"
        )

    def render(self) -> str:
        """The whole page, with plotly.js and the data inlined."""
        from plotly.offline import get_plotlyjs

        data = json.dumps(_finite({"figures": self.figures, "genes": self.genes}), separators=(",", ":"))
        data = data.replace("</", "<\\/")  # the JSON sits inside a <script> element
        nav = "".join(f'<a href="#{anchor}">{html.escape(text)}</a>' for anchor, text in self.headings)
        return (
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(self.title)}</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{_STYLE}</style>"
            f"<script>{get_plotlyjs()}</script></head><body>"
            f"<h1>{html.escape(self.title)}</h1>"
            + (f'<p class="note">{html.escape(self.subtitle)}</p>' if self.subtitle else "")
            + f"<nav>{nav}</nav>"
            + "".join(self.parts)
            + f'<script type="application/json" id="report-data">{data}</script>'
            + f"<script>{_SCRIPT}</script></body></html>\n"
        )


def float32_base64(values: np.ndarray) -> str:
    """An array as the base64 text of its little-endian float32 bytes (the explorer's Float32Array)."""
    return base64.b64encode(np.ascontiguousarray(values, dtype="<f4").tobytes()).decode("ascii")


def _finite(value):
    """JSON has no NaN or infinity: they become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.ndarray):
        return _finite(value.tolist())
    if isinstance(value, np.generic):
        return _finite(value.item())
    return value


def _format(value, digits: int = 4) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if not np.isfinite(value) else f"{value:.{digits}f}"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return "" if value is None or (isinstance(value, float) and not np.isfinite(value)) else str(value)
