"""genexp.metrics.extraction: thread scope, channels_last and bf16 autocast of feature extraction;
parity with the plain fp32 path on the real Inception weights when assets/ has them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from genexp.metrics import extraction, fidelity
from genexp.metrics.extraction import ExtractionSettings
from genexp.metrics.frechet import frechet_distance_from_features

ROOT = Path(__file__).resolve().parents[2]
WEIGHTS = ROOT / "assets" / "pt_inception-2015-12-05-6726825d.pth"
MNIST_RAW = ROOT / "data" / "MNIST" / "raw"
needs_weights = pytest.mark.skipif(
    not WEIGHTS.is_file(), reason="assets/ has no converted Inception weights (make assets)"
)


def uint8_images(n: int, seed: int, size: int = 12) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=gen)


def test_settings_protocol_and_bad_values() -> None:
    assert ExtractionSettings(16, False, "bf16").protocol() == {
        "extract_batch_size": 16,
        "channels_last": False,
        "autocast": "bf16",
    }
    with pytest.raises(ValueError, match="autocast must be one of"):
        ExtractionSettings(autocast="fp16")
    with pytest.raises(ValueError, match="extract_batch_size"):
        ExtractionSettings(0)


def test_resolve_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    cores = extraction.machine_cores()
    assert extraction.resolve_threads("auto") == cores
    assert extraction.resolve_threads("auto", local_processes=2) == max(1, cores // 2)
    assert extraction.resolve_threads("auto", local_processes=4 * cores) == 1
    assert extraction.resolve_threads(3) == 3
    assert extraction.resolve_threads(0) == torch.get_num_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the user's (or Lightning's DDP) choice wins
    assert extraction.resolve_threads("auto") == 1
    with pytest.raises(ValueError, match="extract_threads"):
        extraction.resolve_threads(-1)


def test_torch_threads_sets_and_restores() -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        with extraction.torch_threads(2):
            assert torch.get_num_threads() == 2
        assert torch.get_num_threads() == 1
        with pytest.raises(RuntimeError, match="boom"), extraction.torch_threads(2):
            raise RuntimeError("boom")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


class _FakeGlibc:
    """Records the allocator calls :func:`extraction.large_blocks_reused` makes."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def mallopt(self, param: int, value: int) -> int:
        self.calls.append(("mallopt", param, value))
        return 1

    def malloc_trim(self, pad: int) -> int:
        self.calls.append(("malloc_trim", pad))
        return 1


def test_large_blocks_reused_during_extraction_then_settled_and_trimmed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _FakeGlibc()
    monkeypatch.setattr(extraction, "_glibc", lambda: fake)
    settings = ExtractionSettings(8, True)
    ext = extraction.prepare(fidelity.make_extractor(fidelity.tiny_spec(), ["features"]), settings)
    with pytest.raises(RuntimeError, match="boom"), extraction.large_blocks_reused():
        assert fake.calls == [("mallopt", -3, 1 << 30), ("mallopt", -1, 1 << 30)]  # mmap, trim: 1 GiB
        raise RuntimeError("boom")
    assert fake.calls[2:] == [("mallopt", -3, 32 << 20), ("mallopt", -1, 64 << 20), ("malloc_trim", 0)]
    fake.calls.clear()
    extraction.run_batches(ext, uint8_images(9, 0), settings, threads=1)
    assert [c[0] for c in fake.calls] == ["mallopt", "mallopt", "mallopt", "mallopt", "malloc_trim"]
    monkeypatch.setattr(extraction, "_glibc", lambda: None)  # not glibc: nothing to tune
    assert extraction.run_batches(ext, uint8_images(9, 0), settings, threads=1)["features"].shape == (9, 16)


def test_glibc_found_on_linux() -> None:
    import platform

    if platform.libc_ver()[0] != "glibc":
        pytest.skip("the allocator tuning is for glibc only")
    libc = extraction._glibc()
    assert libc is not None and hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim")


def test_run_batches_equals_plain_extraction_and_bf16_is_applied() -> None:
    x = uint8_images(37, 0)
    plain = fidelity.extract(fidelity.make_extractor(fidelity.tiny_spec(), ["features", "logits"]), x)
    settings = ExtractionSettings(8, True)
    ext = extraction.prepare(fidelity.make_extractor(fidelity.tiny_spec(), ["features", "logits"]), settings)
    out = extraction.run_batches(ext, x, settings, threads=1)
    assert out["features"].shape == (37, 16) and out["logits"].shape == (37, 10)
    for key in plain:
        assert torch.allclose(out[key], plain[key], atol=1e-6)
    bf16 = extraction.run_batches(ext, x, ExtractionSettings(8, True, "bf16"))["features"]
    assert bf16.dtype == torch.float32
    diff = (bf16 - plain["features"]).abs().max().item()
    assert 0 < diff < 0.05  # really computed in bfloat16, and close


@needs_weights
def test_channels_last_inception_features_equal_contiguous_fp32() -> None:
    x = fidelity.to_uint8_rgb(torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0)), (0, 1))
    ext = fidelity.make_extractor(fidelity.inception_spec(str(WEIGHTS)), ["2048"])
    threads = extraction.resolve_threads("auto")
    with extraction.torch_threads(threads):
        ref = fidelity.extract(ext, x)["2048"]  # the plain path: NCHW model and input
    settings = ExtractionSettings(1, True)
    extraction.prepare(ext, settings)
    assert ext.Conv2d_1a_3x3.conv.weight.is_contiguous(memory_format=torch.channels_last)
    out = extraction.run_batches(ext, x, settings, threads)["2048"]
    scale = ref.abs().max().item()
    assert scale > 0.5
    assert (out - ref).abs().max().item() <= 1e-5 * scale  # fp32 rounding through 94 conv layers


@pytest.mark.slow
@needs_weights
@pytest.mark.skipif(not MNIST_RAW.is_dir(), reason="no MNIST in data/ (make assets)")
def test_bf16_fid_within_1e_3_of_fp32_on_a_fixed_set() -> None:
    """The "noisy" set of ``scripts/bench_metrics.py --n 48``: MNIST test[:48] plus Gaussian noise of
    40 grey levels (seed 1), against MNIST train[:48]; fp32 gives FID 213.2 here."""
    from genexp.data.torchvision_sets import MNISTDataModule

    dm = MNISTDataModule(root=str(ROOT / "data"), shape=(1, 28, 28), value_range=(-1.0, 1.0))
    dm.setup()
    gen, ref = (fidelity.to_uint8_rgb(dm.get_data(s, 48)[0], (-1, 1)) for s in ("test", "train"))
    noise = 40 * torch.randn(gen.shape, generator=torch.Generator().manual_seed(1))
    gen = (gen.float() + noise).clamp(0, 255).round().to(torch.uint8)
    spec = fidelity.inception_spec(str(WEIGHTS))
    threads = extraction.resolve_threads("auto")
    fids = []
    for settings in (ExtractionSettings(32, False), ExtractionSettings(32, True, "bf16")):
        ext = extraction.prepare(fidelity.make_extractor(spec, ["2048"]), settings)
        feats = [extraction.run_batches(ext, x, settings, threads)["2048"] for x in (gen, ref)]
        fids.append(frechet_distance_from_features(*feats))
    fp32, bf16 = fids
    assert fp32 == pytest.approx(213.2, abs=0.5)
    assert abs(bf16 - fp32) / fp32 <= 1e-3
