"""Live recordings: constant rate at the source's size by default, honest about recordings without frames."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from adain_live.engine.live.recording import ConstantRate, RecordingJob, RecordOptions, default_recorder_factory
from adain_live.engine.live.types import LiveResult


def result(t: float, size=(48, 64), source=(90, 160), value=0) -> LiveResult:
    image = np.full((*size, 3), value, np.uint8)
    return LiveResult(image, np.zeros((*source, 3), np.uint8), 0, t, t, 1.0, min(size))


def test_constant_rate_repeats_the_newest_frame_at_the_source_rate():
    clock = ConstantRate(10)
    frames = []
    for t, v in ((100.0, 1), (100.32, 2), (100.35, 3), (100.61, 4)):  # a slow network: ~3 frames a second
        frames += clock.feed(np.full((2, 2, 3), v, np.uint8), t)
    frames += clock.finish(100.6)  # the stop time: nothing more to hold
    times = [round(t, 3) for _, t in frames]
    assert times == [round(0.1 * n, 3) for n in range(len(frames))]  # one frame every 1/fps
    shown = [int(img[0, 0, 0]) for img, _ in frames]
    # slot n shows the newest frame captured by n/10 s, to the nearest slot (2 at 0.32 s takes the 0.3 s slot)
    assert shown == [1, 1, 1, 2, 3, 3, 4]
    clock = ConstantRate(10)
    clock.feed(np.zeros((2, 2, 3), np.uint8), 200.0)
    held = clock.finish(200.45)  # stopped 0.45 s after the last frame (paused, or a slow network)
    assert [round(t, 3) for _, t in held] == [0.0, 0.1, 0.2, 0.3, 0.4]


class Writer:
    def __init__(self, size, constant_rate):
        self.size, self.constant_rate, self.frames, self.closed = size, constant_rate, [], False

    def write(self, image, t):
        self.frames.append((image.shape, t))

    def close(self):
        self.closed = True


def run_job(tmp_path, options, results):
    writers: list[Writer] = []

    def factory(path, size, fps, audio_from, audio_start, constant_rate=False):
        writers.append(Writer(size, constant_rate))
        return writers[-1]

    errors: list[str] = []
    job = RecordingJob(tmp_path / "r.mp4", factory, fps=Fraction(25), options=options, on_error=errors.append)
    for r in results:
        job.offer(r)
    job.close(at=results[-1].captured_at if results else None)
    return job, writers, errors


def test_default_recording_is_source_size_constant_rate(tmp_path):
    job, (w,), errors = run_job(tmp_path, None, [result(10.0), result(10.2), result(10.4, size=(40, 72))])
    assert errors == [] and w.closed and w.constant_rate and w.size == (160, 90)
    assert {s for s, _ in w.frames} == {(90, 160, 3)}  # stylized frames scaled to the source's size
    assert len(w.frames) == 11 and job.frames == 11  # 0.4 s at 25 fps, plus the last frame


def test_processing_size_and_variable_rate_options(tmp_path):
    opts = RecordOptions(size="processing", constant_rate=False)
    _, (w,), _ = run_job(tmp_path, opts, [result(10.0, size=(47, 65)), result(10.25, size=(47, 65))])
    assert not w.constant_rate and w.size == (64, 46)  # rounded down to even for yuv420p
    assert [t for _, t in w.frames] == [0.0, 0.25]
    with pytest.raises(ValueError, match="source, processing"):
        RecordOptions(size="huge")


def test_a_recording_without_frames_says_so_and_leaves_no_file(tmp_path):
    job, writers, errors = run_job(tmp_path, None, [])
    assert writers == [] and job.frames == 0 and job.waiting and job.elapsed == 0.0
    assert job.error is not None and "nothing was recorded" in errors[0]
    assert not (tmp_path / "r.mp4").exists()


def test_real_file_is_constant_rate_at_the_source_size(tmp_path):
    job = RecordingJob(tmp_path / "r.mp4", default_recorder_factory, fps=Fraction(30000, 1001))
    for i in range(6):
        job.offer(result(50.0 + 0.1 * i, value=40 * i))
    job.close(at=50.5)
    with av.open(str(job.path)) as c:
        vs = c.streams.video[0]
        pts = [f.pts for f in c.decode(vs)]
        rate, size = vs.average_rate, (vs.codec_context.width, vs.codec_context.height)
    assert size == (160, 90) and rate == Fraction(30000, 1001)
    assert len({b - a for a, b in zip(pts, pts[1:], strict=False)}) == 1 and len(pts) == job.frames >= 15


def test_close_waits_for_a_slow_encoder_that_makes_progress(tmp_path):
    import time

    class SlowWriter(Writer):
        def write(self, image, t):
            time.sleep(0.03)
            super().write(image, t)

    writers: list[Writer] = []

    def factory(path, size, fps, audio_from, audio_start, constant_rate=False):
        writers.append(SlowWriter(size, constant_rate))
        return writers[-1]

    job = RecordingJob(tmp_path / "r.mp4", factory, fps=Fraction(25))
    job.offer(result(10.0))
    job.offer(result(11.0))
    job.close(timeout=0.5, at=12.0)  # 51 frames of 30 ms: longer than the timeout, but never idle that long
    assert job.error is None and len(writers[0].frames) == job.frames == 51 and writers[0].closed
