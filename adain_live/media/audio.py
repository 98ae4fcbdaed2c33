"""Carry audio from an input file into an output: packet copy, or re-encode when the container refuses."""

from __future__ import annotations

import logging
from typing import Any

import av

from adain_live.errors import MediaError
from adain_live.media._averr import reason

logger = logging.getLogger(__name__)

# Formats whose muxer accepts a codec that players do not: copy would "work" and then not play.
_BADLY_PLAYED = {"mp4": ("pcm_",)}


def usable_audio(container: Any, path: object) -> list[Any]:
    """The input ``container``'s audio streams whose codec FFmpeg knows; a damaged one is left out, with a warning."""
    streams = []
    for n, st in enumerate(container.streams.audio):
        if st.codec_context is None or not st.codec_context.name:
            logger.warning("%s: audio stream %d has an unknown or damaged codec; it is left out", path, n)
            continue
        streams.append(st)
    return streams


def can_copy(container: Any, codec: str) -> bool:
    """Return True when ``container`` (an output) can carry ``codec`` packets as they are."""
    names = container.format.name.split(",")
    if any(codec.startswith(p) for name in names for p in _BADLY_PLAYED.get(name, ())):
        return False
    return codec in container.supported_codecs


def pick_rate(source_rate: int, supported: Any) -> int:
    """Return the encoder's sample rate for ``source_rate``.

    That is the rate itself when supported, else the nearest higher one (no detail lost), else the highest:
    Opus takes 48/24/16/12/8 kHz only, so 44.1 kHz becomes 48 kHz.
    """
    rates = sorted(int(r) for r in supported or ())
    if not rates or source_rate in rates:
        return source_rate
    return next((r for r in rates if r >= source_rate), rates[-1])


class _Reencoder:
    """Decode one input audio stream and encode it with the container's audio codec (AAC for MP4).

    Frames are resampled to what the encoder takes (sample rate, sample format, at most stereo for codecs
    that need it), so audio is converted rather than dropped or crashing the job.
    """

    def __init__(self, container: Any, source: Any) -> None:
        codec_name = "aac" if "aac" in container.supported_codecs else container.default_audio_codec
        ctx = source.codec_context
        self.source = source
        codec = av.codec.Codec(codec_name, "w")
        self.in_rate = int(ctx.sample_rate or 48000)
        self.rate = pick_rate(self.in_rate, codec.audio_rates)
        channels = ctx.layout.nb_channels if ctx.layout else 2
        layout = ctx.layout.name if ctx.layout and (channels <= 2 or codec_name != "opus") else "stereo"
        formats = [f.name for f in codec.audio_formats or ()]
        fmt = ctx.format.name if ctx.format and (not formats or ctx.format.name in formats) else (
            formats[0] if formats else "fltp")
        self.stream = container.add_stream(codec_name, rate=self.rate, layout=layout)
        self.stream.codec_context.format = fmt
        self.resampler = av.AudioResampler(format=fmt, layout=layout, rate=self.rate)
        self.codec = self.stream.codec_context.name

    def _encode(self, frames: list[Any]) -> list[Any]:
        out: list[Any] = []
        for frame in frames:
            frame.pts = None  # the encoder counts samples; the source's gaps are not worth keeping
            out.extend(self.stream.encode(frame))
        return out

    def handle(self, packet: Any) -> list[Any]:
        out: list[Any] = []
        for frame in self.source.codec_context.decode(packet):
            frame.pts = None
            out.extend(self._encode(self.resampler.resample(frame)))
        return out

    def flush(self) -> list[Any]:
        return self.handle(None) + self._encode(self.resampler.resample(None)) + list(self.stream.encode(None))


class AudioCarrier:
    """Map every audio stream of an input file into an output container.

    Parameters
    ----------
    container
        The output container (before any packet is muxed).
    sources
        The input audio streams, in order.
    """

    def __init__(self, container: Any, sources: list[Any]) -> None:
        self.notes: list[str] = []
        self._copy: dict[int, Any] = {}
        self._reenc: dict[int, _Reencoder] = {}
        for n, src in enumerate(sources):
            codec = src.codec_context.name
            try:
                if can_copy(container, codec):
                    self._copy[src.index] = container.add_stream_from_template(src)
                    continue
                enc = _Reencoder(container, src)
            except (av.error.FFmpegError, ValueError) as exc:
                raise MediaError(f"cannot carry audio stream {n} ({codec}): {reason(exc)}") from exc
            self._reenc[src.index] = enc
            fmt = container.format.name.split(",")[0].upper()
            rate = f" {enc.rate} Hz (from {enc.in_rate} Hz)" if enc.rate != enc.in_rate else ""
            self.notes.append(f"audio stream {n} ({codec}) re-encoded to {enc.codec}{rate}: "
                              f"{fmt} does not carry {codec} well")
        for note in self.notes:
            logger.warning(note)

    def handle(self, packet: Any) -> list[Any]:
        """Return the output packets for one input audio packet (copied or re-encoded)."""
        idx = packet.stream.index
        if idx in self._copy:
            packet.stream = self._copy[idx]
            return [packet]
        if idx in self._reenc:
            return self._reenc[idx].handle(packet)
        return []

    @property
    def copied(self) -> int:
        """Number of audio streams copied packet for packet."""
        return len(self._copy)

    @property
    def reencoded(self) -> int:
        """Number of audio streams re-encoded."""
        return len(self._reenc)

    def flush(self) -> list[Any]:
        """Drain the re-encoders."""
        return [p for enc in self._reenc.values() for p in enc.flush()]
