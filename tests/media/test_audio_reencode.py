"""Audio the output container cannot carry as it is: which codec, rate and channels it becomes, and the note."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from adain_live.errors import MediaError
from adain_live.media.audio import AudioCarrier

SECONDS = 0.5


def _audio_file(path: Path, codec: str, layout: str, rate: int) -> Path:
    """An audio-only file: ``SECONDS`` of a 440 Hz tone on every channel."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        channels = av.AudioLayout(layout).nb_channels
        n = int(SECONDS * rate)
        wave = (0.2 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)).astype(np.float32)
        data = np.ascontiguousarray(np.tile(wave, (channels, 1)))
        for start in range(0, n, 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data[:, start : start + 1024]), format="fltp",
                                               layout=layout)
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def _carry(src: Path, dst: Path) -> tuple[list[str], Any]:
    """Carry ``src``'s audio into ``dst`` as a video job does; return the notes and the output stream's facts."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        carrier = AudioCarrier(out, list(inp.streams.audio))
        for packet in inp.demux(*inp.streams.audio):
            if packet.size:  # the reader drops demux's empty flush packets too
                out.mux(carrier.handle(packet))
        out.mux(carrier.flush())
    with av.open(str(dst)) as res:
        ctx = res.streams.audio[0].codec_context
        samples = sum(f.samples for f in res.decode(audio=0))
        facts = (ctx.name, ctx.sample_rate, ctx.layout.nb_channels, samples / ctx.sample_rate)
    return carrier.notes, facts


@pytest.mark.parametrize(("layout", "rate"), [("mono", 44100), ("5.1", 48000)])
def test_aac_keeps_the_channels_and_rate(tmp_path: Path, layout: str, rate: int) -> None:
    src = _audio_file(tmp_path / "in.mov", "pcm_s16le", layout, rate)
    notes, (codec, out_rate, channels, seconds) = _carry(src, tmp_path / "out.mp4")
    assert (codec, out_rate, channels) == ("aac", rate, av.AudioLayout(layout).nb_channels)
    assert seconds == pytest.approx(SECONDS, abs=0.05)
    assert notes == ["audio stream 0 (pcm_s16le) re-encoded to aac: MP4 does not carry pcm_s16le well"]


@pytest.mark.parametrize(("layout", "channels"), [("mono", 1), ("stereo", 2), ("3.0", 2), ("5.1", 2)])
def test_opus_takes_at_most_stereo(tmp_path: Path, layout: str, channels: int) -> None:
    src = _audio_file(tmp_path / "in.mov", "pcm_s16le", layout, 48000)
    notes, (codec, rate, got, seconds) = _carry(src, tmp_path / "out.webm")
    assert (codec, rate, got) == ("opus", 48000, channels)
    assert seconds == pytest.approx(SECONDS, abs=0.05)
    assert notes == ["audio stream 0 (pcm_s16le) re-encoded to libopus: WEBM does not carry pcm_s16le well"]


def test_rate_change_is_in_the_note(tmp_path: Path) -> None:
    src = _audio_file(tmp_path / "in.m4a", "aac", "stereo", 44100)
    notes, (codec, rate, _, seconds) = _carry(src, tmp_path / "out.webm")
    assert (codec, rate) == ("opus", 48000) and seconds == pytest.approx(SECONDS, abs=0.05)
    assert notes == ["audio stream 0 (aac) re-encoded to libopus 48000 Hz (from 44100 Hz): "
                     "WEBM does not carry aac well"]


def test_opus_into_avi_becomes_aac_not_the_containers_default(tmp_path: Path) -> None:
    src = _audio_file(tmp_path / "in.mkv", "libopus", "stereo", 48000)
    notes, (codec, rate, channels, _) = _carry(src, tmp_path / "out.avi")
    assert (codec, rate, channels) == ("aac", 48000, 2)
    assert notes == ["audio stream 0 (opus) re-encoded to aac: AVI does not carry opus well"]


class _Refusing:
    """An output container whose muxer rejects every new audio stream."""

    class format:  # noqa: N801 - mimics PyAV's attribute
        name = "webm"

    supported_codecs = frozenset({"opus"})
    default_audio_codec = "opus"

    def add_stream(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("no  such\nlayout")


def test_a_stream_that_cannot_be_set_up_is_one_line(tmp_path: Path) -> None:
    src = _audio_file(tmp_path / "in.mov", "pcm_s16le", "stereo", 48000)
    with av.open(str(src)) as inp, pytest.raises(
            MediaError, match=r"^cannot carry audio stream 0 \(pcm_s16le\): no such layout$"):
        AudioCarrier(_Refusing(), list(inp.streams.audio))
