"""Synthetic test videos made with PyAV (for tests, benchmarks and demos; no camera needed)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from adain_live.media._averr import quiet_ffmpeg

_SAMPLE_RATE = 48000


def pattern(width: int, height: int, index: int) -> np.ndarray:
    """Return a moving colour pattern (RGB uint8 HxWx3) whose content depends on ``index``."""
    y, x = np.mgrid[0:height, 0:width]
    r = (x * 255 // max(width - 1, 1) + index * 7) % 256
    g = (y * 255 // max(height - 1, 1) + index * 3) % 256
    b = ((x // 8 + y // 8 + index) % 2) * 200 + 20
    return np.ascontiguousarray(np.stack([r, g, b], axis=-1).astype(np.uint8))


def _audio_frames(seconds: float, tone: float, channels: int, rate: int = _SAMPLE_RATE) -> list[Any]:
    n = max(1, int(seconds * rate))
    t = np.arange(n, dtype=np.float32) / rate
    wave = (0.2 * np.sin(2 * np.pi * tone * t)).astype(np.float32)
    data = np.ascontiguousarray(np.tile(wave, (channels, 1)))
    layout = "stereo" if channels == 2 else "mono"
    frames = []
    for start in range(0, n, 1024):
        chunk = np.ascontiguousarray(data[:, start:start + 1024])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        frames.append(frame)
    return frames


def _add_audio(container: Any, codec: str, channels: int, rate: int = _SAMPLE_RATE) -> Any:
    stream = container.add_stream(codec, rate=rate, layout="stereo" if channels == 2 else "mono")
    return stream


def _write_frames(out: Any, video: Any, frames: int, pts: Sequence[int] | None,
                  time_base: Fraction | None) -> None:
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(pattern(video.width, video.height, i), format="rgb24")
        frame.pts = i if pts is None else pts[i]
        if time_base is not None:
            frame.time_base = time_base
        out.mux(video.encode(frame))
    out.mux(video.encode(None))


def make_test_video(
    path: str | Path,
    *,
    size: tuple[int, int] = (64, 48),
    frames: int = 10,
    rate: Fraction = Fraction(30000, 1001),
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    audio: Sequence[str] = ("aac",),
    rotation: int = 0,
    sample_rate: int = _SAMPLE_RATE,
) -> Path:
    """Write a small synthetic video and return its path.

    Parameters
    ----------
    path
        Output file; the extension picks the container.
    size
        ``(width, height)`` of the stored picture (odd sizes use ``yuv444p`` unless ``pix_fmt`` says so).
    frames
        Number of video frames.
    codec, pix_fmt
        Video encoder name and pixel format.
    rate
        Nominal frame rate; constant-rate pts are ``i`` in ``1/rate`` units unless ``pts`` is given.
    pts, time_base
        Explicit (e.g. variable-rate) timestamps in ``time_base`` units.
    audio
        One audio stream per codec name (``"aac"``, ``"pcm_s16le"``, ...), each a different sine tone.
    rotation
        Display-matrix rotation in degrees counter-clockwise.
    sample_rate
        Audio sample rate in Hz (48000; 44100 as many phones and CDs).
    """
    quiet_ffmpeg()
    path = Path(path)
    width, height = size
    if (width % 2 or height % 2) and pix_fmt == "yuv420p" and codec in ("libx264", "libx265"):
        pix_fmt = "yuv444p"
    duration = (frames / rate) if pts is None else (pts[-1] + 1) * (time_base or 1 / rate)
    with av.open(str(path), "w") as out:
        video: Any = out.add_stream(codec, rate=rate)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        if time_base is not None:
            video.codec_context.time_base = time_base
        if rotation:
            video.set_display_rotation(rotation)
        tracks = [(_add_audio(out, name, 2, sample_rate), 330.0 * (k + 1)) for k, name in enumerate(audio)]
        _write_frames(out, video, frames, pts, time_base)
        for stream, tone in tracks:
            for aframe in _audio_frames(float(duration), tone, 2, sample_rate):
                out.mux(stream.encode(aframe))
            out.mux(stream.encode(None))
    return path


def remux_faststart(src: str | Path, dst: str | Path) -> Path:
    """Remux ``src`` with the index (moov) first, as phones and web exports write MP4 (packets copied)."""
    with av.open(str(src)) as i, av.open(str(dst), "w", options={"movflags": "faststart"}) as o:
        streams = {s.index: o.add_stream_from_template(s) for s in i.streams}
        for packet in i.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                o.mux(packet)
    return Path(dst)
