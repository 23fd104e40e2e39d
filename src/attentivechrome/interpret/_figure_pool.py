"""Draw and save ``interpret``'s figures in worker processes, while the main process computes the maps.

The figures took as long as the maps of 200 genes: a dozen genes x two heatmap figures and three
class figures, each drawn and rasterised by matplotlib in pure Python. They do not depend on each
other, so they are drawn by two worker processes (forked, so they start in milliseconds). The
workers are started before the maps are computed and import matplotlib then, on the other core,
while the main process works; the figures themselves are the same as drawn in one process, by
the same functions. Where processes cannot be forked (or on one core, or for a handful of
figures), everything is drawn in the calling process instead.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .._io import atomic_path

#: Worker processes for the figures (at most; fewer on a machine with fewer cores).
MAX_WORKERS = 2


@dataclass
class FigureJob:
    """One figure: ``plots.<function>(*args, **kwargs)`` saved as ``stem.<kind>`` for each of ``kinds``."""

    function: str
    args: tuple
    kwargs: dict = field(default_factory=dict)
    stem: Path = Path("figure")
    kinds: tuple[str, ...] = ("svg", "png")
    dpi: int = 150


def render(job: FigureJob) -> Path:
    """Draw the figure of ``job`` and save it atomically; return the PNG path."""
    from . import plots

    figure = getattr(plots, job.function)(*job.args, **job.kwargs)
    for kind in job.kinds:
        with atomic_path(job.stem.with_suffix(f".{kind}")) as tmp:
            figure.savefig(tmp, format=kind, dpi=job.dpi)
    return job.stem.with_suffix(".png")


def _warm_up() -> None:
    import gc

    from . import plots  # noqa: F401 - matplotlib's import, paid while the main process computes the maps

    gc.freeze()  # the objects inherited and imported stay: the collector no longer walks them (15% less CPU per figure)


class FigurePool:
    """A context manager: :meth:`draw` figures in worker processes started on entry (or in this process)."""

    def __init__(self, workers: int | None = None) -> None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        self.workers = min(MAX_WORKERS, cores) if workers is None else workers
        self.executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> FigurePool:
        if self.workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            try:
                self.executor = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"), initializer=_warm_up)
                for _ in range(self.workers):
                    self.executor.submit(_warm_up)  # start the workers now, not at the first figure
            except (OSError, ValueError):  # no processes to be had: draw here
                self.executor = None
        return self

    def __exit__(self, *exc) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)

    @property
    def parallel(self) -> bool:
        return self.executor is not None

    def submit(self, job: FigureJob) -> Future:
        """Start drawing ``job`` (in this process, at once, without workers); its future gives the PNG path."""
        if self.executor is not None:
            return self.executor.submit(render, job)
        done: Future = Future()
        done.set_result(render(job))
        return done

    def draw(self, jobs: list[FigureJob]) -> list[Path]:
        """Draw every job; the PNG paths in the order of ``jobs``. A failure in a worker is raised here."""
        return [f.result() for f in [self.submit(job) for job in jobs]]
