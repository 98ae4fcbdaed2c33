from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from adain_live.core.model import AdaINModel
from adain_live.core.stats import StyleStats
from adain_live.engine.live.governor import lower_size
from adain_live.engine.live.meter import RateMeter
from adain_live.engine.live.runner import LiveRunner
from adain_live.engine.pipeline import StylePipeline
from adain_live.errors import DeviceMemoryError, MediaError
from adain_live.media.frames import Frame


class FakeSource:
    """Frames of a moving gradient every ``period`` s; raises MediaError after ``fail_after`` frames."""

    def __init__(self, size=(64, 48), period=0.01, fail_after=None, frames=None):
        self.size, self.period, self.fail_after, self.frames = size, period, fail_after, frames
        self.i = 0
        self.closed = False

    def read(self):
        time.sleep(self.period)
        if self.fail_after is not None and self.i >= self.fail_after:
            raise MediaError("camera 0 stopped delivering frames (unplugged?)")
        if self.frames is not None and self.i >= self.frames:
            return None
        w, h = self.size
        img = np.full((h, w, 3), self.i % 256, np.uint8)
        img[:, : w // 2, 0] = 200
        self.i += 1
        return Frame(img, self.i * self.period, self.i)

    def close(self):
        self.closed = True


class FakePipeline:
    """Stand-in with StylePipeline's live API: output = frame shifted by the style's mean (fast)."""

    def __init__(self, oom_above=None, typed_oom=False):
        self.typed_oom = typed_oom
        self.size, self.alpha, self.preserve_color = 0, 1.0, False
        self.device = torch.device("cpu")
        self.style: StyleStats | None = None
        self.last_ms = 1.0
        self.last_timing = None  # StylePipeline sets a FrameTiming (with the path taken) after each frame
        self.oom_above = oom_above
        self.history: list[float] = []

    def set_style(self, styles, weights=None):
        from adain_live.core.stats import mix_stats

        seq = [styles] if isinstance(styles, StyleStats) else list(styles)
        self.style = mix_stats(seq, weights)
        self.history.append(float(self.style.mean[0]))

    def __call__(self, frame):
        if self.oom_above is not None and (self.size == 0 or self.size > self.oom_above):
            if self.typed_oom:  # what the pipeline raises when it can tell beforehand (any wording)
                raise DeviceMemoryError("too big", device="cpu", need_bytes=2, free_bytes=1)
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return np.clip(frame.astype(np.int16) + int(self.style.mean[0]), 0, 255).astype(np.uint8)


def stats(value: float) -> StyleStats:
    return StyleStats(torch.full((4,), value), torch.ones(4))


def wait_for(cond, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


@pytest.fixture
def runner():
    events: dict[str, list] = {"results": [], "errors": [], "status": [], "size": []}
    pipe = FakePipeline()
    r = LiveRunner(pipe, on_result=events["results"].append, on_error=events["errors"].append,
                   on_status=events["status"].append, on_size=events["size"].append, fade_s=0.3)
    r.events = events
    yield r
    r.stop()
    assert r.threads() == []


def test_frames_flow_and_fps(runner):
    runner.set_style(stats(10.0), fade=False)
    runner.start(FakeSource())
    assert wait_for(lambda: len(runner.events["results"]) >= 10)
    assert runner.latest().image.shape == (48, 64, 3)
    assert runner.fps_meter.rate() > 5
    runner.mark_displayed(runner.latest())
    assert 0 <= runner.latency_meter.value < 1000


def test_style_crossfade_interpolates_then_settles(runner):
    runner.set_style(stats(0.0), fade=False)
    runner.start(FakeSource())
    assert wait_for(lambda: runner.pipeline.style is not None)
    runner.set_style(stats(100.0))
    assert wait_for(lambda: float(runner.pipeline.style.mean[0]) == 100.0)
    between = [v for v in runner.pipeline.history if 0.0 < v < 100.0]
    assert between, "the switch should pass through mixed statistics"
    assert between == sorted(between)


def test_mix_of_two_styles(runner):
    runner.set_style([stats(0.0), stats(100.0)], [0.75, 0.25], fade=False)
    runner.start(FakeSource())
    assert wait_for(lambda: runner.pipeline.style is not None)
    assert float(runner.pipeline.style.mean[0]) == pytest.approx(25.0)


def test_settings_are_applied_between_frames(runner):
    runner.set_style(stats(1.0), fade=False)
    runner.start(FakeSource())
    runner.set_alpha(0.3)
    runner.set_preserve_color(True)
    runner.set_size(240)
    assert wait_for(lambda: runner.pipeline.alpha == 0.3 and runner.pipeline.preserve_color
                    and runner.size == 240)
    assert wait_for(lambda: runner.pipeline.size == 0)  # 240 > the 48 px source: run natively, no upscale
    runner.set_size(32)
    assert wait_for(lambda: runner.pipeline.size == 32)
    with pytest.raises(ValueError, match="alpha"):
        runner.set_alpha(1.5)


def test_mirror_flips_the_frame(runner):
    runner.set_style(stats(0.0), fade=False)
    runner.set_mirror(True)
    runner.start(FakeSource())
    assert wait_for(lambda: runner.latest() is not None)
    img = runner.latest().original
    assert img[0, -1, 0] == 200 and img[0, 0, 0] != 200


def test_pause_freezes_output(runner):
    runner.set_style(stats(0.0), fade=False)
    source = FakeSource()
    runner.start(source)
    results = runner.events["results"]
    assert wait_for(lambda: len(results) >= 3)
    before = len(results)
    runner.set_paused(True)
    # pausing re-renders the held frame once (the same index twice in a row) ...
    assert wait_for(lambda: len(results) > before and results[-1].index == results[-2].index)
    n, read = len(results), source.i
    assert wait_for(lambda: source.i >= read + 10)  # ... then the source runs on for 10 frames ...
    assert len(results) == n  # ... and nothing new comes out
    runner.set_alpha(0.5)  # a change re-renders the held frame once
    assert wait_for(lambda: len(runner.events["results"]) == n + 1)
    assert runner.events["results"][-1].index == runner.events["results"][-2].index
    runner.set_paused(False)
    assert wait_for(lambda: len(runner.events["results"]) > n + 3)


def test_source_error_is_reported_and_runner_survives(runner):
    runner.set_style(stats(0.0), fade=False)
    runner.start(FakeSource(fail_after=3))
    assert wait_for(lambda: runner.events["errors"])
    assert "unplugged" in runner.events["errors"][0]
    runner.set_source(FakeSource())  # a new source after the failure works
    n = len(runner.events["results"])
    assert wait_for(lambda: len(runner.events["results"]) > n + 2)


def test_end_of_stream_is_a_status(runner):
    runner.start(FakeSource(frames=2))
    assert wait_for(lambda: runner.events["status"])
    assert "ended" in runner.events["status"][0]


@pytest.mark.parametrize("typed", [False, True])
def test_oom_lowers_the_processing_size(typed):
    errors, sizes = [], []
    pipe = FakePipeline(oom_above=360, typed_oom=typed)
    pipe.size = 1080
    r = LiveRunner(pipe, on_error=errors.append, on_size=sizes.append)
    r.set_style(stats(0.0), fade=False)
    with r.start(FakeSource(size=(1280, 720))):
        assert wait_for(lambda: r.latest() is not None)
    assert sizes == [480, 360]  # 1080 on a 720p frame is 720 in effect
    assert "lowered the processing size to 360p" in errors[-1]
    assert lower_size(0, 200) == 180 and lower_size(180, 1000) is None


def test_recording_fixed_size_and_stop(runner, tmp_path):
    written: list[tuple[tuple[int, ...], float]] = []
    closed = threading.Event()

    class Writer:
        def write(self, image, t):
            written.append((image.shape, t))

        def close(self):
            closed.set()

    def factory(path, size, fps, audio_from, audio_start, constant_rate=False):
        assert size == (64, 48) and audio_from == Path("in.mp4") and audio_start == 0.0  # unknown duration
        return Writer()

    runner.sinks.recorder_factory = factory
    runner.set_style(stats(0.0), fade=False)
    runner.start(FakeSource(), audio_from=Path("in.mp4"))
    runner.start_recording(tmp_path / "out.mp4")
    assert wait_for(lambda: len(written) >= 3)
    runner.set_source(FakeSource(size=(80, 60)))  # a size change mid-recording is resized
    n = len(written)
    assert wait_for(lambda: len(written) > n + 3)
    assert runner.stop_recording() == tmp_path / "out.mp4"
    assert closed.is_set() and {s for s, _ in written} == {(48, 64, 3)}
    times = [t for _, t in written]
    assert times[0] == 0.0 and times == sorted(times)


def test_real_pipeline_stylizes_small_frames():
    pipe = StylePipeline(AdaINModel.random(0), torch.device("cpu"), torch.float32, size=32,
                         output_size="processing")
    style = pipe.style_stats(np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8), 32)
    with LiveRunner(pipe) as r:
        r.set_style(style, fade=False)
        r.start(FakeSource(size=(64, 48), period=0.02))
        assert wait_for(lambda: r.latest() is not None and r.latest().infer_ms > 0, timeout=20)
        assert r.latest().image.shape == (32, 43, 3)
    assert r.threads() == []


def test_rate_meter_measures_slow_rates():
    m = RateMeter(window_s=1.0)
    for t in (0.0, 2.0, 4.0):
        m.tick(t)
    assert m.rate(4.1) == pytest.approx(0.5)
    assert m.rate(10.0) == 0.0
    for t in (5.0, 5.1, 5.2, 5.3):
        m.tick(t)
    assert m.rate(5.3) == pytest.approx(10.0)


def test_other_failures_are_reported_once_and_the_loop_goes_on(runner):
    calls = {"n": 0}
    real = runner.pipeline.__class__.__call__

    class Flaky(FakePipeline):
        def __call__(self, frame):
            calls["n"] += 1
            if calls["n"] <= 5:
                raise RuntimeError("cuDNN error: CUDNN_STATUS_INTERNAL_ERROR")
            return real(self, frame)

    runner.pipeline.__class__ = Flaky
    runner.set_style(stats(0.0), fade=False)
    runner.start(FakeSource())
    assert wait_for(lambda: len(runner.events["results"]) >= 3)
    assert runner.events["errors"] == ["stylizing failed: cuDNN error: CUDNN_STATUS_INTERNAL_ERROR"]
