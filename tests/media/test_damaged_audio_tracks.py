"""A damaged audio track among good ones: only it is left out, with one warning naming the file and the track."""

from __future__ import annotations

import logging
from pathlib import Path

import av
import pytest

from adain_live.media.synth import make_test_video
from adain_live.media.video_reader import VideoReader


def test_a_damaged_first_track_leaves_the_second_one_in(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = make_test_video(tmp_path / "good.mp4", frames=6, audio=("aac", "aac"))
    data = bytearray(good.read_bytes())
    first_audio = data.find(b"minf", data.find(b"minf") + 4)  # video track, then the two audio tracks
    data[first_audio:first_audio + 4] = b"xinf"
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(bytes(data))
    with av.open(str(bad)) as c:  # the damage this test is about
        assert len(c.streams.audio) == 2 and c.streams.audio[0].codec_context is None
    with caplog.at_level(logging.WARNING), VideoReader(bad, demux_audio=True) as reader:
        assert [s.index for s in reader.audio_streams] == [2] and reader.info.audio_codecs == ("aac",)
        assert sum(1 for _ in reader.frames()) == 6
    assert [r.getMessage() for r in caplog.records if "audio" in r.getMessage()] == [
        f"{bad}: audio stream 0 has an unknown or damaged codec; it is left out"]
