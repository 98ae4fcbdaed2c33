"""Optional virtual-camera output through ``pyvirtualcam`` (not a dependency: probed at run time)."""

from __future__ import annotations

import contextlib
import importlib
import logging
import queue
import sys
import threading
from typing import Any

import cv2
import numpy as np

from adain_live.engine.live.types import LiveResult

log = logging.getLogger(__name__)


def driver_hint(platform: str | None = None) -> str:
    """What to install on ``platform`` (default: this one) for a virtual camera device."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("linux"):
        return ("install the v4l2loopback kernel module (Debian/Ubuntu: sudo apt install v4l2loopback-dkms, "
                "then sudo modprobe v4l2loopback exclusive_caps=1)")
    return "install OBS Studio 28 or later (obsproject.com) and start its Virtual Camera once"


def probe(width: int = 640, height: int = 360, fps: float = 30.0) -> tuple[bool, str]:
    """Whether a virtual camera can be opened here, and if not, why and what to install (one line)."""
    try:
        pyvirtualcam = importlib.import_module("pyvirtualcam")
    except ImportError:
        return False, (f"Virtual camera unavailable: pip install pyvirtualcam, and {driver_hint()}")
    try:
        with pyvirtualcam.Camera(width=width, height=height, fps=fps) as cam:
            return True, f"virtual camera {cam.device}"
    except Exception as exc:  # noqa: BLE001 - pyvirtualcam raises RuntimeError/others per backend
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return False, f"Virtual camera unavailable: no device could be opened ({why}); {driver_hint()}"


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Fit an RGB ``image`` into ``size`` (width, height) keeping its aspect ratio, centred on black bars."""
    width, height = size
    ih, iw = image.shape[:2]
    scale = min(width / iw, height / ih)
    nw, nh = min(width, max(1, round(iw * scale))), min(height, max(1, round(ih * scale)))
    if (nw, nh) == (width, height):
        return image if (iw, ih) == (width, height) else cv2.resize(image, size, interpolation=_interp(scale))
    fitted = image if (nw, nh) == (iw, ih) else cv2.resize(image, (nw, nh), interpolation=_interp(scale))
    out = np.zeros((height, width, 3), np.uint8)
    y, x = (height - nh) // 2, (width - nw) // 2
    out[y:y + nh, x:x + nw] = fitted
    return out


def _interp(scale: float) -> int:
    return cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR


class VirtualCamSink:
    """Send results to a virtual camera from its own daemon thread, letterboxed to the camera's size.

    The newest frame wins (a queue of one); a slow or stuck driver can never hold up the live loop, and
    :meth:`close` returns within its timeout even when the driver hangs in ``send`` (the daemon thread is then
    left to the process's exit).
    """

    def __init__(self, width: int = 1280, height: int = 720, fps: float = 30.0) -> None:
        pyvirtualcam = importlib.import_module("pyvirtualcam")
        self._cam: Any = pyvirtualcam.Camera(width=width, height=height, fps=fps)
        self.size = (width, height)
        self.device = str(getattr(self._cam, "device", "virtual camera"))
        self._queue: queue.Queue[np.ndarray] = queue.Queue(1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="adain-vcam", daemon=True)
        self._thread.start()

    def __call__(self, result: LiveResult) -> None:
        """Offer a result; an older frame not sent yet is replaced (the camera is behind)."""
        if self._stop.is_set():
            return
        try:
            self._queue.put_nowait(result.image)
        except queue.Full:
            with contextlib.suppress(queue.Empty):
                self._queue.get_nowait()
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(result.image)

    def _loop(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    image = self._queue.get(timeout=0.1)
                except queue.Empty:
                    continue
                self._cam.send(letterbox(image, self.size))
        except Exception as exc:  # noqa: BLE001 - drivers raise anything; the app goes on without the output
            log.warning("virtual camera %s stopped: %s", self.device, exc)
        finally:
            self._stop.set()
            with contextlib.suppress(Exception):
                self._cam.close()

    @property
    def running(self) -> bool:
        """False once closed or after the driver failed."""
        return not self._stop.is_set()

    def close(self, timeout: float = 2.0) -> None:
        """Stop sending and release the device; returns within ``timeout`` seconds whatever the driver does."""
        self._stop.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("virtual camera %s did not stop within %.0f s; leaving it to exit", self.device, timeout)
