"""What a training run was trained on, in a few lines: cells, marks, bins, genes and a digest of the values.

A resume state (see :mod:`attentivechrome.training.trainer`) records the fingerprint of its data,
and ``--resume`` continues only on the same data: :func:`describe_difference` says in one
phrase what differs.
"""

from __future__ import annotations

import hashlib

import numpy as np

from ..data.schema import SPLITS


def data_fingerprint(pooled, source: str = "") -> dict:
    """The fingerprint of pooled training data (a :class:`~attentivechrome.training.pooling.PooledData`).

    Plain values only (strings, ints, lists, dicts), so a weights-only ``torch.load`` reads it back.
    ``source`` (where the data came from) is kept for messages and not compared.
    """
    train = pooled.splits["train"]
    genes, values = {}, {}
    for split in SPLITS:
        data = pooled.splits[split]
        ids = hashlib.sha256("\n".join(map(str, data.gene_ids)).encode("utf-8")).hexdigest()
        genes[split] = {"n": int(data.n_genes), "sha256": ids}
        digest = hashlib.sha256(np.ascontiguousarray(data.counts, dtype=np.float32).data)
        if data.labels is not None:
            digest.update(np.ascontiguousarray(data.labels, dtype=np.float64).data)
        values[split] = digest.hexdigest()
    return {
        "cells": [str(c) for c in pooled.cells],
        "marks": [str(m) for m in pooled.marks],
        "n_bins": int(train.n_bins),
        "genes": genes,
        "values": values,
        "source": str(source),
    }


def describe_difference(saved: dict, now: dict) -> list[str]:
    """What differs between two fingerprints (empty when they describe the same data), one short phrase each."""
    differ = []
    if saved.get("cells") != now["cells"]:
        differ.append(f"cells {', '.join(map(str, saved.get('cells') or []))} -> {', '.join(now['cells'])}")
    if saved.get("marks") != now["marks"]:
        differ.append(f"marks {', '.join(map(str, saved.get('marks') or []))} -> {', '.join(now['marks'])}")
    if saved.get("n_bins") != now["n_bins"]:
        differ.append(f"bins {saved.get('n_bins')} -> {now['n_bins']}")
    saved_genes = saved.get("genes") if isinstance(saved.get("genes"), dict) else {}
    saved_values = saved.get("values") if isinstance(saved.get("values"), dict) else {}
    for split in SPLITS:
        before, after = saved_genes.get(split), now["genes"][split]
        if not isinstance(before, dict) or before.get("n") != after["n"]:
            n = before.get("n") if isinstance(before, dict) else None
            differ.append(f"{split} genes {n} -> {after['n']}")
        elif before.get("sha256") != after["sha256"]:
            differ.append(f"other {split} gene ids")
        elif saved_values.get(split) != now["values"][split]:
            differ.append(f"other {split} values")
    return differ
