"""Optional virtual-camera output through ``pyvirtualcam`` (not a dependency: probed at run time)."""

from __future__ import annotations

import importlib
import logging
import queue
import threading
from typing import Any

from adain_live.engine.live.types import LiveResult

log = logging.getLogger(__name__)


def probe(width: int = 640, height: int = 360, fps: float = 30.0) -> tuple[bool, str]:
    """Whether a virtual camera can be opened here, and if not, why (one line)."""
    try:
        pyvirtualcam = importlib.import_module("pyvirtualcam")
    except ImportError:
        return False, "virtual camera needs the pyvirtualcam package (pip install pyvirtualcam) and a driver"
    try:
        with pyvirtualcam.Camera(width=width, height=height, fps=fps) as cam:
            return True, f"virtual camera {cam.device}"
    except Exception as exc:  # noqa: BLE001 - pyvirtualcam raises RuntimeError/others per backend
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return False, f"no virtual camera device could be opened ({why})"


class VirtualCamSink:
    """Send results to a virtual camera from its own thread (frames resized to the camera's size)."""

    def __init__(self, width: int, height: int, fps: float = 30.0) -> None:
        pyvirtualcam = importlib.import_module("pyvirtualcam")
        self._cam: Any = pyvirtualcam.Camera(width=width, height=height, fps=fps)
        self.size = (width, height)
        self._queue: queue.Queue[Any] = queue.Queue(2)
        self._thread = threading.Thread(target=self._loop, name="adain-vcam", daemon=True)
        self._thread.start()

    def __call__(self, result: LiveResult) -> None:
        """Offer a result (dropped when the camera is behind)."""
        try:
            self._queue.put_nowait(result.image)
        except queue.Full:
            pass

    def _loop(self) -> None:
        import cv2

        while (image := self._queue.get()) is not None:
            if (image.shape[1], image.shape[0]) != self.size:
                image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
            self._cam.send(image)

    def close(self) -> None:
        """Stop the thread and release the device."""
        self._queue.put(None)
        self._thread.join(2.0)
        self._cam.close()
