from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from adain_live.errors import MediaError
from adain_live.media import Frame, Recorder
from adain_live.media.synth import pattern

ROOT = Path(__file__).resolve().parents[2]


def _decode(path: Path) -> tuple[list[int], Fraction, tuple[int, int]]:
    with av.open(str(path)) as c:  # keep plain values: no PyAV frame outlives its file
        info = [(f.pts, f.width, f.height) for f in c.decode(video=0)]
        tb = c.streams.video[0].time_base
    return [p for p, _, _ in info], tb, info[0][1:]


def test_millisecond_timestamps_from_capture_clock(tmp_path: Path) -> None:
    out = tmp_path / "rec.mp4"
    stamps = [1000.0, 1000.033, 1000.070, 1000.070, 1000.2]  # a duplicate stamp must not break the file
    with Recorder(out, size=(64, 48), fps=30) as rec:
        for i, t in enumerate(stamps):
            rec.write(Frame(pattern(64, 48, i), t, i))
    pts, tb, size = _decode(out)
    assert tb == Fraction(1, 1000) and size == (64, 48)
    assert pts == [0, 33, 70, 71, 200]


def test_size_enforced_and_lazy_size(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "r.mp4").start()
    rec.write(pattern(32, 24, 0), 0.0)
    with pytest.raises(MediaError, match="first's size"):
        rec.write(pattern(30, 24, 1), 0.1)
    rec.close()
    rec.close()
    assert _decode(tmp_path / "r.mp4")[2] == (32, 24)


def test_bad_paths(tmp_path: Path, small: Path) -> None:
    with pytest.raises(MediaError, match="MP4"):
        Recorder(tmp_path / "r.avi")
    with pytest.raises(MediaError, match="does not exist"):
        Recorder(tmp_path / "no" / "r.mp4")
    with pytest.raises(MediaError, match="no such file"):
        Recorder(tmp_path / "r.mp4", audio_from=tmp_path / "missing.mp4")


def test_audio_copied_from_source_file(tmp_path: Path, small: Path) -> None:
    out = tmp_path / "a.mp4"
    with Recorder(out, size=(64, 48), fps=30, audio_from=small) as rec:
        for i in range(30):  # 1 s: longer than the 0.33 s file, so its audio loops
            rec.write(pattern(64, 48, i), i / 30)
    with av.open(str(small)) as c:
        source = {bytes(p) for p in c.demux(audio=0) if p.size}
    with av.open(str(out)) as c:
        copied = [bytes(p) for p in c.demux(audio=0) if p.size]
    assert copied and set(copied) <= source  # packet for packet, never re-encoded
    assert len(copied) > len(source)  # it looped


_CHILD = """
import sys, time
from adain_live.media import Recorder
from adain_live.media.synth import pattern
rec = Recorder(sys.argv[1], size=(64, 48), fps=30).start()
i = 0
while True:
    rec.write(pattern(64, 48, i), i / 30)
    i += 1
    if i == 45:
        print("ready", flush=True)
    time.sleep(0.002)
"""


def test_killed_recording_still_plays(tmp_path: Path) -> None:
    out = tmp_path / "killed.mp4"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(out)], stdout=subprocess.PIPE, env=env)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 30  # kill it while it writes, once two fragments (60 frames) are out
        while out.read_bytes().count(b"moof") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    pts, tb, size = _decode(out)
    assert size == (64, 48) and tb == Fraction(1, 1000)
    assert len(pts) >= 30  # everything up to the last keyframe (one per second) survived
    assert np.all(np.diff(pts) > 0)


def test_constant_rate_recording_has_one_tick_per_frame(tmp_path: Path) -> None:
    out = tmp_path / "cfr.mp4"
    with Recorder(out, size=(64, 48), fps=Fraction(30000, 1001), constant_rate=True) as rec:
        for i in range(12):
            rec.write(Frame(pattern(64, 48, i), 5.0 + i * 1001 / 30000, i))
    with av.open(str(out)) as c:
        vs = c.streams.video[0]
        pts = [f.pts for f in c.decode(vs)]
        tb, rate = vs.time_base, vs.average_rate
    steps = {b - a for a, b in zip(pts, pts[1:], strict=False)}
    assert len(pts) == 12 and len(steps) == 1  # every frame equally long: a constant frame rate
    assert rate == Fraction(30000, 1001) and float(steps.pop() * tb) == pytest.approx(1001 / 30000)


@pytest.mark.parametrize("constant_rate", [False, True])
def test_finished_recording_is_an_ordinary_mp4_with_its_frame_count(tmp_path: Path, small: Path,
                                                                    constant_rate: bool) -> None:
    out = tmp_path / "clean.mp4"
    with Recorder(out, size=(64, 48), fps=30, audio_from=small, constant_rate=constant_rate) as rec:
        for i in range(20):
            rec.write(Frame(pattern(64, 48, i), 2.0 + i / 30, i))
    with av.open(str(out)) as c:
        header = c.streams.video[0].frames
        decoded = sum(1 for _ in c.decode(video=0))
    data = out.read_bytes()
    assert header == decoded == 20  # a fragmented file's header says 0
    assert data.find(b"moov") < data.find(b"mdat") and b"moof" not in data  # faststart, not fragmented
    assert [p.name for p in tmp_path.iterdir()] == ["clean.mp4"]


def test_recorder_audio_stops_at_the_last_video_frame(tmp_path: Path, small: Path) -> None:
    out = tmp_path / "av.mp4"
    with Recorder(out, size=(64, 48), fps=30, audio_from=small) as rec:
        for i in range(9):
            rec.write(Frame(pattern(64, 48, i), i / 30, i))
    ends: dict[str, float] = {}
    with av.open(str(out)) as c:
        for p in c.demux():
            if p.size:
                end = float((p.pts + (p.duration or 0)) * p.time_base)
                ends[p.stream.type] = max(ends.get(p.stream.type, 0.0), end)
    assert ends["audio"] <= ends["video"] + 1e-6 and ends["audio"] > ends["video"] - 0.05


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging) when the body runs past ``seconds``: a feed whose timestamps restart at each
    loop never reaches the video's time and reads the file forever."""
    if not hasattr(signal, "setitimer"):
        yield
        return

    def expired(_sig: int, _frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)  # and again each second: closing the file may hang too
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def one_second(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """64x48, 30 fps, 1 s of H.264 + AAC (48 kHz: 47 packets from pts 0, every one different)."""
    from adain_live.media.synth import make_test_video

    return make_test_video(tmp_path_factory.mktemp("rec_audio") / "one_second.mp4", size=(64, 48), frames=30,
                           rate=Fraction(30))


@pytest.mark.parametrize(("audio_start", "frames", "wraps"), [(0.25, 20, 0), (0.4, 45, 1), (0.0, 75, 2)])
def test_audio_follows_the_source_timeline_from_audio_start_and_across_loops(
        tmp_path: Path, one_second: Path, audio_start: float, frames: int, wraps: int) -> None:
    """Recording time t carries the source's audio at (audio_start + t) mod D, D the audio's length: the audio
    starts where the live source was when recording began, and each loop continues the timeline."""
    with av.open(str(one_second)) as c:
        tb = c.streams.audio[0].time_base
        packets = [(p.pts, p.duration, bytes(p)) for p in c.demux(audio=0) if p.size]
    source = {pts: (data, duration) for pts, duration, data in packets if pts >= 0}  # before 0: priming
    length = max(pts + duration for pts, duration, _ in packets)  # in tb ticks
    out = tmp_path / "looped.mp4"
    with _deadline(10), Recorder(out, size=(64, 48), fps=30, audio_from=one_second, audio_start=audio_start) as rec:
        for i in range(frames):
            rec.write(Frame(pattern(64, 48, i), 7.0 + i / 30, i))
    with av.open(str(out)) as c:
        assert c.streams.audio[0].time_base == tb
        demuxed = [(p.stream.type, p.pts, p.duration, p.time_base, bytes(p)) for p in c.demux() if p.size]
    copied = [(pts, data) for kind, pts, _, _, data in demuxed if kind == "audio"]
    video_end = max(float((pts + d) * tb_v) for kind, pts, d, tb_v, _ in demuxed if kind == "video")
    origin = round(audio_start / tb)
    pts = [p for p, _ in copied]
    assert all(b > a for a, b in zip(pts, pts[1:], strict=False)), "audio timestamps went back"
    # The MP4 muxer starts each track at 0: the first packet (which the source has up to one packet after
    # audio_start) is moved to 0 and lengthened, so it is checked by its place in the sequence.
    before_second = (pts[1] + origin) % length - 1024
    assert before_second in source, f"the second audio packet is not the source's at {float(pts[1] * tb):.3f} s"
    pts[0] = pts[1] - source[before_second][1]
    assert 0 <= pts[0] < 1024
    src = [(p + origin) % length for p in pts]
    for p, s, (_, data) in zip(pts, src, copied, strict=True):
        assert s in source and source[s][0] == data, \
            f"audio at {float(p * tb):.3f} s is not the source's at {float(s * tb):.3f} s"
    assert sum(b < a for a, b in zip(src, src[1:], strict=False)) == wraps  # the number of loops
    audio_end = float((pts[-1] + source[src[-1]][1]) * tb)
    assert video_end - 0.05 < audio_end <= video_end + 1e-6  # the audio runs with the video, never past it
