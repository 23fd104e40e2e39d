"""Fixtures of the interpretation tests: a tiny model trained on a planted dependency, a tiny checkpoint."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from torch import nn

from attentivechrome.data import MARKS, HistoneData
from attentivechrome.models import AttentiveChrome

#: The planted dependency: expression is high exactly when H3K4me3 has a peak on these bins.
PLANTED_MARK = MARKS.index("H3K4me3")
PLANTED_BINS = slice(8, 12)
N_BINS = 20


@dataclass
class PlantedModel:
    """The trained model, held-out genes, and where the rule lives (mark index, bin slice)."""

    model: AttentiveChrome
    data: HistoneData
    mark: int = PLANTED_MARK
    bins: slice = field(default_factory=lambda: PLANTED_BINS)


@pytest.fixture(autouse=True)
def _one_thread():
    """The test machine's cores are shared; run torch on one thread and restore the setting after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def planted_data(n_genes: int, seed: int) -> HistoneData:
    """Poisson background on every cell; half the genes get an H3K4me3 peak on the planted bins and label 1."""
    rng = np.random.default_rng(seed)
    counts = rng.poisson(2.0, size=(n_genes, N_BINS, len(MARKS))).astype(np.float32)
    high = rng.random(n_genes) < 0.5
    counts[high, PLANTED_BINS, PLANTED_MARK] += rng.poisson(12.0, size=(int(high.sum()), 4))
    gene_ids = np.array([f"G{i:04d}" for i in range(n_genes)])
    return HistoneData(gene_ids=gene_ids, counts=counts, labels=high.astype(np.int64), marks=MARKS, source="planted")


@pytest.fixture(scope="session")
def planted_model() -> PlantedModel:
    """A small AttentiveChrome trained until it separates the planted classes of its training genes."""
    torch.set_num_threads(1)
    train = planted_data(256, seed=0)
    torch.manual_seed(0)
    model = AttentiveChrome(len(MARKS), bin_hidden=6, mark_hidden=3, transform="log1p")
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    x = torch.from_numpy(train.counts)
    y = torch.from_numpy(train.labels.astype(np.float32))
    generator = torch.Generator().manual_seed(0)
    for _ in range(10):
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), 32):
            index = order[start : start + 32]
            loss = nn.functional.binary_cross_entropy_with_logits(model(x[index]).logits, y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    test = planted_data(64, seed=1)
    with torch.no_grad():
        accuracy = float(((model(torch.from_numpy(test.counts)).logits > 0).numpy() == (test.labels == 1)).mean())
    assert accuracy > 0.95, f"the planted model did not learn its rule (accuracy {accuracy:.2f}); the attribution tests need it"
    return PlantedModel(model=model, data=test)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """An untrained, seeded tiny AttentiveChrome saved as a checkpoint for 100-bin inputs."""
    from attentivechrome.models.checkpoint import save_checkpoint

    torch.manual_seed(3)
    model = AttentiveChrome(len(MARKS), bin_hidden=4, mark_hidden=2, transform="log1p")
    path = tmp_path_factory.mktemp("tiny-model") / "tiny.pt"
    save_checkpoint(model, path, marks=MARKS, n_bins=100)
    return path
