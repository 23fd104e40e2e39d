"""Fixtures of the experiment runners' tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def two_cells(tmp_path_factory):
    """Two simulated cells (cellA, cellB) of 90 genes x 20 bins."""
    from attentivechrome.data.synthetic import write_simulation

    root = tmp_path_factory.mktemp("cells")
    for i, name in enumerate(("cellA", "cellB")):
        write_simulation(root / name, 90, 20, seed=i)
    return [root / "cellA", root / "cellB"]
