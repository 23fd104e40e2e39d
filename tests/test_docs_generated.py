"""docs/interpretation.md's measured tables are rewritten by benchmarks/interpretation.py: every block must have a producer."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("interpretation_generator", ROOT / "benchmarks" / "interpretation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_generated_block_of_the_interpretation_page_has_a_producer():
    generator = _generator()
    text = generator.DOC.read_text()
    names = [m["name"] for m in generator.MARKER.finditer(text)]
    opened = re.findall(r"<!-- generated: ([a-z0-9-]+) -->", text)
    assert names == opened, "a generated block is not closed by its <!-- end: NAME --> marker"
    assert len(set(names)) == len(names), "a block name is used twice"
    assert names, "the page has no generated blocks"
    assert set(names) <= generator.producers(), f"blocks without a producer: {sorted(set(names) - generator.producers())}"


def test_filling_replaces_only_the_named_blocks():
    generator = _generator()
    text = "a\n<!-- generated: one -->\nold\n<!-- end: one -->\nb\n<!-- generated: two -->\nkeep\n<!-- end: two -->\n"
    filled, replaced = generator.fill(text, {"one": "new\n"})
    assert replaced == ["one"]
    assert "new\n<!-- end: one -->" in filled and "old" not in filled
    assert "keep" in filled
