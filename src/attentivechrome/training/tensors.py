"""Splits as tensors on the training device, a DDP rank's shard of them, and the marks hidden by mark dropout."""

from __future__ import annotations

import numpy as np
import torch

from ..data.dataset import HistoneData
from .distributed import Ranks


def to_device(data: HistoneData, device: torch.device, ranks: Ranks | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Counts and labels on the device; for a DDP rank only its shard (genes ``i`` with ``i % world_size == rank``)."""
    x = torch.from_numpy(np.ascontiguousarray(data.counts, dtype=np.float32))
    y = None if data.labels is None else torch.from_numpy(data.labels.astype(np.float32))
    if ranks is not None and ranks.world_size > 1:
        x, y = x[ranks.rank :: ranks.world_size], None if y is None else y[ranks.rank :: ranks.world_size]
    return x.to(device), None if y is None else y.to(device)


def prior_tensor(data: HistoneData, device: torch.device, ranks: Ranks | None = None) -> torch.Tensor | None:
    """The genes' reference-prior features on the device (a DDP rank's shard, as :func:`to_device`), or ``None``."""
    if data.prior is None:
        return None
    prior = torch.from_numpy(np.ascontiguousarray(data.prior, dtype=np.float32))
    if ranks is not None and ranks.world_size > 1:
        prior = prior[ranks.rank :: ranks.world_size]
    return prior.to(device)


def mark_dropout_mask(present: torch.Tensor, p: float, generator: torch.Generator) -> torch.Tensor:
    """Which marks to hide: bool (genes, marks), each present mark with probability ``p``, at least one kept per gene.

    ``present`` is bool (genes, marks) on the CPU. The draws depend only on ``present`` and the
    generator, so DDP ranks that share the generator hide the same marks of a global batch.
    """
    drop = (torch.rand(present.shape, generator=generator) < p) & present
    emptied = ~(present & ~drop).any(dim=1)  # genes that would lose every mark: keep one of theirs
    if emptied.any():
        keep = torch.multinomial(present[emptied].float(), 1, generator=generator).squeeze(1)
        drop[emptied.nonzero().squeeze(1), keep] = False
    return drop
