"""Decode a video file with PyAV: upright RGB frames with their exact pts and time base."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from adain_live.errors import MediaError
from adain_live.media._averr import quiet_ffmpeg, reason
from adain_live.media.audio import usable_audio

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, as far as the header tells.

    ``width``/``height`` are the *display* size (rotation applied); ``rotation`` is the display-matrix
    angle in degrees counter-clockwise (0, 90, 180 or -90).
    """

    path: Path
    width: int
    height: int
    time_base: Fraction
    average_rate: Fraction | None
    frame_count: int | None
    duration: float | None
    rotation: int
    codec: str
    audio_codecs: tuple[str, ...]


@dataclass(frozen=True)
class DecodedFrame:
    """One decoded frame: upright RGB image, pts in ``time_base`` units, duration in the same units."""

    image: np.ndarray
    pts: int
    duration: int
    time: float
    index: int


def _open_input(path: Path) -> Any:
    if not path.exists():
        raise MediaError(f"video not found: {path}")
    if path.is_dir():
        raise MediaError(f"{path} is a folder, not a video file")
    if path.stat().st_size == 0:
        raise MediaError(f"video {path} is empty (0 bytes): re-export or re-download it")
    quiet_ffmpeg()
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError(f"cannot open video {path}: not a readable video file ({reason(exc)})") from exc


def rotate_upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Return ``image`` turned by ``rotation`` degrees counter-clockwise (display matrix), contiguous."""
    k = round(rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(image, k)) if k else image


class VideoReader:
    """Open a video file and iterate over its frames (and, on request, audio packets) in order.

    The first frame is decoded in the constructor, so a missing, empty, truncated or non-video file,
    a file without a video stream or with a codec this FFmpeg build cannot decode fails at once with a
    one-line :class:`MediaError`, and :attr:`info` knows the rotation and display size.

    Parameters
    ----------
    path
        The video file.
    demux_audio
        When True, :meth:`items` also yields the audio packets (for stream copy).
    """

    def __init__(self, path: str | Path, *, demux_audio: bool = False) -> None:
        self.path = Path(path)
        self._container = _open_input(self.path)
        self._pending: list[Any] = []
        self._iter = self._raw_items()
        # Close the suspended demux/decode generator and drop decoded frames before the container, also
        # at interpreter exit for a reader nobody closed: otherwise PyAV can hang there.
        self._finalizer = weakref.finalize(self, _close_all, self._pending, self._iter, self._container)
        try:
            self._check_streams()
            self.video_stream = self._container.streams.video[0]
            self.video_stream.thread_type = "AUTO"
            audio = usable_audio(self._container, self.path)
            self.audio_streams = audio if demux_audio else []
            first = self._prefetch_first_frame()
            self.info = self._make_info(int(first.rotation or 0), audio)
            self._maker = FrameMaker(self.info)
        except BaseException:
            self._finalizer()
            raise

    def _check_streams(self) -> None:
        streams = self._container.streams
        if not streams.video:
            kinds = ", ".join(s.type for s in streams) or "nothing"
            raise MediaError(f"{self.path} has no video stream (it holds {kinds}): give a video file")
        codec = streams.video[0].codec_context
        if codec is None or not codec.name:
            raise MediaError(f"{self.path}: its video codec is not supported by this FFmpeg build")

    def _prefetch_first_frame(self) -> Any:
        for item in self._iter:
            self._pending.append(item)
            if isinstance(item, av.VideoFrame):
                return item
        raise MediaError(f"{self.path}: no video frame could be decoded (truncated or corrupt file)")

    def _make_info(self, rotation: int, audio: list[Any]) -> VideoInfo:
        st = self.video_stream
        w, h = st.codec_context.width, st.codec_context.height
        if rotation % 180:
            w, h = h, w
        duration = float(st.duration * st.time_base) if st.duration else None
        if duration is None and self._container.duration:
            duration = self._container.duration / av.time_base
        return VideoInfo(
            path=self.path, width=w, height=h, time_base=st.time_base,
            average_rate=st.average_rate or st.guessed_rate or None,
            frame_count=st.frames or None, duration=duration, rotation=rotation,
            codec=st.codec_context.name,
            audio_codecs=tuple(a.codec_context.name for a in audio),
        )

    def _raw_items(self) -> Iterator[Any]:
        """Yield PyAV video frames and audio packets in file order (demux ends with flush packets)."""
        try:
            for packet in self._container.demux(self.video_stream, *self.audio_streams):
                if packet.stream.type == "video":
                    yield from self.video_stream.decode(packet if packet.size else None)
                elif packet.size:
                    yield packet
        except av.error.FFmpegError as exc:
            raise MediaError(
                f"cannot decode {self.path}: {reason(exc)} (truncated or corrupt file?)"
            ) from exc

    def items(self) -> Iterator[DecodedFrame | Any]:
        """Yield :class:`DecodedFrame` objects and (with ``demux_audio``) audio ``av.Packet`` objects."""
        while self._pending:
            item = self._pending.pop(0)
            yield self._maker(item) if isinstance(item, av.VideoFrame) else item
        for item in self._iter:
            yield self._maker(item) if isinstance(item, av.VideoFrame) else item

    def frames(self) -> Iterator[DecodedFrame]:
        """Yield every video frame in presentation order as an upright RGB :class:`DecodedFrame`."""
        for item in self.items():
            if isinstance(item, DecodedFrame):
                yield item

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._finalizer()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FrameMaker:
    """Turn PyAV frames into :class:`DecodedFrame` (RGB, upright, pts and duration filled in).

    Every frame gets the first frame's size: a stream whose resolution changes midway (a spliced
    recording) is scaled to it, with one warning, so batches and the encoder see one shape throughout.
    """

    def __init__(self, info: VideoInfo) -> None:
        self.info = info
        self.count = 0
        self._stored: tuple[int, int] | None = None
        self._last_pts: int | None = None
        rate = info.average_rate
        self._default_dur = max(1, round(1 / (rate * info.time_base))) if rate else 1

    def __call__(self, frame: Any) -> DecodedFrame:
        """Convert one PyAV frame."""
        pts = frame.pts if frame.pts is not None else (
            0 if self._last_pts is None else self._last_pts + self._default_dur
        )
        duration = int(frame.duration or self._default_dur)
        size = (int(frame.width), int(frame.height))
        if self._stored is None:
            self._stored = size
        if size != self._stored:
            if self.count and not getattr(self, "_warned", False):
                logger.warning("%s changes resolution at frame %d (%dx%d to %dx%d): scaling to the first size",
                               self.info.path, self.count, *self._stored, *size)
                self._warned = True
            image = frame.to_ndarray(format="rgb24", width=self._stored[0], height=self._stored[1])
        else:
            image = frame.to_ndarray(format="rgb24")
        rotation = frame.rotation if frame.rotation is not None else self.info.rotation
        image = rotate_upright(image, int(rotation or 0))
        out = DecodedFrame(np.ascontiguousarray(image), int(pts), duration,
                           float(pts * self.info.time_base), self.count)
        self.count += 1
        self._last_pts = pts
        return out


def _close_all(pending: list[Any], iterator: Any, container: Any) -> None:
    pending.clear()  # decoded frames must go before their codec context
    iterator.close()
    container.close()


def probe_video(path: str | Path) -> VideoInfo:
    """Return :class:`VideoInfo` for ``path`` (fails with :class:`MediaError` like :class:`VideoReader`)."""
    with VideoReader(path) as reader:
        return reader.info
