"""A video file as a frame source: every frame in order, bounded queue, optional loop and real-time pacing."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from pathlib import Path

from adain_live.errors import MediaError
from adain_live.media.frames import Frame
from adain_live.media.video_reader import VideoInfo, VideoReader

logger = logging.getLogger(__name__)

_END = object()


class FileSource:
    """Decode a video file in a background thread and hand out its frames in order.

    No frame is ever dropped: the decoder waits when ``queue_size`` frames are pending (back-pressure).

    Parameters
    ----------
    path
        The video file; a missing or unreadable file fails here with :class:`MediaError`.
    loop
        Start again at the end (timestamps keep growing across loops).
    realtime
        Deliver each frame no earlier than its timestamp (for use as a live source).
    queue_size
        Decoded frames kept ahead of the consumer.
    """

    def __init__(self, path: str | Path, *, loop: bool = False, realtime: bool = False,
                 queue_size: int = 8) -> None:
        if queue_size < 1:
            raise ValueError(f"queue_size {queue_size} must be >= 1")
        self.path = Path(path)
        self.loop, self.realtime = loop, realtime
        self._reader: VideoReader | None = VideoReader(self.path)  # fails fast
        self.info: VideoInfo = self._reader.info
        self._queue: queue.Queue[object] = queue.Queue(queue_size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._clock0: float | None = None
        self._ended = False

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames (rotation applied)."""
        return self.info.width, self.info.height

    @property
    def fps(self) -> float:
        """Nominal frame rate of the file (0 when unknown)."""
        return float(self.info.average_rate or 0)

    def start(self) -> FileSource:
        """Start decoding in the background; returns ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"FileSource({self.path.name})",
                                            daemon=True)
            self._thread.start()
        return self

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        index, offset, reader = 0, 0.0, self._reader
        try:
            while reader is not None and not self._stop.is_set():
                end = offset
                for decoded in reader.frames():
                    t = offset + decoded.time
                    end = t + float(decoded.duration * self.info.time_base)
                    if not self._put(Frame(decoded.image, t, index)):
                        return
                    index += 1
                reader.close()
                reader = VideoReader(self.path) if self.loop and index else None
                self._reader, offset = reader, end
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer's read()
            self._error = exc
        finally:
            if reader is not None:
                reader.close()
            self._put(_END)

    def read(self, timeout: float | None = None) -> Frame | None:
        """Return the next frame, or ``None`` at the end of the file (or after :meth:`close`).

        Raises :class:`MediaError` when decoding failed, or when ``timeout`` seconds pass without a frame.
        """
        if self._ended or self._stop.is_set():
            return None
        self.start()
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise MediaError(f"no frame from {self.path} within {timeout} s") from None
        if item is _END:
            self._ended = True
            if self._error is not None:
                raise self._error if isinstance(self._error, MediaError) else MediaError(
                    f"reading {self.path} failed: {self._error}")
            return None
        assert isinstance(item, Frame)
        if self.realtime:
            self._pace(item.timestamp)
        return item

    def _pace(self, timestamp: float) -> None:
        now = time.perf_counter()
        if self._clock0 is None:
            self._clock0 = now - timestamp
        delay = self._clock0 + timestamp - now
        if delay > 0:
            self._stop.wait(min(delay, 1.0))
        elif delay < -0.5:  # we fell behind (slow consumer): re-anchor instead of rushing to catch up
            self._clock0 = now - timestamp

    def close(self) -> None:
        """Stop the decoder thread and close the file (idempotent)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        elif self._thread is None and self._reader is not None:
            self._reader.close()
        # A stopped decoder no longer queues its end marker: wake a read() waiting on an empty queue (a full
        # queue has no waiting reader).
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(_END)

    def __enter__(self) -> FileSource:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
