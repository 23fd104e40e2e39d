"""The examples in the docstrings of the interpret package run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["attribution", "explain", "scoring", "benchmark"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"attentivechrome.interpret.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
