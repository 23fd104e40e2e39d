"""Chromosome names that differ only by convention (``chr1`` vs ``1``, ``chrM`` vs ``MT``)."""

from __future__ import annotations

from collections.abc import Iterable


def alternative_name(name: str) -> str:
    """The same chromosome under the other common convention (UCSC ``chr1`` <-> Ensembl ``1``).

    Examples
    --------
    >>> alternative_name("chr1"), alternative_name("1"), alternative_name("chrM"), alternative_name("MT")
    ('1', 'chr1', 'MT', 'chrM')
    """
    if name == "chrM":
        return "MT"
    if name == "MT":
        return "chrM"
    if name.startswith("chr"):
        return name[3:]
    return "chr" + name


def match_chromosomes(wanted: Iterable[str], available: Iterable[str]) -> dict[str, str | None]:
    """Map each wanted chromosome name to its name in ``available`` (exact first, then the other convention).

    Returns ``{wanted: available name or None}``.

    Examples
    --------
    >>> match_chromosomes(["chr1", "chr2", "chrUn"], ["1", "2", "X"])
    {'chr1': '1', 'chr2': '2', 'chrUn': None}
    """
    available = set(available)
    mapping: dict[str, str | None] = {}
    for name in wanted:
        if name in available:
            mapping[name] = name
        elif alternative_name(name) in available:
            mapping[name] = alternative_name(name)
        else:
            mapping[name] = None
    return mapping


def same_chromosome(a: str, b: str) -> bool:
    """Whether two names denote the same chromosome under either convention."""
    return a == b or alternative_name(a) == b


def preview(names: Iterable[str], limit: int = 4) -> str:
    """A short comma list for messages: ``chr1, chr2, chr3, ... (25 in all)``."""
    names = list(names)
    head = ", ".join(names[:limit])
    return head if len(names) <= limit else f"{head}, ... ({len(names)} in all)"
