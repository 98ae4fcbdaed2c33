"""A camera as a frame source: the newest frame wins, stale ones are dropped (listing cameras: camera_list)."""

from __future__ import annotations

import logging
import sys
import threading
import time

import cv2
import numpy as np

from adain_live.errors import MediaError
from adain_live.media.frames import Frame

logger = logging.getLogger(__name__)

_MAX_FAILED_GRABS = 30  # consecutive failed reads before the camera counts as gone (~1 s at 30 fps)


def capture_api(device: int | str, platform: str | None = None) -> list[int]:
    """OpenCV capture backends to try for ``device``, best first.

    Windows: DirectShow (opens in well under a second, follows the enumeration order of the camera list, takes
    MJPG), then Media Foundation (its slow hardware transforms are off: see :mod:`adain_live._process`).
    macOS: AVFoundation. Linux: V4L2. A file or URL given as a "camera" lets OpenCV choose.
    """
    platform = platform or sys.platform
    if isinstance(device, str) and not device.startswith("/dev/"):
        return [cv2.CAP_ANY]
    if platform == "win32":
        return [cv2.CAP_DSHOW, cv2.CAP_MSMF]
    if platform == "darwin":
        return [cv2.CAP_AVFOUNDATION]
    if platform.startswith("linux"):
        return [cv2.CAP_V4L2]
    return [cv2.CAP_ANY]


def _open(device: int | str, apis: list[int]) -> cv2.VideoCapture | None:
    for api in apis:
        cap = cv2.VideoCapture(device, api)
        if cap.isOpened():
            return cap
        cap.release()
    return None


def _no_camera_message(device: int | str, platform: str | None = None) -> str:
    what = f"at index {device}" if isinstance(device, int) else f"at {device}"
    if (platform or sys.platform) == "darwin":
        return (f"no camera {what} could be opened; if this Mac has one, macOS may be blocking access: allow it "
                "for this app (or your terminal) in System Settings → Privacy & Security → Camera, then try again")
    return f"no camera {what}; plug one in, pick another index (see the camera list) or use a video file instead"


class CameraSource:
    """Capture from a camera in a background thread, keeping only the newest frame.

    Parameters
    ----------
    device
        OpenCV index (``0``) or a device path (``/dev/video2``). A missing camera fails here at once. The camera
        is opened once, here, with the platform's backend (:func:`capture_api`).
    width, height, fps, fourcc
        Requested mode (default 1280×720 at 30 fps, MJPG where the camera offers it; None: the driver's
        default); the camera may give another one: see :attr:`size` and :attr:`fps`.
    """

    def __init__(self, device: int | str = 0, *, width: int | None = 1280, height: int | None = 720,
                 fps: float | None = 30.0, fourcc: str | None = "MJPG") -> None:
        self.device = device
        cap = _open(device, capture_api(device))
        if cap is None:
            raise MediaError(_no_camera_message(device))
        self._cap = cap
        self._request_mode(width, height, fps, fourcc)
        self.size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
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

    def _request_mode(self, width: int | None, height: int | None, fps: float | None, fourcc: str | None) -> None:
        """Ask for a pixel format, size and rate; a driver gives the nearest it has (MJPG: USB 1080p30 needs it)."""
        if self._is_file():
            return
        if fourcc:  # before the size: V4L2 and DirectShow pick the sizes the format offers
            self._cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*fourcc))
        for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, width), (cv2.CAP_PROP_FRAME_HEIGHT, height),
                            (cv2.CAP_PROP_FPS, fps)):
            if value:
                self._cap.set(prop, float(value))

    def _is_file(self) -> bool:
        return isinstance(self.device, str) and not self.device.startswith("/dev/")

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
                self._publish(Frame(_to_rgb(bgr), time.perf_counter(), index))
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

