"""Which cameras this computer has, with their names, without opening them.

Listing can take a second (a subprocess on macOS, COM on Windows): call :func:`list_cameras` from a worker thread,
never from a GUI thread. The index of each camera is the one OpenCV's backend for the platform uses
(see :func:`adain_live.media.camera.capture_api`).

* Linux: ``/sys/class/video4linux/video*`` with the names the drivers report (the capture node of each device).
* Windows: DirectShow's device names through ``pygrabber`` (the order ``CAP_DSHOW`` indices follow); without it,
  indices 0–3 that DirectShow can open.
* macOS: ``system_profiler SPCameraDataType`` (no camera is opened, so no permission prompt and no index probing
  — probing indices that do not exist can crash OpenCV's AVFoundation backend).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SYSFS_VIDEO = Path("/sys/class/video4linux")
_PROBE_INDICES = 4


@dataclass(frozen=True)
class CameraInfo:
    """A camera the platform reports: OpenCV index, name and device path (Linux)."""

    index: int
    name: str
    path: str | None = None


def list_cameras(platform: str | None = None) -> list[CameraInfo]:
    """The cameras of this computer (empty when none or when the platform cannot say). Slow: not on a GUI thread."""
    platform = platform or sys.platform
    try:
        if platform.startswith("linux"):
            return linux_cameras(SYSFS_VIDEO)
        if platform == "win32":
            return windows_cameras()
        if platform == "darwin":
            return mac_cameras()
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        log.info("cannot list cameras: %s", exc)
    return []


def linux_cameras(root: Path) -> list[CameraInfo]:
    """Capture devices under a sysfs ``video4linux`` folder, by node number, named as their drivers say."""
    cams = []
    nodes = [p for p in root.glob("video*") if p.name[5:].isdigit()]
    for node in sorted(nodes, key=lambda p: int(p.name[5:])):
        # A device exposes several nodes; node index 0 is the capture one, the others are metadata.
        idx_file = node / "index"
        if idx_file.exists() and idx_file.read_text().strip() not in ("", "0"):
            continue
        name = (node / "name").read_text().strip() if (node / "name").exists() else ""
        cams.append(CameraInfo(int(node.name[5:]), name or node.name, f"/dev/{node.name}"))
    return cams


def windows_cameras() -> list[CameraInfo]:
    """DirectShow video input devices in enumeration order (= ``CAP_DSHOW`` indices), named."""
    names = _dshow_names()
    if names is not None:
        return [CameraInfo(i, name) for i, name in enumerate(names)]
    log.info("pygrabber is not installed: probing camera indices 0-%d (install pygrabber for names)",
             _PROBE_INDICES - 1)
    return _probe_dshow()


def _dshow_names() -> list[str] | None:
    try:
        from pygrabber.dshow_graph import FilterGraph  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        import comtypes  # type: ignore[import-not-found]

        comtypes.CoInitialize()  # this (worker) thread's COM apartment; enumeration opens no device
    except (ImportError, OSError):
        pass
    return [str(n) for n in FilterGraph().get_input_devices()]


def _probe_dshow() -> list[CameraInfo]:
    import cv2

    found = []
    for index in range(_PROBE_INDICES):
        cap = cv2.VideoCapture(index, cv2.CAP_DSHOW)
        try:
            if cap.isOpened():
                found.append(CameraInfo(index, f"Camera {index}"))
        finally:
            cap.release()
    return found


def mac_cameras(run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run) -> list[CameraInfo]:
    """Cameras macOS reports (built-in first, as AVFoundation lists them), without opening any."""
    out = run(["system_profiler", "-json", "SPCameraDataType"], capture_output=True, text=True, timeout=15,
              check=False)
    entries = json.loads(out.stdout or "{}").get("SPCameraDataType") or []
    return [CameraInfo(i, str(e.get("_name") or f"Camera {i}")) for i, e in enumerate(entries)]
