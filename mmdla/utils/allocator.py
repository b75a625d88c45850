"""CPU allocator setting used by mmdla's tools.

glibc's malloc serves every block above its mmap threshold (at most 32 MiB when adjusted
dynamically) with a fresh ``mmap`` and returns it to the system on ``free``. A DLA-Up
feature map at 1024x2048 is 64-256 MiB, so every such tensor costs a fresh mapping whose
pages the kernel zeroes on first touch (README, "Speed and memory", gives the measured
cost). Raising the mmap and trim thresholds keeps freed blocks in the heap for reuse, as
PyTorch's CUDA caching allocator does on GPUs (the price: the process keeps its peak heap
instead of returning it).

It is a process-wide setting, so only the entry points apply it (``tools/*.py``,
``demo/``), never on import and never a library function such as
:func:`mmdla.apis.init_model`: call :func:`tune_cpu_allocator` in your own scripts.
``MMDLA_CPU_ALLOCATOR=default`` in the environment turns it off.
"""
import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD = 1 << 30  # 1 GiB: every feature map of the models here stays in the heap

_applied = None


def tune_cpu_allocator() -> bool:
    """Keep freed large blocks in the heap (glibc only; once per process). Returns whether
    the setting is active: False on other C libraries, with
    ``MMDLA_CPU_ALLOCATOR=default``, or when glibc refuses the values."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get('MMDLA_CPU_ALLOCATOR', '') == 'default':
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl without mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    _applied = bool(
        mallopt(M_MMAP_THRESHOLD, THRESHOLD) and mallopt(M_TRIM_THRESHOLD, 2 * THRESHOLD))
    return _applied
