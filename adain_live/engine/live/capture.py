"""The capture loop: read a source in its own thread and keep only the newest frame."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from adain_live.engine.live.meter import LatestSlot
from adain_live.engine.live.types import Captured, FrameSource, one_line

log = logging.getLogger(__name__)


class CaptureLoop:
    """Reads one source into ``frames`` until it ends, fails or is stopped (then the source is closed).

    Parameters
    ----------
    frames
        Where each frame goes (older ones are dropped: inference takes the newest).
    on_status, on_error
        One-line messages: the video ended; the source failed.
    """

    def __init__(self, frames: LatestSlot[Captured], on_status: Callable[[str], None],
                 on_error: Callable[[str], None]) -> None:
        self._frames = frames
        self._on_status, self._on_error = on_status, on_error
        self.source: FrameSource | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def thread(self) -> threading.Thread | None:
        """The capture thread (None when not capturing)."""
        return self._thread

    def start(self, source: FrameSource) -> None:
        """Stop capturing from the current source (closing it) and capture from ``source`` instead."""
        self.stop()
        self.source, self._stop = source, threading.Event()
        self._thread = threading.Thread(target=self._run, args=(source, self._stop), name="adain-capture",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Close the source and join the thread (idempotent)."""
        self._stop.set()
        # Close first: that wakes a capture thread blocked in read() (a camera waiting for its next frame).
        if self.source is not None:
            self.source.close()
            self.source = None
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self, source: FrameSource, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                frame = source.read()
                if frame is None:
                    if not stop.is_set():
                        self._on_status("the video ended; open it again or choose another source")
                    return
                self._frames.put(Captured(frame.image, int(frame.index), float(frame.timestamp),
                                          time.perf_counter()))
        except Exception as exc:  # noqa: BLE001 - any source failure becomes a one-line message
            if not stop.is_set():
                self._on_error(one_line(exc, "the video source failed"))
