"""genexp.metrics.extraction with a recording stand-in extractor: batching, memory format, thread
count and autocast dtype as run_batches applies them, core counting and thread resolution edges."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import warnings
from types import SimpleNamespace

import pytest
import torch

from genexp.metrics import extraction
from genexp.metrics.extraction import ExtractionSettings


class _Recorder(torch.nn.Module):
    """Returns its flattened input as the only feature layer and records how each batch came."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[int, bool, int, bool]] = []

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        nhwc = x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last)
        self.seen.append((len(x), nhwc, torch.get_num_threads(), torch.is_grad_enabled()))
        return (x.flatten(1).float(),)

    def convert_features_tuple_to_dict(self, features: tuple[torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"flat": features[0]}


def test_run_batches_batches_in_order_without_grad_in_the_chosen_format() -> None:
    x = torch.arange(10 * 3 * 4 * 4, dtype=torch.float32).reshape(10, 3, 4, 4)
    for channels_last in (True, False):
        rec = _Recorder()
        out = extraction.run_batches(rec, x, ExtractionSettings(4, channels_last), threads=1)
        assert torch.equal(out["flat"], x.flatten(1))
        assert rec.seen == [
            (4, channels_last, 1, False),
            (4, channels_last, 1, False),
            (2, channels_last, 1, False),
        ]
    # (n, d) input has no channels_last layout and is passed as it is
    rec = _Recorder()
    flat = torch.arange(6.0).reshape(3, 2)
    assert torch.equal(extraction.run_batches(rec, flat, ExtractionSettings(1, True))["flat"], flat)
    assert [s[0] for s in rec.seen] == [1, 1, 1]


def test_run_batches_uses_the_given_threads_and_by_default_the_current_count() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        rec = _Recorder()
        extraction.run_batches(rec, torch.zeros(2, 3), ExtractionSettings(2, False), threads=1)
        extraction.run_batches(rec, torch.zeros(2, 3), ExtractionSettings(2, False))
        assert [s[2] for s in rec.seen] == [1, 2] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_prepare_puts_the_model_in_channels_last() -> None:
    conv = torch.nn.Conv2d(3, 4, 3)
    assert extraction.prepare(conv, ExtractionSettings(channels_last=True)) is conv
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    other = extraction.prepare(torch.nn.Conv2d(3, 4, 3), ExtractionSettings(channels_last=False))
    assert not other.weight.is_contiguous(memory_format=torch.channels_last)


def test_bf16_autocast_asks_for_bfloat16_on_every_device() -> None:
    """CUDA's autocast default is float16: bf16 must be asked for by name (no GPU needed to see it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "CUDA is not available": the context is still built
        ctx = extraction._autocast(ExtractionSettings(autocast="bf16"), torch.device("cuda"))
    assert ctx.fast_dtype == torch.bfloat16


def test_settings_defaults_and_smallest_batch() -> None:
    assert ExtractionSettings().protocol() == {
        "extract_batch_size": 32,
        "channels_last": True,
        "autocast": "none",
    }
    assert ExtractionSettings(1).batch_size == 1


def test_machine_cores_counts_the_affinity_set_or_the_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert extraction.machine_cores() == 3
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set())
    assert extraction.machine_cores() == 1
    monkeypatch.delattr(os, "sched_getaffinity")
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert extraction.machine_cores() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert extraction.machine_cores() == 1


def test_auto_threads_share_cores_as_integers_and_ignore_a_zero_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extraction, "machine_cores", lambda: 5)
    monkeypatch.setenv("OMP_NUM_THREADS", "0")  # not a thread count: the cores are used
    assert extraction.resolve_threads("auto") == 5
    monkeypatch.delenv("OMP_NUM_THREADS")
    threads = extraction.resolve_threads("auto", local_processes=2)
    assert threads == 2 and isinstance(threads, int)


def test_glibc_needs_a_found_library_with_mallopt_and_malloc_trim(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    def fn(*args: object) -> int:
        return 1

    def lookup() -> object:  # _glibc caches its one lookup; each case here needs a fresh one
        extraction._glibc.cache_clear()
        return extraction._glibc()

    request.addfinalizer(extraction._glibc.cache_clear)  # leave no fake library in the cache

    monkeypatch.setattr(ctypes.util, "find_library", lambda name: "libc.so.6")
    for lib in (SimpleNamespace(mallopt=fn), SimpleNamespace(malloc_trim=fn), SimpleNamespace()):
        monkeypatch.setattr(ctypes, "CDLL", lambda name, lib=lib: lib)
        assert lookup() is None
    both = SimpleNamespace(mallopt=fn, malloc_trim=fn)
    monkeypatch.setattr(ctypes, "CDLL", lambda name: both if name == "libc.so.6" else None)
    assert lookup() is both

    def no_library(name: str) -> None:
        raise OSError(name)

    monkeypatch.setattr(ctypes, "CDLL", no_library)
    assert lookup() is None
    monkeypatch.setattr(ctypes, "CDLL", lambda name: both)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)  # no C library found
    assert lookup() is None
