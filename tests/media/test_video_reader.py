from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from adain_live.errors import MediaError
from adain_live.media import VideoReader, probe_video
from adain_live.media.synth import pattern
from adain_live.media.video_reader import rotate_upright

NTSC = Fraction(30000, 1001)


def test_ntsc_odd_frames_pts_and_info(ntsc_odd: Path) -> None:
    with VideoReader(ntsc_odd) as reader:
        info = reader.info
        frames = list(reader.frames())
    assert (info.width, info.height) == (641, 361)
    assert info.time_base == Fraction(1, 30000)
    assert info.average_rate == NTSC
    assert info.frame_count == 12
    assert [f.pts for f in frames] == [1001 * i for i in range(12)]
    assert all(f.duration == 1001 for f in frames)
    assert frames[0].image.shape == (361, 641, 3) and frames[0].image.dtype == np.uint8
    assert frames[0].image.flags.c_contiguous
    # yuv444p storage: the decoded RGB is close to what was written (RGB order, not BGR)
    diff = np.abs(frames[3].image.astype(int) - pattern(641, 361, 3).astype(int))
    assert np.median(diff) < 6


def test_vfr_pts_kept(vfr: Path, vfr_pts: list[int]) -> None:
    with VideoReader(vfr) as reader:
        assert [f.pts for f in reader.frames()] == vfr_pts


def test_rotation_applied(rotated: Path) -> None:
    info = probe_video(rotated)
    assert info.rotation == -90 and (info.width, info.height) == (48, 64)
    with VideoReader(rotated) as reader:
        first = next(reader.frames())
    assert first.image.shape == (64, 48, 3)
    upright = rotate_upright(pattern(64, 48, 0), -90)
    assert np.median(np.abs(first.image.astype(int) - upright.astype(int))) < 10


def test_rotate_upright_is_counter_clockwise() -> None:
    img = np.zeros((2, 3, 3), np.uint8)
    img[0, 2] = 255  # top-right
    assert rotate_upright(img, 90)[0, 0, 0] == 255  # ccw: top-right goes to top-left
    assert rotate_upright(img, -90)[2, 1, 0] == 255  # cw: top-right goes to bottom-right


def test_one_pixel_video(one_pixel: Path) -> None:
    with VideoReader(one_pixel) as reader:
        frames = list(reader.frames())
    assert len(frames) == 4 and frames[0].image.shape == (1, 1, 3)


def test_audio_packets_in_items(two_audio: Path) -> None:
    with VideoReader(two_audio, demux_audio=True) as reader:
        items = list(reader.items())
        audio = [i for i in items if not hasattr(i, "image")]
        assert {p.stream.index for p in audio} == {1, 2}  # packets are only valid while the file is open
        assert sum(hasattr(i, "image") for i in items) == 10
        del items, audio  # PyAV packets must not outlive their container


@pytest.mark.parametrize(("fixture", "words"), [
    ("truncated", "cannot open video"),
    ("text_mp4", "not a readable video"),
    ("audio_only", "has no video stream"),
])
def test_bad_inputs_fail_at_construction(fixture: str, words: str, request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(fixture)
    with pytest.raises(MediaError, match=words) as err:
        VideoReader(path)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not found"):
        VideoReader(tmp_path / "nope.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        VideoReader(tmp_path / "empty.mp4")
    with pytest.raises(MediaError, match="folder"):
        VideoReader(tmp_path)


def test_close_is_idempotent(small: Path) -> None:
    reader = VideoReader(small)
    reader.close()
    reader.close()
