from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
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
        time.sleep(0.2)
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
