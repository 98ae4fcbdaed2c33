from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from adain_live.engine.video_job import Progress, restyle_video
from adain_live.errors import MediaError
from adain_live.media.synth import make_test_video, pattern
from adain_live.media.video_writer import EncodeSettings

NTSC = Fraction(30000, 1001)
VFR_PTS = [0, 1000, 1500, 4000, 4100, 9000, 9300, 12000]
ROOT = Path(__file__).resolve().parents[2]


class Invert:
    """A stand-in pipeline: inverts colours, counts batches."""

    def __init__(self, fail_at: int | None = None, exc: type[BaseException] = RuntimeError) -> None:
        self.batches: list[int] = []
        self.fail_at, self.exc = fail_at, exc

    def process_batch(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        if self.fail_at is not None and sum(self.batches) >= self.fail_at:
            raise self.exc("boom")
        self.batches.append(len(frames))
        return [255 - f for f in frames]


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    return {
        "ntsc_odd": make_test_video(d / "ntsc_odd.mp4", size=(641, 361), frames=12, rate=NTSC),
        "vfr": make_test_video(d / "vfr.mp4", frames=len(VFR_PTS), pts=VFR_PTS, time_base=Fraction(1, 30000)),
        "two_audio": make_test_video(d / "two.mp4", frames=10, audio=("aac", "aac")),
        "pcm": make_test_video(d / "pcm.mov", frames=8, audio=("pcm_s16le",)),
        "rotated": make_test_video(d / "rot.mp4", frames=6, rotation=-90, audio=()),
        "one": make_test_video(d / "one.mkv", size=(1, 1), frames=3, codec="ffv1", pix_fmt="yuv444p", audio=()),
    }


def _video(path: Path) -> tuple[list[int], Fraction, Fraction | None, list[np.ndarray], float]:
    with av.open(str(path)) as c:  # keep plain values: no PyAV frame outlives its file
        st = c.streams.video[0]
        frames = [(int(f.pts), f.rotation, f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]
        tb, rate, dur = st.time_base, st.average_rate, float(st.duration * st.time_base)
    assert all(rot in (0, None) for _, rot, _ in frames)
    return [p for p, _, _ in frames], tb, rate, [a for _, _, a in frames], dur


def _audio_packets(path: Path) -> list[list[tuple[bytes, float | None]]]:
    """Per audio stream: each packet's bytes and its time relative to the first video frame, in seconds.

    Relative to the video so a container that shifts every stream alike (Matroska cannot store the negative time
    of AAC's priming packet) compares equal, while audio delayed or advanced against the picture does not.
    One demux pass over all streams (a second ``demux`` of the same container would start at its end).
    """
    with av.open(str(path)) as c:
        audio = {s.index: i for i, s in enumerate(c.streams.audio)}
        out: list[list[tuple[bytes, float | None]]] = [[] for _ in audio]
        video_t0: float | None = None
        for p in c.demux(*c.streams.audio, c.streams.video[0]):
            if not p.size or p.pts is None:
                continue
            t = float(p.pts * p.time_base)
            if p.stream.type == "video":
                video_t0 = t if video_t0 is None else min(video_t0, t)
            else:
                out[audio[p.stream.index]].append((bytes(p), t))
    t0 = video_t0 or 0.0
    return [[(b, t - t0) for b, t in stream] for stream in out]


def _same_audio(a: Path, b: Path, tol: float = 0.0015) -> bool:
    """Same packets, bytes for bytes, at the same times against the picture (within Matroska's 1 ms ticks)."""
    pa, pb = _audio_packets(a), _audio_packets(b)
    return [[x for x, _ in s] for s in pa] == [[x for x, _ in s] for s in pb] and all(
        abs(ta - tb) <= tol for sa, sb in zip(pa, pb, strict=True) for (_, ta), (_, tb) in zip(sa, sb, strict=True))


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_ntsc_timing_audio_and_size(videos: dict[str, Path], tmp_path: Path) -> None:
    src, out = videos["ntsc_odd"], tmp_path / "out.mp4"
    seen: list[Progress] = []
    pipe = Invert()
    result = restyle_video(src, out, pipe, batch_size=5, on_progress=seen.append,
                           settings=EncodeSettings(pix_fmt="yuv444p"))
    assert pipe.batches == [5, 5, 5]  # 12 frames: the last batch is padded to keep one shape
    pts_in, tb_in, rate_in, frames_in, dur_in = _video(src)
    pts, tb, rate, frames, dur = _video(out)
    assert result.frames == len(frames) == len(frames_in) == 12
    assert (pts, tb, rate) == (pts_in, tb_in, rate_in) == ([1001 * i for i in range(12)], Fraction(1, 30000), NTSC)
    assert abs(dur - dur_in) < 1e-3  # the last frame keeps its duration
    assert frames[0].shape == (361, 641, 3)  # exact odd size with yuv444p
    assert np.median(np.abs(frames[5].astype(int) - (255 - frames_in[5]).astype(int))) < 8
    assert _same_audio(out, src)  # byte-identical audio at the same times
    assert seen[-1].done == 12 and seen[-1].total == 12 and seen[-1].fps > 0
    assert _leftovers(tmp_path) == ["out.mp4"]


def test_odd_size_yuv420p_pads_by_one(videos: dict[str, Path], tmp_path: Path) -> None:
    result = restyle_video(videos["ntsc_odd"], tmp_path / "o.mp4", Invert())
    assert result.encoded_size == (642, 362)
    assert _video(tmp_path / "o.mp4")[3][0].shape == (362, 642, 3)


def test_vfr_stays_vfr(videos: dict[str, Path], tmp_path: Path) -> None:
    restyle_video(videos["vfr"], tmp_path / "v.mp4", Invert(), batch_size=3)
    assert _video(tmp_path / "v.mp4")[0] == VFR_PTS


def test_two_audio_streams_copied(videos: dict[str, Path], tmp_path: Path) -> None:
    result = restyle_video(videos["two_audio"], tmp_path / "t.mkv", Invert())
    packets = _audio_packets(tmp_path / "t.mkv")
    assert len(packets) == 2 and all(len(p) > 10 for p in packets) and not result.audio_notes
    assert _same_audio(tmp_path / "t.mkv", videos["two_audio"])


def test_pcm_reencoded_to_aac_in_mp4(videos: dict[str, Path], tmp_path: Path) -> None:
    result = restyle_video(videos["pcm"], tmp_path / "p.mp4", Invert())
    assert result.audio_notes and "re-encoded to aac" in result.audio_notes[0]
    with av.open(str(tmp_path / "p.mp4")) as c:
        assert [s.codec_context.name for s in c.streams.audio] == ["aac"]
        assert sum(1 for _ in c.decode(audio=0)) > 0


def test_rotation_honoured(videos: dict[str, Path], tmp_path: Path) -> None:
    restyle_video(videos["rotated"], tmp_path / "r.mp4", Invert())
    frames = _video(tmp_path / "r.mp4")[3]
    assert frames[0].shape == (64, 48, 3)  # displayed portrait, stored upright, no rotation flag
    upright = np.rot90(pattern(64, 48, 0), -1)
    assert np.median(np.abs(frames[0].astype(int) - (255 - upright).astype(int))) < 10


def test_one_pixel_video(videos: dict[str, Path], tmp_path: Path) -> None:
    result = restyle_video(videos["one"], tmp_path / "one.mkv", Invert(),
                           settings=EncodeSettings(pix_fmt="yuv444p"))
    assert result.frames == 3 and _video(tmp_path / "one.mkv")[3][0].shape == (1, 1, 3)


@pytest.mark.parametrize("content", [b"", b"not a video" * 50])
def test_bad_input_leaves_nothing(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "in.mp4"
    src.write_bytes(content)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(MediaError) as err:
        restyle_video(src, out_dir / "o.mp4", Invert())
    assert "\n" not in str(err.value) and _leftovers(out_dir) == []


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_interrupt_leaves_nothing(videos: dict[str, Path], tmp_path: Path, exc: type[BaseException]) -> None:
    with pytest.raises(exc):
        restyle_video(videos["ntsc_odd"], tmp_path / "o.mp4", Invert(fail_at=4, exc=exc), batch_size=2)
    assert _leftovers(tmp_path) == []


def test_existing_output_needs_overwrite(videos: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    out.write_bytes(b"keep me")
    with pytest.raises(MediaError, match="--overwrite"):
        restyle_video(videos["vfr"], out, Invert())
    assert out.read_bytes() == b"keep me"
    restyle_video(videos["vfr"], out, Invert(), overwrite=True)
    assert len(_video(out)[0]) == len(VFR_PTS)
    with pytest.raises(MediaError, match="is the input"):
        restyle_video(out, out, Invert(), overwrite=True)
    with pytest.raises(MediaError, match="cannot tell the video format"):
        restyle_video(out, tmp_path / "o.txt", Invert())
    with pytest.raises(MediaError, match="cannot hold h264"):
        restyle_video(out, tmp_path / "o.webm", Invert())
    assert _leftovers(tmp_path) == ["o.mp4"]


_DISK_FULL_CHILD = """
import resource, signal, sys
from adain_live.engine.video_job import restyle_video
from adain_live.errors import MediaError
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (5_000, 5_000))  # the output needs ~18 KB
try:
    restyle_video(sys.argv[1], sys.argv[2], type("P", (), {"process_batch": lambda s, f: f})())
except MediaError as exc:
    print(exc)
    sys.exit(2)
"""


def test_disk_full_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    src = make_test_video(tmp_path / "big.mkv", size=(160, 120), frames=30, codec="ffv1", pix_fmt="yuv444p",
                          audio=())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", _DISK_FULL_CHILD, str(src), str(out_dir / "o.mkv")],
                          capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout.startswith("disk full while writing") and proc.stdout.count("\n") == 1
    assert _leftovers(out_dir) == []
