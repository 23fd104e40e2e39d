"""Every example in the package's docstrings runs and gives what it shows.

The modules are found by reading the source for ``>>>``, so a module that gains an example is
tested without being listed here.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = "attentivechrome"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE


def modules_with_examples() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        if ">>>" in path.read_text(encoding="utf-8"):
            parts = list(path.relative_to(SRC).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found.append(".".join([PACKAGE, *parts]))
    return found


MODULES = modules_with_examples()


def test_the_examples_are_found():
    assert len(MODULES) >= 16, MODULES  # the modules with examples when this test was written


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, report=False)
    assert result.attempted > 0, f"{name} holds '>>>' but doctest found no example in its docstrings"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (run python -m doctest -v on it)"
