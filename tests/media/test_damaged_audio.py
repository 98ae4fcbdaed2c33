"""A video whose audio track header is damaged (its codec unknown) is stylized without that track, with a warning."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import pytest

from adain_live.cli import main
from adain_live.media.recorder import Recorder
from adain_live.media.synth import make_test_video, pattern
from adain_live.media.video_reader import VideoReader

STYLE = Path(__file__).resolve().parents[2] / "adain_live" / "assets" / "styles" / "swirl.jpg"


@pytest.fixture()
def damaged_audio(tmp_path: Path) -> Path:
    """A 6-frame MP4 whose audio track's ``minf`` box is renamed: FFmpeg sees the stream but not its codec."""
    good = make_test_video(tmp_path / "good.mp4", frames=6)
    data = bytearray(good.read_bytes())
    at = data.rfind(b"minf")  # the audio track comes after the video track
    data[at:at + 4] = b"xinf"
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    with av.open(str(bad)) as c:  # the damage this test is about
        assert c.streams.audio and c.streams.audio[0].codec_context is None
    return bad


def test_the_reader_leaves_the_damaged_audio_out(damaged_audio: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), VideoReader(damaged_audio) as reader:
        assert reader.info.audio_codecs == () and reader.audio_streams == []
        assert sum(1 for _ in reader.frames()) == 6
    assert any("audio stream 0 has an unknown or damaged codec" in r.getMessage() for r in caplog.records)


def test_video_cli_stylizes_it_without_that_audio(damaged_audio: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    rc = main(["-q", "video", str(damaged_audio), "-s", str(STYLE), "-o", str(out), "--size", "48",
               "--style-size", "48", "--device", "cpu"])
    assert rc == 0
    with av.open(str(out)) as c:
        assert not c.streams.audio and sum(1 for _ in c.decode(video=0)) == 6


def test_a_recording_with_that_audio_source_has_no_audio(damaged_audio: Path, tmp_path: Path) -> None:
    out = tmp_path / "rec.mp4"
    with Recorder(out, size=(64, 48), fps=30, audio_from=damaged_audio) as rec:
        for i in range(3):
            rec.write(pattern(64, 48, i), i / 30)
    with av.open(str(out)) as c:
        assert not c.streams.audio and sum(1 for _ in c.decode(video=0)) == 3
