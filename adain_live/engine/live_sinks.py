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


#: ``factory(path, (width, height), fps, audio_from, audio_start_s)`` → an open writer.
RecorderFactory = Callable[[Path, tuple[int, int], float, "Path | None", float], FrameWriter]


def default_recorder_factory(path: Path, size: tuple[int, int], fps: float, audio_from: Path | None,
                             audio_start: float) -> FrameWriter:
    """Open media's fragmented-MP4 :class:`~adain_live.media.Recorder` (audio copied from ``audio_from``)."""
    return Recorder(path, size=size, fps=fps, audio_from=audio_from, audio_start=audio_start).start()


def _even(n: int) -> int:
    return max(2, n - n % 2)


class RecordingJob:
    """One recording: frames queued by the inference thread, encoded by a writer thread.

    The output size is fixed by the first frame (rounded down to even for yuv420p); later frames of another
    size (the processing resolution changed) are resized to it.
    """

    def __init__(self, path: Path, factory: RecorderFactory, *, fps: float = 30.0,
                 audio_from: Path | None = None, audio_duration: float | None = None,
                 on_error: Callable[[str], None] | None = None, max_queue: int = 64) -> None:
        if path.suffix.lower() != ".mp4":
            raise UserError(f"recordings are MP4 files; {path.name} does not end in .mp4")
        self.path, self.fps, self.audio_from, self.duration = path, fps, audio_from, audio_duration
        self._factory = factory
        self._on_error = on_error or (lambda m: log.error("%s", m))
        self._queue: queue.Queue[tuple[np.ndarray, float, float] | None] = queue.Queue(max_queue)
        self.started_at = time.perf_counter()
        self.frames = 0
        self.dropped = 0
        self.error: str | None = None
        self.thread = threading.Thread(target=self._loop, name="adain-record", daemon=True)
        self.thread.start()

    @property
    def elapsed(self) -> float:
        """Seconds since the recording started."""
        return time.perf_counter() - self.started_at

    def offer(self, result: LiveResult) -> None:
        """Queue a frame without waiting (dropped and counted when the writer is behind)."""
        if self.error is not None:
            return
        try:
            self._queue.put_nowait((result.image, result.captured_at, self._audio_time(result.timestamp)))
        except queue.Full:
            self.dropped += 1

    def _audio_time(self, timestamp: float) -> float:
        """Position in the audio file of a frame's media time (a looping file's time keeps growing)."""
        if self.audio_from is None or self.duration is None or self.duration <= 0:
            return 0.0
        return timestamp % self.duration

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, finish the file and join the thread."""
        self._queue.put(None)
        self.thread.join(timeout)
        if self.dropped:
            log.warning("recording %s dropped %d frames (the encoder was too slow)", self.path, self.dropped)

    def _loop(self) -> None:
        writer: FrameWriter | None = None
        size: tuple[int, int] | None = None
        t0: float | None = None
        try:
            while (item := self._queue.get()) is not None:
                image, t, media_t = item
                if writer is None:
                    size = (_even(image.shape[1]), _even(image.shape[0]))
                    writer, t0 = self._factory(self.path, size, self.fps, self.audio_from, media_t), t
                assert size is not None and t0 is not None
                if (image.shape[1], image.shape[0]) != size:
                    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
                writer.write(np.ascontiguousarray(image), t - t0)
                self.frames += 1
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

    def _drain(self) -> None:
        while self._queue.get() is not None:
            pass
