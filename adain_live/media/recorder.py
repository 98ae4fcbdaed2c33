"""Record a live stream to a fragmented MP4 that stays playable if the process is killed."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from adain_live._fs import atomic_write_path
from adain_live.errors import MediaError
from adain_live.media._averr import reason
from adain_live.media.audio import can_copy, usable_audio
from adain_live.media.frames import Frame
from adain_live.media.video_writer import EncodeSettings, VideoEncoder, check_encoder, mux, open_output

logger = logging.getLogger(__name__)

_MS = Fraction(1, 1000)
_LIVE_X264 = {"preset": "veryfast", "tune": "zerolatency"}


class _AudioFeed:
    """Copy the audio of a video file into the recording, from ``start`` seconds on, looping at its end."""

    def __init__(self, path: Path, out: Any, start: float) -> None:
        self.path = path
        try:
            self._in = av.open(str(path))
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaError(f"cannot read the audio of {path}: {reason(exc)}") from exc
        self.stream: Any = None
        streams = usable_audio(self._in, path)
        if not streams:
            self._in.close()
            return
        src = streams[0]
        if not can_copy(out, src.codec_context.name):
            logger.warning("recording without audio: %s audio cannot be copied into MP4", src.codec_context.name)
            self._in.close()
            return
        self.src, self.stream = src, out.add_stream_from_template(src)
        self.tb: Fraction = src.time_base or Fraction(1, 48000)
        # output pts = source pts - origin + base (source time_base); re-based at each loop
        self.origin, self.base, self.end = round(start / self.tb), 0, 0
        self._packets = self._read(seek_to=self.origin)
        self._held: Any = None

    def _read(self, seek_to: int) -> Any:
        self._in.seek(max(seek_to, 0), stream=self.src)
        for packet in self._in.demux(self.src):
            if packet.size and packet.pts is not None and packet.pts >= seek_to:
                yield packet

    def _next(self) -> Any:
        """Next source packet, looping to the file start at its end (None if the file has no packet)."""
        for _ in range(2):
            packet = next(self._packets, None)
            if packet is not None:
                self.end = max(self.end, packet.pts + (packet.duration or 0))
                return packet
            self.base += self.end - self.origin
            self.origin, self.end = 0, 0
            self._packets = self._read(seek_to=0)
        return None

    def packets_until(self, seconds: float) -> list[Any]:
        """Return the audio packets (retimed, for the output) that end by recording time ``seconds``.

        Packets are taken only once they end by the video written so far, so the audio never runs past the
        last video frame.
        """
        if self.stream is None:
            return []
        limit = round(seconds / self.tb)
        out: list[Any] = []
        while True:
            packet = self._held or self._next()
            self._held = None
            if packet is None:
                return out
            if packet.pts - self.origin + self.base + (packet.duration or 0) > limit:
                self._held = packet
                return out
            packet.pts = packet.dts = packet.pts - self.origin + self.base
            packet.stream = self.stream
            out.append(packet)

    def close(self) -> None:
        """Close the source file; packets read from it must go first (PyAV frees them with it)."""
        if self.stream is not None:
            self._held = None
            self._packets.close()
            self._in.close()


def _timescale(time_base: Fraction) -> str:
    """An MP4 track timescale that holds ``time_base`` exactly (at least 1000 ticks per second)."""
    scale = time_base.denominator
    return str(scale * max(1, -(-1000 // scale)))


def finish_as_plain_mp4(path: Path) -> bool:
    """Rewrite a finished fragmented MP4 as an ordinary one (index with the frame count up front: faststart).

    Tools that trust the header (``frames=0`` in a fragmented file) then see every frame. Done atomically: on
    any failure the fragmented file stays as it is (it plays) and False is returned.
    """
    try:
        with atomic_write_path(path) as tmp, av.open(str(path)) as src:
            scale = src.streams.video[0].time_base or Fraction(1, 1000)
            options = {"movflags": "+faststart", "video_track_timescale": str(scale.denominator)}
            with av.open(str(tmp), "w", format="mp4", options=options) as dst:
                streams = {s.index: dst.add_stream_from_template(s) for s in src.streams if s.type in ("video",
                                                                                                       "audio")}
                for packet in src.demux(*[s for s in src.streams if s.index in streams]):
                    if packet.dts is None:
                        continue
                    packet.stream = streams[packet.stream.index]
                    dst.mux(packet)
        return True
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        logger.warning("kept %s as a fragmented MP4 (plays everywhere, but its header has no frame count): %s",
                       path, reason(exc))
        return False


class Recorder:
    """Write live frames to a fragmented MP4 with millisecond timestamps from the capture clock.

    A fragment is flushed at every keyframe (one per second), so a killed process leaves a file that plays
    up to about the last second. A clean :meth:`close` rewrites it as an ordinary MP4 (frame count in the
    header, index first) with :func:`finish_as_plain_mp4`. Every frame must have the recording's size.

    Parameters
    ----------
    path
        Output ``.mp4`` file.
    size
        ``(width, height)``; ``None`` takes the first frame's size.
    fps
        Expected frame rate (a hint for the encoder; timestamps decide the timing).
    constant_rate
        Write a constant-rate stream at ``fps`` (time base ``1/fps``, every frame one tick long), as video
        editors expect; timestamps are rounded to whole frames. Otherwise millisecond timestamps (variable rate).
    audio_from
        A video file whose first audio stream is copied in (packet for packet), starting at
        ``audio_start`` seconds of that file and looping with it.
    codec, quality
        As in :class:`EncodeSettings`.
    """

    def __init__(self, path: str | Path, *, size: tuple[int, int] | None = None, fps: float | Fraction = 30.0,
                 audio_from: str | Path | None = None, audio_start: float = 0.0,
                 codec: str = "h264", quality: int | None = None, constant_rate: bool = False) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() not in (".mp4", ".m4v", ".mov"):
            raise MediaError(f"recordings are MP4 files; {self.path.name} does not end in .mp4")
        if not self.path.parent.is_dir():
            raise MediaError(f"cannot record to {self.path}: folder {self.path.parent} does not exist")
        if audio_from is not None and not Path(audio_from).is_file():
            raise MediaError(f"cannot copy audio from {audio_from}: no such file")
        self.settings = EncodeSettings(codec=codec, quality=quality)
        check_encoder(self.settings)
        self.size, self.fps = size, fps
        rate = Fraction(fps).limit_denominator(1001)
        self.constant_rate = constant_rate
        self.time_base = 1 / rate if constant_rate else _MS
        self.audio_from, self.audio_start = audio_from, audio_start
        self.frames = 0
        self._out: Any = None
        self._video: VideoEncoder | None = None
        self._audio: _AudioFeed | None = None
        self._t0: float | None = None
        self._last_pts = -1
        self._closed = False

    def start(self) -> Recorder:
        """Open the file (done lazily by the first :meth:`write` when ``size`` is ``None``)."""
        if self._out is None and self.size is not None:
            self._open(self.size)
        return self

    def _open(self, size: tuple[int, int]) -> None:
        self._out = open_output(self.path, fragmented=True,
                                options={"video_track_timescale": _timescale(self.time_base)})
        try:
            extra = {"g": str(max(1, round(self.fps)))}
            if self.settings.codec == "h264":
                extra.update(_LIVE_X264)
            self._video = VideoEncoder(self._out, width=size[0], height=size[1], time_base=self.time_base,
                                       rate=Fraction(self.fps).limit_denominator(1001), settings=self.settings,
                                       extra_options=extra)
            if self.audio_from is not None:
                self._audio = _AudioFeed(Path(self.audio_from), self._out, self.audio_start)
        except BaseException:
            self._out.close()
            raise
        self.size = size

    def write(self, frame: Frame | np.ndarray, timestamp: float | None = None) -> None:
        """Append a frame; its time is ``frame.timestamp`` (or ``timestamp``) minus the first frame's."""
        if self._closed:
            raise MediaError(f"recording {self.path.name} is already closed")
        image = frame.image if isinstance(frame, Frame) else frame
        ts = frame.timestamp if isinstance(frame, Frame) else float(timestamp or 0.0)
        if self._out is None:
            self._open((int(image.shape[1]), int(image.shape[0])))
        assert self._video is not None
        if self._t0 is None:
            self._t0 = ts
        pts = max(round((ts - self._t0) / self.time_base), self._last_pts + 1)  # strictly increasing
        self._last_pts = pts
        mux(self._out, self._video.encode(image, pts, 1 if self.constant_rate else 0), self.path)
        if self._audio is not None:  # audio up to the start of this frame: never past the video
            mux(self._out, self._audio.packets_until(float(pts * self.time_base)), self.path)
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and finish the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._out is None:
            return
        try:
            assert self._video is not None
            mux(self._out, self._video.flush(), self.path)
            if self._audio is not None and self._last_pts >= 0:  # audio up to the end of the last frame
                end = float((self._last_pts + self._frame_ticks()) * self.time_base)
                mux(self._out, self._audio.packets_until(end), self.path)
        finally:
            if self._audio is not None:
                self._audio.close()
            self._out.close()
        if self.frames:
            finish_as_plain_mp4(self.path)
        logger.info("recorded %d frames to %s", self.frames, self.path)

    def _frame_ticks(self) -> int:
        """Length of one frame in ``time_base`` ticks."""
        return 1 if self.constant_rate else max(1, round(1 / (float(self.fps) * float(self.time_base))))

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
