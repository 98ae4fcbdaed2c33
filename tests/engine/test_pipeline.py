from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest
import torch

from adain_live.core.fast import FastAdaIN
from adain_live.core.model import AdaINModel
from adain_live.core.stats import StyleStats
from adain_live.engine.accel import FrameKey, Runner, RunnerCache
from adain_live.engine.pipeline import (
    StylePipeline,
    pick_dtype,
    recommended_size,
    recommended_threads,
    to_tensor,
    to_uint8,
)
from adain_live.errors import UserError

CPU = torch.device("cpu")


def _frames(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)


def _style(seed: int) -> StyleStats:
    g = torch.Generator().manual_seed(seed)
    return StyleStats(torch.rand(512, generator=g), torch.rand(512, generator=g) + 0.2)


@pytest.fixture()
def pipe() -> StylePipeline:
    p = StylePipeline(AdaINModel.random(seed=5), CPU, torch.float32)
    p.set_style(_style(1))
    return p


def _reference(frames: np.ndarray, style: StyleStats, alpha: float = 1.0) -> np.ndarray:
    model = AdaINModel.random(seed=5)
    with torch.inference_mode():
        return to_uint8(model.stylize(to_tensor(frames, CPU, torch.float32), style, alpha))


def _close(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of values within 1/255."""
    return float((np.abs(a.astype(int) - b.astype(int)) <= 1).mean())


def test_fp32_cpu_matches_canonical_model(pipe: StylePipeline) -> None:
    frames = _frames(2, 40, 56)
    out = pipe.process_batch(frames)
    assert out.shape == frames.shape and out.dtype == np.uint8
    assert _close(out, _reference(frames, _style(1))) >= 0.999


def test_call_and_stream_agree_with_batch(pipe: StylePipeline) -> None:
    frames = _frames(3, 24, 32, seed=2)
    batch = pipe.process_batch(frames)
    single = np.stack([pipe(f) for f in frames])
    streamed = np.concatenate(list(pipe.process_stream([frames[:1], frames[1:2], frames[2:]])))
    assert _close(single, batch) >= 0.999
    np.testing.assert_array_equal(streamed, single)


def test_style_statistics_are_not_recomputed_per_frame(pipe: StylePipeline) -> None:
    calls = []
    pipe.model.encoder.register_forward_hook(lambda *_: calls.append(1))
    pipe.set_style(pipe.style_stats(_frames(1, 32, 32)[0], style_size=32))
    for f in _frames(3, 24, 24):
        pipe(f)
    assert len(calls) == 1


def test_alpha_and_style_changes_apply_to_the_next_frame(pipe: StylePipeline) -> None:
    frame = _frames(1, 32, 40, seed=3)
    pipe.alpha = 0.5
    half = pipe.process_batch(frame)
    assert _close(half, _reference(frame, _style(1), 0.5)) >= 0.999
    pipe.set_style(_style(7))
    pipe.alpha = 1.0
    assert _close(pipe.process_batch(frame), _reference(frame, _style(7))) >= 0.999


def test_processing_size_and_output_size() -> None:
    p = StylePipeline(AdaINModel.random(), CPU, size=16, output_size="processing")
    p.set_style(_style(1))
    assert p(_frames(1, 32, 48)[0]).shape == (16, 24, 3)
    p.output_size = "input"
    assert p(_frames(1, 32, 48)[0]).shape == (32, 48, 3)


def test_timing_and_paths(pipe: StylePipeline) -> None:
    pipe(_frames(1, 24, 24)[0])
    assert pipe.last_timing is not None and pipe.last_timing.path == "eager"
    assert pipe.last_ms == pipe.last_timing.total_ms > 0
    pipe.set_mask(np.full((24, 24), 255, np.uint8), background=_style(2))
    pipe(_frames(1, 24, 24)[0])
    assert pipe.last_timing.path == "masked"


@pytest.fixture()
def tile_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the tile size of tiled frames; run them untiled (tiled maths is tested in test_fast)."""
    calls: list[int] = []

    def spy(net, x, code, alpha, tile, preserve_color=False):  # type: ignore[no-untyped-def]
        calls.append(tile)
        return net(x, *code, alpha, preserve_color)

    monkeypatch.setattr(FastAdaIN, "forward_tiled", spy)
    return calls


def test_forced_tiles(tile_calls: list[int]) -> None:
    p = StylePipeline(AdaINModel.random(seed=5), CPU, tile=64)
    p.set_style(_style(1))
    frames = _frames(1, 24, 32)
    out = p.process_batch(frames)
    assert tile_calls == [64] and p.last_timing is not None and p.last_timing.path == "tiled"
    assert _close(out, _reference(frames, _style(1))) >= 0.999


def test_tiled_pipeline_matches_untiled_across_seams() -> None:
    """A frame split into 3x4 tiles of 64 px (ragged last row/column) gives the untiled picture.

    Measured: max |Δ| 1 (rounding), PSNR ~95 dB. Without the decoder's halo the seams show (max |Δ| 64, ~27 dB).
    """
    model = AdaINModel.random(seed=5)
    frame = _frames(1, 152, 200, seed=4)  # min side ≥ 144: smaller frames fall back to one untiled pass
    out = {}
    for tile, path in ((64, "tiled"), (0, "eager")):
        p = StylePipeline(model, CPU, torch.float32, tile=tile)
        p.set_style(_style(1))
        out[tile] = p.process_batch(frame).astype(int)
        assert p.last_timing is not None and p.last_timing.path == path
    diff = np.abs(out[64] - out[0])
    seams = diff[:, 60:68].max(), diff[:, 124:132].max(), diff[:, :, 60:68].max(), diff[:, :, 124:132].max()
    assert max(seams) <= 2, f"tile seams differ from the untiled frame by {seams}"
    assert diff.max() <= 2
    psnr = 10 * np.log10(255**2 / max(float((diff**2).mean()), 1e-12))
    assert psnr > 60, f"tiled vs untiled PSNR {psnr:.1f} dB"


def test_frames_too_large_are_tiled_or_refused(tile_calls: list[int]) -> None:
    p = StylePipeline(AdaINModel.random(), CPU, max_memory_gb=0.07, tile=None)
    p.set_style(_style(1))
    p(_frames(1, 300, 300)[0])  # ~92 MB untiled at fp32 > 75 MB; 75 - 23 MB (whole-frame tensors) fit 64 px tiles
    assert tile_calls == [64] and p.last_timing is not None and p.last_timing.path == "tiled"
    p(_frames(1, 24, 24)[0])
    assert p.last_timing.path == "eager"
    p.tile = 0
    with pytest.raises(UserError, match=r"needs about .* GiB"):
        p(_frames(1, 300, 300)[0])
    assert len(tile_calls) == 1


def test_errors() -> None:
    p = StylePipeline(AdaINModel.random(), CPU)
    with pytest.raises(UserError, match="no style"):
        p(_frames(1, 16, 16)[0])
    p.set_style(_style(1))
    p.alpha = 1.5
    with pytest.raises(ValueError, match="alpha"):
        p(_frames(1, 16, 16)[0])
    with pytest.raises(ValueError, match="tile"):
        StylePipeline(AdaINModel.random(), CPU, tile=100)
    with pytest.raises(ValueError, match="RGB uint8"):
        StylePipeline(AdaINModel.random(), CPU).process_batch(np.zeros((1, 8, 8, 4), np.uint8))


def test_warmup_is_a_no_op_on_cpu(pipe: StylePipeline) -> None:
    assert pipe.warmup(32, 32) < 1.0
    assert "cpu fp32" in pipe.describe()


def test_recommended_size_and_dtype() -> None:
    assert recommended_size(torch.device("cuda")) == 0
    assert recommended_size(CPU, threads=2) == 256
    assert recommended_size(CPU, threads=32) == 512
    assert recommended_threads(1) == 1 and recommended_threads(2) == 1 and recommended_threads(8) == 7
    assert pick_dtype(CPU, "fp32") == torch.float32
    assert pick_dtype(CPU, "auto") in (torch.float32, torch.bfloat16)


def test_runner_cache_builds_in_the_background_and_falls_back_on_failure(caplog: pytest.LogCaptureFixture) -> None:
    gate = threading.Event()

    def build(key: FrameKey) -> Runner:
        if key.preserve_color:
            raise RuntimeError("compiler exploded")
        gate.wait(5)
        return lambda u8: u8

    cache = RunnerCache(build)
    key = FrameKey((1, 8, 8, 3), (8, 8), (8, 8), False)
    assert cache.get(key) is None  # still building: the caller runs eagerly
    gate.set()
    runner = cache.get(key, wait=True)
    assert runner is not None and cache.get(key) is runner
    bad = FrameKey((1, 8, 8, 3), (8, 8), (8, 8), True)
    assert cache.get(bad, wait=True) is None and cache.get(bad) is None
    assert "compiler exploded" in caplog.text
    cache.close()


def test_runner_cache_keeps_the_newest_runners() -> None:
    evictions: list[int] = []
    built: list[FrameKey] = []

    def build(key: FrameKey) -> Runner:
        built.append(key)
        return lambda u8: u8

    cache = RunnerCache(build, max_ready=2, before_evict=lambda: evictions.append(1))
    keys = [FrameKey((1, 8, 8 + i, 3), (8, 8 + i), (8, 8 + i), False) for i in range(3)]
    for k in keys:
        assert cache.get(k, wait=True) is not None
    assert evictions == [1]
    assert cache.get(keys[2], wait=True) is not None and len(built) == 3  # kept
    assert cache.get(keys[0], wait=True) is not None and built[-1] == keys[0]  # evicted, so rebuilt
    cache.close()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None, reason="needs a C++ compiler")
def test_compiled_cpu_path_matches_eager() -> None:
    eager = StylePipeline(AdaINModel.random(seed=5), CPU)
    compiled = StylePipeline(AdaINModel.random(seed=5), CPU, compile=True)
    for p in (eager, compiled):
        p.set_style(_style(1))
    frames = _frames(1, 32, 40)
    compiled.warmup(32, 40, wait=True)
    out = compiled.process_batch(frames)  # checked against eager on this frame: kept unless it is slower
    assert compiled.last_timing is not None
    reason = compiled._runners.dropped(compiled._key(frames.shape))
    assert compiled.last_timing.path == "compiled" or (reason is not None and "not faster" in reason), reason
    assert _close(out, eager.process_batch(frames)) >= 0.999
    compiled.close()
