"""The CUDA paths of the pipeline: precision, compiled/graphed runners, streams, tiling, memory."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from adain_live.core.model import AdaINModel
from adain_live.core.stats import StyleStats
from adain_live.engine import bench
from adain_live.engine.pipeline import StylePipeline, enable_fast_backends

pytestmark = pytest.mark.gpu

H, W = 256, 384  # one small shape for the compiled tests, so they compile once


def _model() -> AdaINModel:
    return AdaINModel.random(seed=0)


def _style(seed: int) -> StyleStats:
    g = torch.Generator().manual_seed(seed)
    return StyleStats(torch.rand(512, generator=g), torch.rand(512, generator=g) + 0.2)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return bench.content_frame(W, H, batch=1)


@pytest.fixture(scope="module")
def compiled(cuda: torch.device) -> Iterator[StylePipeline]:
    enable_fast_backends(cuda)
    pipe = StylePipeline(_model(), cuda, torch.float16, compile=True)
    pipe.set_style(_style(1))
    pipe.warmup(H, W, wait=True)
    yield pipe
    pipe.close()


@pytest.fixture(scope="module")
def eager16(cuda: torch.device) -> StylePipeline:
    pipe = StylePipeline(_model(), cuda, torch.float16, compile=False, cuda_graphs=False)
    pipe.set_style(_style(1))
    return pipe


def test_fp16_agrees_with_fp32_on_real_images(cuda: torch.device) -> None:
    cfg = bench.BenchConfig(sizes=((W, H),), quality_size=512, quality_styles=3, compile=False)
    for row in bench.agreement(_model(), cuda, torch.float16, cfg):
        assert row["psnr_db"] >= 40.0, row


def test_compiled_graph_matches_eager(compiled: StylePipeline, eager16: StylePipeline,
                                      frames: np.ndarray) -> None:
    fast = compiled.process_batch(frames)
    assert compiled.last_timing is not None and compiled.last_timing.path == "compiled+cuda-graph"
    assert bench.psnr(fast, eager16.process_batch(frames)) >= 45.0


def test_graph_follows_style_and_alpha_changes(compiled: StylePipeline, eager16: StylePipeline,
                                               frames: np.ndarray) -> None:
    try:
        for p in (compiled, eager16):
            p.set_style(_style(9))
            p.alpha = 0.4
        assert bench.psnr(compiled.process_batch(frames), eager16.process_batch(frames)) >= 45.0
        assert compiled.last_timing is not None and compiled.last_timing.path == "compiled+cuda-graph"
    finally:
        for p in (compiled, eager16):
            p.set_style(_style(1))
            p.alpha = 1.0


def test_no_host_sync_per_frame_beyond_the_final_copy(compiled: StylePipeline, eager16: StylePipeline,
                                                      frames: np.ndarray) -> None:
    compiled(frames[0])
    eager16(frames[0])  # first calls may sync (cuDNN autotuning, buffer set-up)
    torch.cuda.set_sync_debug_mode("error")
    try:
        for p in (compiled, eager16):
            for _ in range(3):
                p(frames[0])
            list(p.process_stream([frames, frames, frames]))
    finally:
        torch.cuda.set_sync_debug_mode("default")


def test_style_statistics_are_computed_once(cuda: torch.device, frames: np.ndarray) -> None:
    pipe = StylePipeline(_model(), cuda, torch.float16, cuda_graphs=False)
    calls: list[int] = []
    pipe.model.encoder.register_forward_hook(lambda *_: calls.append(1))
    pipe.set_style(pipe.style_stats(bench.style_images(1, 256)[0][1]))
    for _ in range(4):
        pipe(frames[0])
    assert calls == [1]


def test_background_build_serves_frames_eagerly_meanwhile(cuda: torch.device, frames: np.ndarray) -> None:
    pipe = StylePipeline(_model(), cuda, torch.float16, compile=False, cuda_graphs=True)
    pipe.set_style(_style(1))
    first = pipe(frames[0])
    assert pipe.last_timing is not None and pipe.last_timing.path.startswith("eager")
    pipe.warmup(H, W, wait=True)
    again = pipe(frames[0])
    assert pipe.last_timing.path == "cuda-graph" and bench.psnr(first, again) >= 45.0
    assert {"h2d_ms", "compute_ms", "d2h_ms"} <= {k for k, v in vars(pipe.last_timing).items() if v is not None}
    pipe.close()


def test_stream_matches_single_frames(compiled: StylePipeline, frames: np.ndarray) -> None:
    rng = np.random.default_rng(0)
    batch = [np.ascontiguousarray(np.roll(frames, int(s), axis=2)) for s in rng.integers(0, W, 4)]
    single = [compiled.process_batch(b) for b in batch]
    streamed = list(compiled.process_stream(batch))
    for a, b in zip(single, streamed, strict=True):
        np.testing.assert_array_equal(a, b)


def test_4k_fits_in_8_gb_with_tiles(cuda: torch.device) -> None:
    frame = bench.content_frame(3840, 2160)
    tiled = StylePipeline(_model(), cuda, torch.float16, tile=1024, cuda_graphs=False)
    tiled.set_style(_style(1))
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    out = tiled.process_batch(frame)
    peak = torch.cuda.max_memory_allocated() - base
    assert tiled.last_timing is not None and tiled.last_timing.path == "tiled"
    assert peak < 8 * 2**30, f"peak {peak / 2**30:.2f} GiB"
    plain = StylePipeline(_model(), cuda, torch.float16, tile=0, cuda_graphs=False)
    plain.set_style(_style(1))
    assert bench.psnr(out, plain.process_batch(frame)) >= 40.0


def test_batching_matches_single_frames(eager16: StylePipeline, frames: np.ndarray) -> None:
    four = np.repeat(frames, 4, axis=0)
    out = eager16.process_batch(four)
    assert out.shape == four.shape
    assert bench.psnr(out[3], eager16(frames[0])) >= 45.0


def test_a_wrong_graph_runner_is_dropped_on_cuda(cuda: torch.device, frames: np.ndarray,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    from adain_live.engine import pipeline as pipeline_module
    from adain_live.engine.fastpaths import NamedRunner

    def wrong(net: object, params: object, key: object, *args: object, **kwargs: object) -> NamedRunner:
        return NamedRunner(lambda u8: torch.zeros_like(u8), "cuda-graph")

    monkeypatch.setattr(pipeline_module, "make_runner", wrong)
    pipe = StylePipeline(_model(), cuda, torch.float16, compile=False, cuda_graphs=True)
    ref = StylePipeline(_model(), cuda, torch.float16, compile=False, cuda_graphs=False)
    for p in (pipe, ref):
        p.set_style(_style(1))
    pipe.warmup(H, W, wait=True)
    out = pipe.process_batch(frames)  # through CudaIO: the check runs on the compute stream
    assert pipe.last_timing is not None and pipe.last_timing.path == "eager (cuda-graph dropped)"
    assert bench.psnr(out, ref.process_batch(frames)) >= 45.0
    assert len([r for r in caplog.records if "dropped" in r.getMessage()]) == 1
    pipe.close()
