"""The fast bin-level encoder: every mark, both directions and the bin attention in one CPU kernel.

AttentiveChrome runs one bidirectional LSTM (input 1, hidden 32) per mark over 100 bins and
pools each with an attention context vector. The reference path makes one ``nn.LSTM`` call and
a few attention operations per mark. Here a small C++ kernel (``_fast_lstm.cpp``) does all of
it in one call: the hidden size is a compile-time constant so the gate accumulators stay in
vector registers, the gate non-linearities are fused into one pass (``tanh(x) = 2 sigmoid(2x) - 1``),
and the (mark, direction) groups are spread over threads that meet only once per phase. The
backward pass (attention, then back-propagation through time, then the weight gradients) runs
in the same kernel. The saved activations live in buffers that are reused from one training
step to the next (fresh memory costs a page fault per 4 KB). Parameters are the ``nn.LSTM``
modules' own tensors, so the state_dict does not change.

The kernel is compiled on first use with the system C++ compiler (about a second), cached
under :func:`attentivechrome._cache.cache_root` and loaded with ctypes; it needs no PyTorch
headers. Without a compiler the model falls back to the reference path and logs a warning.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import threading
from pathlib import Path

import torch
from torch.autograd.function import once_differentiable

from .._cache import cache_root
from .._settings import get_num_threads
from .._io import atomic_path

logger = logging.getLogger(__name__)

_SOURCE = Path(__file__).with_name("_fast_lstm.cpp")
_BASE_FLAGS = ("-O3", "-std=c++17", "-fPIC", "-shared", "-pthread")
_COMPILE_TIMEOUT_S = 120

#: Set to a non-empty value to switch the kernel off (the model then uses nn.LSTM).
DISABLE_ENV = "ATTENTIVECHROME_NO_KERNEL"
#: The ``-march`` the kernel is built for (default ``native``). ``x86-64-v3`` builds what an AVX2
#: CPU without AVX-512 runs, so its speed can be measured on an AVX-512 machine (benchmarks/full_cell.py).
ARCH_ENV = "ATTENTIVECHROME_KERNEL_ARCH"

_lock = threading.Lock()
_libraries: dict[int, ctypes.CDLL | None] = {}
_failures: dict[int, str] = {}


# --------------------------------------------------------------------------- building and loading


def supports(hidden: int) -> bool:
    """Whether the kernel can run a hidden size (a positive multiple of 4, up to 256)."""
    return 0 < hidden <= 256 and hidden % 4 == 0


def kernel_library(hidden: int) -> ctypes.CDLL | None:
    """The compiled kernel for ``hidden`` units, building it on first use; ``None`` when unavailable."""
    if hidden in _libraries:
        return _libraries[hidden]
    with _lock:
        if hidden not in _libraries:
            library = None
            if os.environ.get(DISABLE_ENV):
                _failures[hidden] = f"switched off by {DISABLE_ENV}"
            elif not supports(hidden):
                _failures[hidden] = f"hidden size {hidden} is not a multiple of 4"
            else:
                try:
                    library = _load(_build(hidden), hidden)
                except (OSError, RuntimeError, subprocess.SubprocessError) as err:
                    _failures[hidden] = str(err)
                    logger.warning("fast LSTM kernel unavailable (%s); using the nn.LSTM reference path", err)
            _libraries[hidden] = library
    return _libraries[hidden]


def kernel_status(hidden: int = 32) -> str:
    """One line saying whether the kernel for ``hidden`` units is in use, and why not if not."""
    library = kernel_library(hidden)
    if library is None:
        return f"reference nn.LSTM (kernel unavailable: {_failures.get(hidden, 'unknown reason')})"
    return f"compiled kernel {Path(library._name).name} ({library.acx_vector_width()} floats per vector)"


def _cpu_signature() -> str:
    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.startswith(("flags", "Features", "model name")):
                    flags += line
                if line.strip() == "":
                    break
    except OSError:
        pass
    return f"{platform.machine()}|{platform.processor()}|{flags}"


def _compiler() -> str:
    for candidate in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if candidate and shutil.which(candidate):
            return candidate
    raise RuntimeError("no C++ compiler found (set CXX or install g++)")


def _build(hidden: int) -> Path:
    """Compile the kernel for ``hidden`` units unless a cached build exists; return the library path."""
    source = _SOURCE.read_bytes()
    arch = f"-march={os.environ.get(ARCH_ENV) or 'native'}"
    flags = (*_BASE_FLAGS, arch, f"-DHID={hidden}")
    key = hashlib.sha256(source + repr(flags).encode() + _cpu_signature().encode()).hexdigest()[:20]
    target = cache_root() / "kernels" / f"fast_lstm_h{hidden}_{key}.so"
    if target.is_file():
        return target
    compiler = _compiler()
    with atomic_path(target) as tmp:  # concurrent builds each rename a complete library into place
        for attempt in (flags, tuple(f for f in flags if f != arch)):
            done = subprocess.run(
                [compiler, *attempt, str(_SOURCE), "-o", str(tmp)],
                capture_output=True,
                text=True,
                timeout=_COMPILE_TIMEOUT_S,
            )
            if done.returncode == 0:
                break
        else:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise RuntimeError(f"{compiler} failed to build {_SOURCE.name}: {last}")
    logger.info("compiled %s", target)
    return target


def _load(path: Path, hidden: int) -> ctypes.CDLL:
    library = ctypes.CDLL(str(path))
    i, p = ctypes.c_int, ctypes.c_void_p
    library.acx_hidden_size.restype = i
    library.acx_vector_width.restype = i
    library.acx_forward.argtypes = [i, i, i] + [p] * 11 + [i]
    library.acx_forward.restype = None
    library.acx_backward.argtypes = [i, i, i] + [p] * 16 + [i]
    library.acx_backward.restype = None
    if library.acx_hidden_size() != hidden:
        raise RuntimeError(f"{path.name} was built for {library.acx_hidden_size()} units, not {hidden}")
    return library


# --------------------------------------------------------------------------- scratch memory


class _Workspace:
    """Large scratch tensors kept for the next call of the same shape.

    A training step needs several buffers of hundreds of KB per gene; allocating them afresh
    each step costs a page fault per 4 KB, which on a small CPU takes as long as the LSTM itself.
    Buffers come back here only when nothing else refers to them any more. At most two buffers
    per shape and ``max_bytes`` in all are kept; the oldest shapes are dropped first.
    """

    def __init__(self, max_bytes: int = 768 * 2**20) -> None:
        self._free: dict[tuple[int, ...], list[torch.Tensor]] = {}
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def take(self, *shape: int) -> torch.Tensor:
        with self._lock:
            free = self._free.get(shape)
            if free:
                return free.pop()
        return torch.empty(shape)

    def give(self, *tensors: torch.Tensor | None) -> None:
        with self._lock:
            for tensor in tensors:
                if tensor is None:
                    continue
                shape = tuple(tensor.shape)
                free = self._free.pop(shape, [])  # re-inserted last: the most recently used shape
                if len(free) < 2:
                    free.append(tensor)
                self._free[shape] = free
            while self._free and self.nbytes() > self._max_bytes:
                del self._free[next(iter(self._free))]

    def nbytes(self) -> int:
        """Bytes held."""
        return sum(t.numel() * t.element_size() for free in self._free.values() for t in free)

    def clear(self) -> None:
        """Release every buffer."""
        with self._lock:
            self._free.clear()


_workspace = _Workspace()


def release_scratch() -> None:
    """Free the scratch buffers kept for the next call (up to 768 MB after passes of several shapes).

    Training keeps them (one shape, reused every step); a caller that runs passes of many
    different sizes, such as the attribution methods, calls this between them to keep memory low.
    """
    _workspace.clear()


# --------------------------------------------------------------------------- the operation


def _ptr(tensor: torch.Tensor | None) -> int | None:
    return None if tensor is None else tensor.data_ptr()


def _forward(library, x, w_ih, w_hh, bias, context, *, save: bool):
    """Run the forward kernel; return pooled, alpha, and the buffers the backward pass needs."""
    genes, steps, marks = x.shape
    groups, hidden = w_hh.shape[0], w_hh.shape[2]
    w_hh_t = w_hh.transpose(1, 2).contiguous()  # (G, 4H, H) -> (G, H, 4H)
    states = _workspace.take(genes, marks, steps, 2 * hidden)
    alpha = torch.empty(genes, marks, steps)
    pooled = torch.empty(genes, marks, 2 * hidden)
    gates = cells = rows = None
    if save:
        gates = _workspace.take(groups, genes, steps, 4 * hidden)
        cells = _workspace.take(groups, genes, steps, hidden)
        rows = _workspace.take(groups, genes, steps, hidden)  # h_prev of each step
    library.acx_forward(
        genes, steps, marks, _ptr(x), _ptr(w_ih), _ptr(w_hh_t), _ptr(bias), _ptr(context),
        _ptr(states), _ptr(alpha), _ptr(pooled), _ptr(gates), _ptr(cells), _ptr(rows), get_num_threads(),
    )  # fmt: skip
    return pooled, alpha, (states, gates, cells, rows)


class _BinLevel(torch.autograd.Function):
    """Autograd wrapper of the kernel.

    Inputs x (B, T, M), w_ih (G, 4H), w_hh (G, 4H, H), bias (G, 4H), context (M, 2H); outputs
    pooled (B, M, 2H) and alpha (B, M, T).
    """

    @staticmethod
    def forward(ctx, x, w_ih, w_hh, bias, context, library, recycle):  # noqa: D102
        pooled, alpha, buffers = _forward(library, x, w_ih, w_hh, bias, context, save=True)
        ctx.set_materialize_grads(False)
        ctx.library, ctx.recycle, ctx.buffers = library, recycle, buffers
        ctx.save_for_backward(x, w_ih, w_hh, context, alpha)
        return pooled, alpha

    @staticmethod
    @once_differentiable
    def backward(ctx, d_pooled, d_alpha):  # noqa: D102
        if ctx.buffers is None:
            raise RuntimeError(
                "backward through the fast AttentiveChrome encoder ran twice in training mode; "
                "use model.eval() or encoder='reference' to back-propagate through one forward pass more than once"
            )
        x, w_ih, w_hh, context, alpha = ctx.saved_tensors
        states, gates, cells, rows = ctx.buffers
        groups, genes, steps, hidden = cells.shape
        marks = groups // 2
        if d_pooled is None:
            d_pooled = torch.zeros(genes, marks, 2 * hidden)
        d_pooled = d_pooled.contiguous().float()
        d_alpha = None if d_alpha is None else d_alpha.contiguous().float()
        d_score = _workspace.take(genes, marks, steps)
        d_context_parts = torch.empty(genes, marks, 2 * hidden)
        dz = _workspace.take(groups, genes, steps, 4 * hidden)
        d_w_hh, d_w_ih, d_bias = torch.empty(groups, 4 * hidden, hidden), torch.empty(groups, 4 * hidden), torch.empty(groups, 4 * hidden)
        ctx.library.acx_backward(
            genes, steps, marks, _ptr(x), _ptr(w_hh), _ptr(context), _ptr(states), _ptr(alpha), _ptr(gates), _ptr(cells),
            _ptr(rows), _ptr(d_pooled), _ptr(d_alpha), _ptr(d_score), _ptr(d_context_parts), _ptr(dz),
            _ptr(d_w_hh), _ptr(d_w_ih), _ptr(d_bias), get_num_threads(),
        )  # fmt: skip
        d_x = None
        if ctx.needs_input_grad[0]:
            # dx[b, t, m] = sum over both directions and the 4H gates of dz * w_ih.
            per_group = torch.einsum("gbtj,gj->gbt", dz, w_ih)  # (G, B, T)
            d_x = per_group.view(marks, 2, genes, steps).sum(1).permute(1, 2, 0)  # (M, B, T) -> (B, T, M)
        if ctx.recycle:
            _workspace.give(states, gates, cells, rows)
            ctx.buffers = None
        _workspace.give(dz, d_score)
        return d_x, d_w_ih, d_w_hh, d_bias, d_context_parts.sum(0), None, None


def applies(x: torch.Tensor, encoders: torch.nn.Module, hidden: int) -> bool:
    """Whether the kernel can stand in for the per-mark ``nn.LSTM`` calls of ``encoders`` on ``x``.

    Not on a GPU (cuDNN is faster there), for other dtypes or empty input, under TorchScript or
    ``torch.compile``, or when forward hooks expect the ``nn.LSTM`` modules to be called.
    """
    if x.device.type != "cpu" or x.dtype != torch.float32 or x.dim() != 3 or x.shape[0] == 0:
        return False
    if torch.jit.is_scripting() or torch.compiler.is_compiling():
        return False
    module_hooks = torch.nn.modules.module
    if module_hooks._global_forward_hooks or module_hooks._global_forward_pre_hooks:
        return False
    if any(m._forward_hooks or m._forward_pre_hooks for m in encoders.modules()):
        return False
    return kernel_library(hidden) is not None


def encode_marks(x: torch.Tensor, rnns: list[torch.nn.LSTM], contexts: list[torch.Tensor], *, recycle: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Every mark's bidirectional LSTM (``rnns``, input size 1) pooled by its context vector, in one kernel call.

    ``x`` is (genes, bins, marks); returns pooled (genes, marks, 2*hidden) and alpha (genes, marks, bins).
    """
    # Stacked parameters, groups ordered (mark 0 forward, mark 0 reverse, mark 1 forward, ...).
    w_ih = torch.stack([w for r in rnns for w in (r.weight_ih_l0, r.weight_ih_l0_reverse)]).squeeze(-1)  # (G, 4H)
    w_hh = torch.stack([w for r in rnns for w in (r.weight_hh_l0, r.weight_hh_l0_reverse)])  # (G, 4H, H)
    bias = torch.stack([b for r in rnns for b in (r.bias_ih_l0, r.bias_ih_l0_reverse)]) + torch.stack(
        [b for r in rnns for b in (r.bias_hh_l0, r.bias_hh_l0_reverse)]
    )  # (G, 4H)
    context = torch.stack([c.reshape(-1) for c in contexts])  # (M, 2H)
    return bin_level(x, w_ih, w_hh, bias, context, recycle=recycle)


def bin_level(
    x: torch.Tensor,
    w_ih: torch.Tensor,
    w_hh: torch.Tensor,
    bias: torch.Tensor,
    context: torch.Tensor,
    *,
    recycle: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run every per-mark bidirectional LSTM and its bin attention in one kernel call.

    Parameters
    ----------
    x
        Float32 CPU tensor of shape (genes, bins, marks).
    w_ih, w_hh, bias
        Stacked LSTM parameters of shape (groups, 4*hidden), (groups, 4*hidden, hidden) and
        (groups, 4*hidden), groups ordered (mark 0 forward, mark 0 reverse, mark 1 forward, ...);
        ``bias`` is ``b_ih + b_hh``.
    context
        Attention context vectors, shape (marks, 2*hidden).
    recycle
        Reuse the saved activations' memory after the backward pass (training steps). The graph
        then cannot be back-propagated twice. Default False.

    Returns
    -------
    tuple of torch.Tensor
        ``pooled`` of shape (genes, marks, 2*hidden), forward direction first, and ``alpha`` of
        shape (genes, marks, bins), as the per-mark ``nn.LSTM`` and attention modules compute them.

    Raises
    ------
    RuntimeError
        When the kernel for this hidden size is unavailable (check :func:`kernel_library` first).
    """
    hidden = w_hh.shape[-1]
    library = kernel_library(hidden)
    if library is None:
        raise RuntimeError(f"no fast LSTM kernel for hidden size {hidden}: {_failures.get(hidden)}")
    x = x.contiguous()
    tensors = [t.contiguous() for t in (w_ih, w_hh, bias, context)]
    if torch.is_grad_enabled() and (x.requires_grad or any(t.requires_grad for t in tensors)):
        return _BinLevel.apply(x, *tensors, library, recycle)
    pooled, alpha, (states, _, _, _) = _forward(library, x, *tensors, save=False)
    _workspace.give(states)
    return pooled, alpha
