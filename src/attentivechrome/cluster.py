"""Where independent units of work run: in this process, on a local Dask cluster, or on an existing one.

One engine serves one machine and many: ``jobs=N`` starts a local ``dask.distributed`` cluster
of N single-threaded worker processes, ``scheduler=ADDRESS`` connects to a running cluster
(``dask scheduler`` + ``dask worker`` processes, dask-jobqueue's SLURM/PBS clusters,
dask-kubernetes). Units are plain descriptions holding paths: workers read the data from a
path they share with the caller (a network file system on a cluster), never through the scheduler.

Workers of a local cluster end with the process that started them (:func:`die_with_parent`): kill
the caller, with any signal, and its workers stop at once instead of training on unobserved.

Dask reruns a unit elsewhere when the worker running it is lost (up to
``distributed.scheduler.allowed-failures`` times, 3 by default); the caller's units catch
their own errors, so a failing unit fails only itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def dask_client(jobs: int | None, scheduler: str | None) -> Iterator[Any]:
    """A ``distributed.Client``: to ``scheduler`` when given, else to a new local cluster of ``jobs`` single-threaded workers.

    Raises
    ------
    ValueError
        When ``scheduler`` cannot be reached.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as err:
            raise ValueError(f"no Dask scheduler answers at {scheduler} ({err}); start one with `dask scheduler` or check the address") from None
        with client:
            yield client
        return
    # processes=True: one Python process per worker, so PyTorch's threads and the GIL stay apart;
    # everything listens on 127.0.0.1 only, the scheduler's web page on a free port (not a fixed 8787 another cluster may hold).
    with LocalCluster(n_workers=jobs or 1, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster:
        with Client(cluster) as client:
            yield client


def map_units(
    fn: Callable[[Any], Any],
    units: Sequence[Any],
    *,
    jobs: int | None = 1,
    scheduler: str | None = None,
    on_done: Callable[[int, Any], None] | None = None,
    on_status: Callable[[dict[str, int]], None] | None = None,
) -> list[Any]:
    """``[fn(unit) for unit in units]``, in this process (``jobs`` 1, no scheduler) or on Dask.

    Parameters
    ----------
    fn
        A module-level function (workers import it by name); it should not raise for a failure
        of its unit but return a result that says so.
    on_done
        Called in this process with ``(index, result)`` as each unit finishes, in finishing order.
    on_status
        Called with ``{"done": d, "running": r, "failed": f, "total": n}`` whenever a unit
        finishes (``failed``: units whose task raised, or whose worker was lost too often).

    Returns
    -------
    list
        The results, in the order of ``units``. A unit whose task itself raised (a bug in
        ``fn``, or workers lost more often than Dask allows) gives the exception object.
    """
    if not units:
        return []
    if scheduler is None and (jobs or 1) == 1:
        results = []
        for index, unit in enumerate(units):
            result = fn(unit)
            results.append(result)
            if on_done is not None:
                on_done(index, result)
            if on_status is not None:
                on_status({"done": index + 1, "running": 0, "failed": 0, "total": len(units)})
        return results
    from distributed import as_completed

    results: list[Any] = [None] * len(units)
    with dask_client(jobs, scheduler) as client:
        # A local cluster's workers are this process's children: they end with it (a remote cluster's workers are not ours).
        task = fn if scheduler is not None else _DieWithParent(fn)
        futures = [client.submit(task, unit, pure=False, retries=0) for unit in units]
        position = {future.key: i for i, future in enumerate(futures)}
        done = failed = 0
        for future in as_completed(futures):
            index = position[future.key]
            try:
                results[index] = future.result()
            except Exception as err:  # noqa: BLE001 - the task raised, or its workers kept dying
                results[index] = err
                failed += 1
            done += 1
            if on_done is not None:
                on_done(index, results[index])
            if on_status is not None:
                on_status({"done": done, "running": _running(client), "failed": failed, "total": len(units)})
    return results


class _DieWithParent:
    """``fn`` run in a worker that first arranges to end with its parent (picklable: holds ``fn`` by reference)."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        self.__name__ = getattr(fn, "__name__", "unit")  # dask names the task after it

    def __call__(self, unit: Any) -> Any:
        die_with_parent()
        return self.fn(unit)


_watching = {"parent": None}


def die_with_parent(poll_seconds: float = 0.5) -> None:
    """End this process as soon as its parent process ends, however the parent ended (even SIGKILL).

    Called in a worker process. On Linux the kernel sends this process SIGKILL when its parent
    dies (``prctl(PR_SET_PDEATHSIG)``); everywhere, a daemon thread checks every
    ``poll_seconds`` whether the parent is still there (an orphan is adopted by another process)
    and ends this process if not. Calling it again in the same process does nothing.
    """
    parent = os.getppid()
    if _watching["parent"] == parent:
        return
    _watching["parent"] = parent
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # 1: PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # no prctl: the thread below still watches
            pass
    if os.getppid() != parent:  # the parent died before the watch was set up
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:
                logger.error("the process that started this worker (pid %d) is gone; stopping", parent)
                os._exit(1)

    threading.Thread(target=watch, name="attentivechrome-parent-watch", daemon=True).start()


def _running(client) -> int:
    """Tasks the workers are processing now (0 when the scheduler does not say)."""
    try:
        return sum(len(keys) for keys in client.processing().values())
    except Exception:  # noqa: BLE001 - a status line is not worth failing for
        return 0
