"""How a feature extractor is run over images: torch threads, memory format, autocast and batch
size. This is the speed path of FID/KID/precision-recall/IS (Inception at 299x299 is the cost of
those metrics on a CPU), shared by the metric callbacks and ``scripts/bench_metrics.py``.

- threads: the metric phase has no training to compete with, so extraction uses the machine's
  cores (shared among the local processes; ``OMP_NUM_THREADS`` wins when set) and restores the
  run's thread count afterwards;
- ``channels_last``: model and input in NHWC, which oneDNN's CPU convolutions prefer (features
  equal to the contiguous path's to 1e-5 of the largest feature; tested with the real weights);
- host memory: Inception's activations at 299x299 are tens of MB per batch, above glibc's mmap
  threshold, so every layer's output was a fresh ``mmap`` whose pages the kernel faulted in and
  zeroed again at each batch (about 18,000 page faults per image at batch 32, a third of the
  extraction's CPU time here); :func:`large_blocks_reused` has glibc serve them from the heap and
  keep them for the next batch while features are extracted;
- the TF1 bilinear resize of torch-fidelity's Inception, computed separably with the same result
  bit for bit (:mod:`genexp.metrics.tf1_resize`);
- ``autocast="bf16"``: bfloat16 autocast, off by default and part of the protocol. Its FID is
  within 1e-3 (relative) of fp32's on a noisy-vs-clean MNIST set (``tests/metrics/
  test_extraction.py``), but two samples of MNIST itself, whose FID is only the small-sample
  bias, differed by 1.3e-3 at 32 images each: compare small FIDs in fp32.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from genexp.metrics import fidelity
from genexp.metrics.tf1_resize import fast_tf1_resize

AUTOCAST = ("none", "bf16")
# glibc's mallopt parameters, and the values its dynamic thresholds settle at on 64-bit after large
# blocks have been freed (mmap threshold 32 MiB, trim threshold twice that)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_SETTLED_MMAP, _SETTLED_TRIM, _DURING = 32 << 20, 64 << 20, 1 << 30


@dataclass(frozen=True)
class ExtractionSettings:
    """``batch_size`` images per extractor call; ``channels_last`` model and input; ``autocast``
    ``"none"`` (fp32) or ``"bf16"``."""

    batch_size: int = 32
    channels_last: bool = True
    autocast: str = "none"

    def __post_init__(self) -> None:
        if self.autocast not in AUTOCAST:
            raise ValueError(f"autocast must be one of {list(AUTOCAST)}, got {self.autocast!r}")
        if int(self.batch_size) < 1:
            raise ValueError(f"extract_batch_size must be >= 1, got {self.batch_size}")

    def protocol(self) -> dict[str, Any]:
        """The settings as recorded in a metric's protocol."""
        return {
            "extract_batch_size": int(self.batch_size),
            "channels_last": bool(self.channels_last),
            "autocast": self.autocast,
        }


def machine_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def resolve_threads(value: int | str, local_processes: int = 1) -> int:
    """torch threads for extraction: ``"auto"`` = ``OMP_NUM_THREADS`` when the environment sets
    it (as the user, or Lightning for DDP subprocesses, may), else the machine's cores shared among
    ``local_processes``; ``0`` = keep the current count; ``n`` = n."""
    if value == "auto":
        env = os.environ.get("OMP_NUM_THREADS", "").strip()
        if env.isdigit() and int(env) > 0:
            return int(env)
        return max(1, machine_cores() // max(1, int(local_processes)))
    n = int(value)
    if n < 0:
        raise ValueError(f"extract_threads must be 'auto' or >= 0, got {value!r}")
    return n or torch.get_num_threads()


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous count."""
    before = torch.get_num_threads()
    if n and n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


@functools.lru_cache(maxsize=1)
def _glibc() -> Any:
    """The C library if it is glibc (it has ``mallopt``), else None (looked up once: ``find_library``
    runs ``ldconfig``)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


@contextmanager
def large_blocks_reused() -> Iterator[None]:
    """Serve the block's large allocations from glibc's heap and keep freed ones for reuse, then
    set the thresholds to what glibc's own adaptive ones settle at and return the free memory to
    the system (``malloc_trim``). Does nothing where the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        yield
        return
    libc.mallopt(_M_MMAP_THRESHOLD, _DURING)
    libc.mallopt(_M_TRIM_THRESHOLD, _DURING)
    try:
        yield
    finally:
        libc.mallopt(_M_MMAP_THRESHOLD, _SETTLED_MMAP)
        libc.mallopt(_M_TRIM_THRESHOLD, _SETTLED_TRIM)
        libc.malloc_trim(0)


def prepare(extractor: torch.nn.Module, settings: ExtractionSettings) -> torch.nn.Module:
    """The extractor in the memory format of ``settings`` (in place)."""
    if settings.channels_last:
        extractor.to(memory_format=torch.channels_last)
    return extractor


def _autocast(settings: ExtractionSettings, device: torch.device) -> Any:
    if settings.autocast == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()


def run_batches(
    extractor: torch.nn.Module, x: Tensor, settings: ExtractionSettings, threads: int = 0
) -> dict[str, Tensor]:
    """Features ``{layer: (n, d) float32}`` of prepared inputs ``x``, ``settings.batch_size`` at a
    time, with ``threads`` torch threads (0: the current count)."""
    parts = []
    with torch_threads(threads), torch.no_grad(), large_blocks_reused(), fast_tf1_resize():
        for i in range(0, len(x), settings.batch_size):
            xb = x[i : i + settings.batch_size]
            if settings.channels_last and xb.dim() == 4:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with _autocast(settings, xb.device):
                parts.append(fidelity.extract(extractor, xb))
    return {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
