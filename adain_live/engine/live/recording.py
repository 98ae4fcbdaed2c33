"""Outputs of the live loop that must not slow it down: recording and a virtual camera.

Each runs in its own thread behind a bounded queue; when a sink falls behind, frames are dropped for that
sink only (counted), never back-pressure on inference.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from adain_live.engine.live.types import LiveResult
from adain_live.errors import UserError
from adain_live.media import Recorder

log = logging.getLogger(__name__)


class FrameWriter(Protocol):
    """What a recording needs: ``write(image, timestamp_s)`` and ``close()``."""

    def write(self, image: np.ndarray, timestamp: float) -> None:
        """Append one RGB uint8 frame shown at ``timestamp`` seconds."""

    def close(self) -> None:
        """Finish the file."""


#: ``factory(path, (width, height), fps, audio_from, audio_start_s, constant_rate=...)`` → an open writer.
RecorderFactory = Callable[..., FrameWriter]

#: What a recording's frames are sized to: the source's frame size, or the size the network ran at.
RECORD_SIZES = ("source", "processing")


@dataclass(frozen=True)
class RecordOptions:
    """How a live recording is written.

    ``size`` is ``"source"`` (the source's frame size; the stylized frame is scaled up to it) or
    ``"processing"``. With ``constant_rate`` the file runs at the source's frame rate, the newest stylized
    frame repeated as needed (what video editors expect); otherwise each stylized frame keeps its capture time.
    """

    size: str = "source"
    constant_rate: bool = True

    def __post_init__(self) -> None:
        if self.size not in RECORD_SIZES:
            raise ValueError(f"recording size must be one of {', '.join(RECORD_SIZES)}, got {self.size!r}")


def default_recorder_factory(path: Path, size: tuple[int, int], fps: float | Fraction, audio_from: Path | None,
                             audio_start: float, constant_rate: bool = False) -> FrameWriter:
    """Open media's fragmented-MP4 :class:`~adain_live.media.Recorder` (audio copied from ``audio_from``)."""
    return Recorder(path, size=size, fps=fps, audio_from=audio_from, audio_start=audio_start,
                    constant_rate=constant_rate).start()


def _even(n: int) -> int:
    return max(2, n - n % 2)


def frame_size(result: LiveResult, size: str) -> tuple[int, int]:
    """``(width, height)`` of a saved frame: the source's or the processing size, rounded down to even.

    Recordings need even sizes (yuv420p); snapshots use the same size so both match.
    """
    h, w = (result.original if size == "source" else result.image).shape[:2]
    return _even(int(w)), _even(int(h))


def fit_frame(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Return ``image`` at ``(width, height)``: cropped by the odd pixel when that is all, else resized."""
    h, w = image.shape[:2]
    if (w - size[0]) in (0, 1) and (h - size[1]) in (0, 1):
        return np.ascontiguousarray(image[: size[1], : size[0]])
    shrink = w >= size[0] and h >= size[1]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


class ConstantRate:
    """Place stylized frames on a constant-rate timeline: slot ``n`` shows the newest frame captured by ``n/fps``.

    A frame takes the nearest slot (captured up to half a period after it).

    Times are capture times (the monotonic clock of the capture thread), so a slow network repeats frames and a
    pause holds its frame, while the timeline — and the source's audio copied beside it — runs at real speed.
    """

    def __init__(self, fps: float | Fraction) -> None:
        self.period = 1.0 / float(fps)
        self.n = 0
        self._t0: float | None = None
        self._held: np.ndarray | None = None

    def feed(self, image: np.ndarray, t: float) -> list[tuple[np.ndarray, float]]:
        """Take the frame captured at ``t``; return the ``(image, seconds)`` frames now due for writing."""
        out: list[tuple[np.ndarray, float]] = []
        if self._t0 is None:
            self._t0 = t
        if self._held is not None:
            while self._t0 + self.n * self.period <= t - self.period / 2:
                out.append((self._held, self.n * self.period))
                self.n += 1
        self._held = image
        return out

    def finish(self, t_end: float | None = None) -> list[tuple[np.ndarray, float]]:
        """Return the last frame, repeated up to ``t_end`` (at least once).

        ``t_end`` is the stop time: a held or paused frame lasts until the recording stops, as the audio does.
        """
        if self._held is None or self._t0 is None:
            return []
        last, self._held = self._held, None
        out = [(last, self.n * self.period)]
        self.n += 1
        while t_end is not None and self._t0 + self.n * self.period <= t_end:
            out.append((last, self.n * self.period))
            self.n += 1
        return out


class RecordingJob:
    """One recording: frames queued by the inference thread, encoded by a writer thread.

    The output size is fixed by the first frame (see :class:`RecordOptions`); later frames of another size
    (the resolution or the source changed) are scaled to it. The file is created by the first frame: a
    recording that never got one reports so and leaves no file.
    """

    def __init__(self, path: Path, factory: RecorderFactory, *, fps: float | Fraction = 30.0,
                 options: RecordOptions | None = None, audio_from: Path | None = None,
                 audio_duration: float | None = None, on_error: Callable[[str], None] | None = None,
                 max_queue: int = 64) -> None:
        if path.suffix.lower() != ".mp4":
            raise UserError(f"recordings are MP4 files; {path.name} does not end in .mp4")
        self.path, self.fps, self.audio_from, self.duration = path, fps, audio_from, audio_duration
        self.options = options or RecordOptions()
        self._factory = factory
        self._on_error = on_error or (lambda m: log.error("%s", m))
        self._queue: queue.Queue[tuple[LiveResult, float] | None] = queue.Queue(max_queue)
        self.started_at = time.perf_counter()
        self.first_frame_at: float | None = None
        self.frames = 0
        self.dropped = 0
        self.size: tuple[int, int] | None = None
        self.error: str | None = None
        self.stopped_at: float | None = None
        self.thread = threading.Thread(target=self._loop, name="adain-record", daemon=True)
        self.thread.start()

    @property
    def elapsed(self) -> float:
        """Seconds since the first frame arrived (0 while waiting for one)."""
        return 0.0 if self.first_frame_at is None else time.perf_counter() - self.first_frame_at

    @property
    def waiting(self) -> bool:
        """True until the first frame arrived (nothing has been recorded yet)."""
        return self.first_frame_at is None

    def offer(self, result: LiveResult) -> None:
        """Queue a frame without waiting (dropped and counted when the writer is behind)."""
        if self.error is not None:
            return
        try:
            self._queue.put_nowait((result, self._audio_time(result.timestamp)))
        except queue.Full:
            self.dropped += 1
            return
        if self.first_frame_at is None:
            self.first_frame_at = time.perf_counter()

    def _audio_time(self, timestamp: float) -> float:
        """Position in the audio file of a frame's media time (a looping file's time keeps growing)."""
        if self.audio_from is None or self.duration is None or self.duration <= 0:
            return 0.0
        return timestamp % self.duration

    def close(self, timeout: float = 10.0, at: float | None = None) -> None:
        """Write what is queued, finish the file and join the thread.

        ``at`` is the stop time on the capture clock (default: now); a constant-rate file lasts until then.
        A writer that is behind (a slow encoder on a busy CPU) is waited for as long as it makes progress;
        ``timeout`` is how long it may go without writing a frame before the file is given up as unfinished.
        """
        self.stopped_at = time.perf_counter() if at is None else at
        self._queue.put(None)
        last, idle_since = -1, time.perf_counter()
        while self.thread.is_alive() and time.perf_counter() - idle_since < timeout:
            self.thread.join(0.5)
            if self.frames != last:
                last, idle_since = self.frames, time.perf_counter()
        if self.thread.is_alive() and self.error is None:
            self.error = f"the encoder stopped writing for {timeout:.0f} s; the file may end early"
            self._on_error(f"recording {self.path.name}: {self.error}")
        if self.dropped:
            log.warning("recording %s dropped %d frames (the encoder was too slow)", self.path, self.dropped)
        if self.error is None and self.frames == 0:
            self.error = "no frame arrived from the source, so nothing was recorded"
            self._on_error(f"{self.path.name} was not written: {self.error}")

    def _loop(self) -> None:
        writer: FrameWriter | None = None
        clock = ConstantRate(self.fps) if self.options.constant_rate else None
        t0: float | None = None
        try:
            while (item := self._queue.get()) is not None:
                result, media_t = item
                if writer is None:
                    self.size = frame_size(result, self.options.size)
                    writer = self._factory(self.path, self.size, self.fps, self.audio_from, media_t,
                                           constant_rate=clock is not None)
                    t0 = result.captured_at
                assert self.size is not None and t0 is not None
                image = fit_frame(result.image, self.size)
                due = clock.feed(image, result.captured_at) if clock else [(image, result.captured_at - t0)]
                self._write(writer, due)
            if writer is not None and clock is not None:
                self._write(writer, clock.finish(self.stopped_at))
        except Exception as exc:  # noqa: BLE001 - reported once, the live view goes on
            self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self._on_error(f"recording to {self.path.name} failed: {self.error}")
            self._drain()
        finally:
            if writer is not None:
                try:
                    writer.close()
                except Exception as exc:  # noqa: BLE001
                    self._on_error(f"cannot finish the recording {self.path.name}: {exc}")

    def _write(self, writer: FrameWriter, frames: list[tuple[np.ndarray, float]]) -> None:
        for image, t in frames:
            writer.write(image, t)
            self.frames += 1

    def _drain(self) -> None:
        while self._queue.get() is not None:
            pass
