"""The one place that touches global state: seeds, devices, CPU threads, progress bars."""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# numpy and torch are imported inside the functions that use them: the progress-bar switch and
# the thread helpers are read by light modules (downloads, featurize) that need neither.

#: Show progress bars (the CLI turns this off with --quiet; tests may too).
SHOW_PROGRESS = os.environ.get("ATTENTIVECHROME_NO_PROGRESS", "") == ""


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a torch generator for data shuffling."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


def resolve_device(device: str = "auto") -> torch.device:
    """Map ``auto`` to CUDA when available, else CPU; validate other names."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"unknown device {device!r}: use auto, cpu or cuda[:N]") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available on this machine")
    return resolved


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` PyTorch intra-op threads, then restore the previous count."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


# --------------------------------------------------------------------------- CPU cores and kernel threads

#: Environment variable fixing the encoder kernel's thread count.
THREADS_ENV = "ATTENTIVECHROME_THREADS"
_LOAD_CHECK_S = 2.0
_auto = {"checked": -1e9, "threads": 0}
_num_threads: int | None = None


def usable_cores() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def load_average() -> float:
    """The 1-minute load average (0 where the system does not report one)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def threads_for_load(cores: int, load: float, own: int) -> int:
    """Threads to use on ``cores`` when ``load`` cores are busy and ``own`` of them are ours.

    Other processes keep about ``load - own`` cores busy; the rest are ours, at least one.
    """
    others = max(0.0, load - own)
    return max(1, min(cores, int(cores - others + 0.5)))


def cpu_sample() -> tuple[float, float, float] | None:
    """(wall seconds, CPU seconds busy on the whole machine, CPU seconds of this process) now; ``None`` without ``/proc/stat``."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    own = os.times()
    return time.monotonic(), (sum(fields[:8]) - idle) / ticks, own.user + own.system


def others_busy(since: tuple[float, float, float] | None, now: tuple[float, float, float] | None) -> float | None:
    """Cores other processes kept busy between two :func:`cpu_sample` calls; ``None`` when unknown or too short to tell."""
    if since is None or now is None or now[0] - since[0] < 0.2:
        return None
    return max(0.0, ((now[1] - since[1]) - (now[2] - since[2])) / (now[0] - since[0]))


#: The sample each measurement of the other processes' load starts from (first: this module's import).
_since = {"sample": cpu_sample()}


def _others_now(own_threads: int) -> float:
    """Cores other processes keep busy: measured since the last call (or import), else from the 1-minute load.

    The 1-minute load average still counts a process that ended a minute ago (say, the previous
    ``train``), which would leave a kernel on one thread of two for its first minute.
    """
    sample = cpu_sample()
    measured = others_busy(_since["sample"], sample)
    if sample is not None and (measured is not None or _since["sample"] is None):
        _since["sample"] = sample
    return measured if measured is not None else max(0.0, load_average() - own_threads)


def free_cores() -> int:
    """Cores not kept busy by other processes now (at least 1)."""
    return threads_for_load(usable_cores(), _others_now(0), 0)


def set_num_threads(n: int | None) -> None:
    """Threads the encoder kernel uses per call; ``None`` (the default) chooses them per call, see :func:`get_num_threads`."""
    global _num_threads
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
        raise ValueError(f"kernel threads must be a positive integer or None, got {n!r}")
    _num_threads = n


def get_num_threads() -> int:
    """Threads the encoder kernel uses per call.

    Set by :func:`set_num_threads` or the ``ATTENTIVECHROME_THREADS`` environment variable;
    otherwise every usable core while the machine is otherwise idle, and fewer when other
    processes keep cores busy (a thread that is switched out stalls the whole call, which on a
    shared 2-core machine made 2 threads slower than 1). Busy is measured every 2 s from the
    machine's CPU time less this process's (``/proc/stat``), else from the 1-minute load.
    """
    if _num_threads is not None:
        return _num_threads
    explicit = os.environ.get(THREADS_ENV, "").strip()
    if explicit.isdigit() and int(explicit) > 0:
        return int(explicit)
    return _load_aware_threads()


def training_threads(uses_kernel: bool) -> int:
    """PyTorch intra-op threads for training one model on the CPU: the one place this is decided.

    A model whose heavy work runs in the compiled encoder kernel (AttentiveChrome) trains with
    one PyTorch thread: its other operations are small, and OpenMP threads waiting for each
    other at every one of them cost more than they gain (on a busy 2-core machine, 2 threads
    made the reference LSTM 20x slower); the kernel takes its own threads. Every other model
    trains with the process's share of the cores, :func:`get_num_threads`: every free core, or
    one in a worker of ``train-many`` and ``benchmark --jobs`` (:func:`single_threaded_worker`).
    """
    return 1 if uses_kernel else get_num_threads()


def single_threaded_worker() -> None:
    """Settings of a worker process that trains beside others: one PyTorch thread, one kernel thread."""
    import torch

    torch.set_num_threads(1)
    set_num_threads(1)


def _load_aware_threads() -> int:
    now = time.monotonic()
    if now - _auto["checked"] >= _LOAD_CHECK_S:
        _auto["threads"] = threads_for_load(usable_cores(), _others_now(_auto["threads"] or 1), 0)
        _auto["checked"] = now
    return _auto["threads"]


# --------------------------------------------------------------------------- peak memory of a piece of work


def reset_peak_memory() -> bool:
    """Start a new peak-memory measurement for this process (Linux: reset its high-water mark); whether it could."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")  # 5: reset the peak resident set size to the current one
        return True
    except OSError:
        return False


def peak_memory_mb() -> float:
    """This process's peak resident memory in MB: since the last :func:`reset_peak_memory` on Linux, else since it started."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, kB elsewhere


def keep_freed_memory(limit_mb: int = 128) -> bool:
    """Let glibc's malloc keep freed blocks of up to ``limit_mb`` MB for reuse instead of returning them to the system.

    The attribution passes allocate and free tens of MB of LSTM gates per batch; by default glibc
    maps each such block afresh (``mmap``) and unmaps it when freed, so every pass pays page faults
    again: 3-4 s of system time in ``interpret`` on 200 genes, against 1 s with this (the results
    are the same). It applies to the whole process from the call on; False where it is not glibc.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    size = int(limit_mb) * 1024 * 1024
    return bool(mallopt(-3, size)) and bool(mallopt(-1, size))  # M_MMAP_THRESHOLD, M_TRIM_THRESHOLD
