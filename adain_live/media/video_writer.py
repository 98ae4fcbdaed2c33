"""Encode RGB frames with PyAV at exact timestamps (H.264 CRF by default; H.265, VP9, NVENC)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from adain_live.errors import MediaError
from adain_live.media._averr import disk_full_error, is_disk_full, quiet_ffmpeg, reason

logger = logging.getLogger(__name__)

#: ``--codec`` name -> (FFmpeg encoder, quality option, default quality, extra options)
CODECS: dict[str, tuple[str, str, int, dict[str, str]]] = {
    "h264": ("libx264", "crf", 20, {"preset": "medium"}),
    "h265": ("libx265", "crf", 24, {"preset": "medium", "x265-params": "log-level=error"}),
    "vp9": ("libvpx-vp9", "crf", 32, {"b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"}),
    "nvenc": ("h264_nvenc", "cq", 23, {"preset": "p4", "rc": "vbr"}),
}
#: ``--codec`` name -> the codec family containers list in ``supported_codecs``
_FAMILY = {"h264": "h264", "h265": "hevc", "vp9": "vp9", "nvenc": "h264"}
#: output extensions we know how to mux video into
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")
#: output extensions whose containers keep no per-frame timestamps (frames are written at one constant rate)
CONSTANT_RATE_SUFFIXES = (".avi",)
#: encoders that accept odd picture sizes in 4:2:0 (the others need even ones)
_ODD_OK = {"libvpx-vp9"}


@dataclass(frozen=True)
class EncodeSettings:
    """How to encode video.

    Attributes
    ----------
    codec
        One of :data:`CODECS` (``h264``, ``h265``, ``vp9``, ``nvenc``).
    quality
        CRF (x264/x265/VP9) or CQ (NVENC); lower is better. ``None`` uses the codec default.
    pix_fmt
        Output pixel format; ``yuv420p`` plays everywhere, ``yuv444p`` keeps odd sizes exact.
    """

    codec: str = "h264"
    quality: int | None = None
    pix_fmt: str = "yuv420p"

    def __post_init__(self) -> None:
        if self.codec not in CODECS:
            raise ValueError(f"codec {self.codec!r} is not one of {', '.join(CODECS)}")
        if self.quality is not None and not 0 <= self.quality <= 63:
            raise ValueError(f"quality {self.quality} is outside 0..63")
        if self.pix_fmt not in ("yuv420p", "yuv444p"):
            raise ValueError(f"pix_fmt {self.pix_fmt!r} is not one of yuv420p, yuv444p")

    @property
    def encoder(self) -> str:
        """FFmpeg encoder name."""
        return CODECS[self.codec][0]

    def options(self) -> dict[str, str]:
        """Encoder options for FFmpeg."""
        _, key, default, extra = CODECS[self.codec]
        return {**extra, key: str(default if self.quality is None else self.quality)}


def encoded_size(width: int, height: int, settings: EncodeSettings) -> tuple[int, int]:
    """Return the picture size the encoder gets: odd 4:2:0 sizes are padded by one pixel when needed."""
    if settings.pix_fmt != "yuv420p" or settings.encoder in _ODD_OK:
        return width, height
    return width + width % 2, height + height % 2


def check_encoder(settings: EncodeSettings) -> None:
    """Fail with :class:`MediaError` when the encoder is missing or cannot open (NVENC without a GPU)."""
    quiet_ffmpeg()
    try:
        ctx: Any = av.CodecContext.create(settings.encoder, "w")
        ctx.width, ctx.height, ctx.pix_fmt = 256, 256, settings.pix_fmt
        ctx.time_base = Fraction(1, 25)
        ctx.options = settings.options()
        ctx.open()
    except (av.error.FFmpegError, ValueError) as exc:
        hint = "no NVIDIA GPU/driver usable by FFmpeg" if settings.codec == "nvenc" else reason(exc)
        raise MediaError(
            f"encoder {settings.codec} ({settings.encoder}) is not available: {hint}; use --codec h264"
        ) from exc


def check_container(container: Any, path: Path, settings: EncodeSettings) -> None:
    """Fail with :class:`MediaError` when ``container`` cannot hold ``settings.codec`` video."""
    if _FAMILY[settings.codec] not in container.supported_codecs:
        raise MediaError(f"{path.suffix or path.name} files cannot hold {settings.codec} video: use another "
                         f"--codec or an .mp4/.mkv output")


class VideoEncoder:
    """One video stream in an output container, fed RGB frames with explicit pts.

    The codec context and the stream get ``time_base`` so that timestamps pass through unchanged
    (29.97 stays 30000/1001, variable-rate input stays variable). Every frame must have the first
    frame's size.
    """

    def __init__(self, container: Any, *, width: int, height: int, time_base: Fraction,
                 rate: Fraction | None, settings: EncodeSettings,
                 extra_options: dict[str, str] | None = None, constant_rate: bool = False) -> None:
        if constant_rate:
            # Containers without timestamps (AVI) store frame numbers at one rate and cannot reorder:
            # frames are numbered 0, 1, 2... at 1/rate, without B-frames.
            time_base = 1 / (rate or Fraction(30))
            extra_options = {**(extra_options or {}), "bf": "0"}
        self.constant_rate, self._count = constant_rate, 0
        self.container, self.width, self.height, self.time_base = container, width, height, time_base
        self.enc_width, self.enc_height = encoded_size(width, height, settings)
        if settings.codec == "h265" and min(width, height) < 64:
            # libx265 corrupts its heap on some tiny pictures (seen with 42x30 and 42x66): refuse them.
            raise MediaError(f"h265 cannot encode {width}x{height} reliably (under 64 px): use --codec h264")
        if (self.enc_width, self.enc_height) != (width, height):
            logger.warning("%dx%d is odd and %s needs even sizes for yuv420p: the output is padded to %dx%d "
                           "(use --pix-fmt yuv444p to keep the exact size)",
                           width, height, settings.codec, self.enc_width, self.enc_height)
        options = {**settings.options(), **(extra_options or {})}
        stream = container.add_stream(settings.encoder, rate=rate or Fraction(30), options=options)
        stream.width, stream.height, stream.pix_fmt = self.enc_width, self.enc_height, settings.pix_fmt
        stream.codec_context.time_base = time_base
        stream.time_base = time_base
        self.stream = stream
        self._durations: dict[int, int] = {}

    def _check(self, image: np.ndarray) -> np.ndarray:
        if image.dtype != np.uint8 or image.shape != (self.height, self.width, 3):
            raise MediaError(f"frame of shape {image.shape} {image.dtype} does not match the output "
                             f"({self.height}, {self.width}, 3) uint8: every frame must have the first's size")
        pad_h, pad_w = self.enc_height - self.height, self.enc_width - self.width
        if pad_h or pad_w:
            image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        return image

    def encode(self, image: np.ndarray, pts: int, duration: int = 0) -> list[Any]:
        """Encode one RGB frame at ``pts`` (``time_base`` units); return packets ready to mux."""
        frame = av.VideoFrame.from_ndarray(self._check(image), format="rgb24")
        if self.constant_rate:
            pts, duration = self._count, 1
            self._count += 1
        frame.pts, frame.time_base = pts, self.time_base
        if duration:
            self._durations[pts] = duration
        return self._fix(self.stream.encode(frame))

    def flush(self) -> list[Any]:
        """Drain the encoder; return the last packets."""
        return self._fix(self.stream.encode(None))

    def _fix(self, packets: list[Any]) -> list[Any]:
        # Encoders drop frame durations; the muxer needs them for the last frame's length.
        for packet in packets:
            dur = self._durations.pop(packet.pts, 0) if packet.pts is not None else 0
            if dur and not packet.duration:
                packet.duration = dur
        return packets


def open_output(path: Path, *, fragmented: bool = False, fmt: str | None = None,
                options: dict[str, str] | None = None) -> Any:
    """Open an output container (``fragmented`` MP4 survives a killed process)."""
    quiet_ffmpeg()
    if not path.parent.is_dir():
        raise MediaError(f"cannot write {path}: folder {path.parent} does not exist")
    options = dict(options or {})
    if fragmented:
        options.update({"movflags": "frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1"})
    try:
        return av.open(str(path), mode="w", format=fmt, options=options)
    except (av.error.FFmpegError, ValueError) as exc:
        if is_disk_full(exc):
            raise disk_full_error(path) from exc
        raise MediaError(f"cannot write {path}: {reason(exc)} (check the folder and the extension)") from exc


def mux(container: Any, packets: list[Any], path: Path | str) -> None:
    """Mux ``packets``, turning a full disk into a one-line :class:`MediaError`."""
    try:
        container.mux(packets)
    except (av.error.FFmpegError, OSError) as exc:
        if is_disk_full(exc):
            raise disk_full_error(path) from exc
        raise MediaError(f"cannot write {path}: {reason(exc)}") from exc
