"""Synthetic media made with PyAV, shared by the media tests (session-scoped: made once)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest

from adain_live.media.synth import make_test_video

NTSC = Fraction(30000, 1001)
VFR_PTS = [0, 1000, 1500, 4000, 4100, 9000, 9300, 12000]


@pytest.fixture(scope="session")
def vfr_pts() -> list[int]:
    return list(VFR_PTS)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def ntsc_odd(media_dir: Path) -> Path:
    """H.264 + AAC, 30000/1001 fps, odd size 641x361 (stored yuv444p), 12 frames."""
    return make_test_video(media_dir / "ntsc_odd.mp4", size=(641, 361), frames=12, rate=NTSC)


@pytest.fixture(scope="session")
def small(media_dir: Path) -> Path:
    """H.264 + AAC, 64x48, 30000/1001 fps, 10 frames."""
    return make_test_video(media_dir / "small.mp4", size=(64, 48), frames=10, rate=NTSC)


@pytest.fixture(scope="session")
def vfr(media_dir: Path) -> Path:
    """Variable frame rate: explicit pts in 1/30000."""
    return make_test_video(media_dir / "vfr.mp4", size=(64, 48), frames=len(VFR_PTS), pts=VFR_PTS,
                           time_base=Fraction(1, 30000), rate=NTSC)


@pytest.fixture(scope="session")
def two_audio(media_dir: Path) -> Path:
    """Two AAC audio streams."""
    return make_test_video(media_dir / "two_audio.mp4", size=(64, 48), frames=10, audio=("aac", "aac"))


@pytest.fixture(scope="session")
def pcm_mov(media_dir: Path) -> Path:
    """PCM audio in a MOV (MP4 output must re-encode it)."""
    return make_test_video(media_dir / "pcm.mov", size=(64, 48), frames=8, audio=("pcm_s16le",))


@pytest.fixture(scope="session")
def rotated(media_dir: Path) -> Path:
    """64x48 stored, display matrix -90 (clockwise, like a phone): displayed 48x64."""
    return make_test_video(media_dir / "rotated.mp4", size=(64, 48), frames=6, rotation=-90, audio=())


@pytest.fixture(scope="session")
def one_pixel(media_dir: Path) -> Path:
    """A 1x1 video."""
    return make_test_video(media_dir / "one.mkv", size=(1, 1), frames=4, codec="ffv1", pix_fmt="yuv444p",
                           audio=())


@pytest.fixture(scope="session")
def truncated(media_dir: Path, small: Path) -> Path:
    """The first 60 % of an MP4 (its index, at the end, is gone)."""
    path = media_dir / "truncated.mp4"
    data = small.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])
    return path


@pytest.fixture(scope="session")
def text_mp4(media_dir: Path) -> Path:
    path = media_dir / "notes.mp4"
    path.write_text("this is not a video\n" * 20)
    return path


@pytest.fixture(scope="session")
def audio_only(media_dir: Path) -> Path:
    """An MP4 with one AAC stream and no video."""
    path = media_dir / "audio_only.m4a"
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000, layout="stereo")
        frame = av.AudioFrame(format="fltp", layout="stereo", samples=1024)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts = 48000, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
