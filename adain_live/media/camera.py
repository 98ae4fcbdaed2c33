"""A camera as a frame source: the newest frame wins, stale ones are dropped."""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from adain_live.errors import MediaError
from adain_live.media.frames import Frame

logger = logging.getLogger(__name__)

_MAX_FAILED_GRABS = 30  # consecutive failed reads before the camera counts as gone (~1 s at 30 fps)


@dataclass(frozen=True)
class CameraInfo:
    """A camera the platform reports: OpenCV index, name (when known) and device path (Linux)."""

    index: int
    name: str
    path: str | None = None


def list_cameras() -> list[CameraInfo]:
    """Return the cameras the platform lists, without opening them (Linux: ``/sys/class/video4linux``).

    Other platforms give no names: indices 0..3 that OpenCV can open are returned as ``Camera N``.
    """
    if sys.platform.startswith("linux"):
        return _linux_cameras(Path("/sys/class/video4linux"))
    found = []
    for index in range(4):
        cap = cv2.VideoCapture(index)
        if cap.isOpened():
            found.append(CameraInfo(index, f"Camera {index}"))
        cap.release()
    return found


def _linux_cameras(root: Path) -> list[CameraInfo]:
    cams = []
    for node in sorted(root.glob("video*"), key=lambda p: int(p.name[5:]) if p.name[5:].isdigit() else -1):
        if not node.name[5:].isdigit():
            continue
        # A device exposes several nodes; node index 0 is the capture one, the others are metadata.
        idx_file = node / "index"
        if idx_file.exists() and idx_file.read_text().strip() not in ("", "0"):
            continue
        name = (node / "name").read_text().strip() if (node / "name").exists() else node.name
        cams.append(CameraInfo(int(node.name[5:]), name, f"/dev/{node.name}"))
    return cams


class CameraSource:
    """Capture from a camera in a background thread, keeping only the newest frame.

    Parameters
    ----------
    device
        OpenCV index (``0``) or a device path (``/dev/video2``). A missing camera fails here at once.
    width, height, fps
        Requested mode; the camera may give another one: see :attr:`size` and :attr:`fps`.
    """

    def __init__(self, device: int | str = 0, *, width: int | None = None, height: int | None = None,
                 fps: float | None = None) -> None:
        self.device = device
        self._cap = cv2.VideoCapture(device)
        if not self._cap.isOpened():
            self._cap.release()
            what = f"at index {device}" if isinstance(device, int) else f"at {device}"
            raise MediaError(f"no camera {what}; plug one in, pick another index "
                             "(see the camera list) or use a video file instead")
        for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, width), (cv2.CAP_PROP_FRAME_HEIGHT, height),
                            (cv2.CAP_PROP_FPS, fps)):
            if value:
                self._cap.set(prop, float(value))
        self.size = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if (width and width != self.size[0]) or (height and height != self.size[1]):
            logger.info("camera %s gives %dx%d instead of %sx%s", device, *self.size, width, height)
        self.dropped = 0
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._last_read = -1
        self._error: str | None = None
        self._ended = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> CameraSource:
        """Start capturing in the background; returns ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"CameraSource({self.device})", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        index, failures = 0, 0
        try:
            while not self._stop.is_set():
                ok, bgr = self._cap.read()
                if not ok or bgr is None:
                    failures += 1
                    if failures >= _MAX_FAILED_GRABS:
                        self._finish(f"camera {self.device} stopped delivering frames (unplugged?)")
                        return
                    time.sleep(0.01)
                    continue
                failures = 0
                self._publish(Frame(_to_rgb(bgr), time.monotonic(), index))
                index += 1
        finally:
            self._cap.release()
            self._finish(None)

    def _publish(self, frame: Frame) -> None:
        with self._cond:
            if self._latest is not None and self._latest.index > self._last_read:
                self.dropped += 1  # never read: stale, replaced by the newer one
            self._latest = frame
            self._cond.notify_all()

    def _finish(self, error: str | None) -> None:
        with self._cond:
            if not self._ended:
                self._ended, self._error = True, error
            self._cond.notify_all()

    def read(self, timeout: float | None = None) -> Frame | None:
        """Return the newest frame not returned before, waiting for one if needed.

        Returns ``None`` after :meth:`close`. Raises :class:`MediaError` when the camera stops delivering
        (unplugged) or when ``timeout`` seconds pass without a new frame.
        """
        if self._stop.is_set():
            return None
        self.start()
        with self._cond:
            ok = self._cond.wait_for(self._fresh_or_done, timeout=timeout)
            if self._latest is not None and self._latest.index > self._last_read:
                self._last_read = self._latest.index
                return self._latest
            if self._error is not None:
                raise MediaError(self._error)
            if not ok:
                raise MediaError(f"no frame from camera {self.device} within {timeout} s")
            return None

    def _fresh_or_done(self) -> bool:
        return self._ended or (self._latest is not None and self._latest.index > self._last_read)

    def close(self) -> None:
        """Stop capturing and release the camera (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        else:
            self._cap.release()
        self._finish(None)

    def __enter__(self) -> CameraSource:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def _to_rgb(bgr: np.ndarray) -> np.ndarray:
    """OpenCV's BGR (or grey) capture → contiguous RGB uint8 (BGR never leaves media)."""
    if bgr.ndim == 2:
        return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB))
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

