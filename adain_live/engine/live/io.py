"""The live app's door to ``adain_live.media``: open a live source, list cameras, read/write images.

A thin adapter so the runner and the GUI depend on four functions rather than on media's class layout.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from adain_live.errors import MediaError
from adain_live.media import CameraSource, FileSource, FrameSource, read_image, write_image
from adain_live.media import list_cameras as media_list_cameras

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraMode:
    """What to ask a camera for: size, rate and pixel format (the camera gives the nearest it has)."""

    width: int = 1280
    height: int = 720
    fps: float = 30.0
    fourcc: str | None = "MJPG"  # USB cameras need it for 720p/1080p at 30 fps; ignored where not offered

    def __post_init__(self) -> None:
        if not (16 <= self.width <= 7680 and 16 <= self.height <= 4320):
            raise ValueError(f"camera size {self.width}x{self.height} is out of range; use e.g. 1280x720")
        if not 1 <= self.fps <= 240:
            raise ValueError(f"camera frame rate {self.fps:g} is out of range; use 1 to 240 (e.g. 30)")

    @classmethod
    def parse(cls, size: str | None = None, fps: float | None = None) -> CameraMode:
        """``"1280x720"`` and ``30`` → a mode (None keeps the default); ValueError naming the bad value."""
        width, height = cls.width, cls.height
        if size:
            parts = size.lower().replace("×", "x").split("x")
            if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
                raise ValueError(f"camera size {size!r} is not WIDTHxHEIGHT; use e.g. 1280x720")
            width, height = int(parts[0]), int(parts[1])
        return cls(width, height, cls.fps if fps is None else float(fps))


@dataclass(frozen=True)
class SourceSpec:
    """A live source: a camera index or a video file (played looping, in real time)."""

    camera: int | None = None
    path: Path | None = None

    def __post_init__(self) -> None:
        if (self.camera is None) == (self.path is None):
            raise ValueError("a source is either a camera index or a video file")

    @classmethod
    def parse(cls, text: str | int | Path) -> SourceSpec:
        """``"0"``/``0`` → camera 0, anything else → a video file path."""
        if isinstance(text, int) or (isinstance(text, str) and text.strip().isdigit()):
            return cls(camera=int(text))
        return cls(path=Path(text).expanduser())

    @property
    def is_file(self) -> bool:
        """True for a video file."""
        return self.path is not None

    def __str__(self) -> str:
        return str(self.path) if self.path is not None else str(self.camera)

    def label(self) -> str:
        """Short human label."""
        return f"Camera {self.camera}" if self.path is None else self.path.name


def open_live_source(spec: SourceSpec, mode: CameraMode | None = None) -> FrameSource:
    """Open ``spec`` as a started live source (a file loops, paced in real time; a camera keeps the newest frame).

    A camera is opened once, with ``mode`` requested (default 1280×720 at 30 fps, MJPG). Slow on some systems
    (seconds): call it from a worker thread. Raises :class:`MediaError` with a one-line message when it cannot be
    opened.
    """
    if spec.path is not None:
        return FileSource(spec.path, loop=True, realtime=True).start()
    assert spec.camera is not None
    mode = mode or CameraMode()
    return CameraSource(spec.camera, width=mode.width, height=mode.height, fps=mode.fps, fourcc=mode.fourcc).start()


def list_cameras() -> list[tuple[int, str]]:
    """``(index, name)`` of the cameras the platform reports (empty when none), without opening them.

    Can take a second or two (a subprocess on macOS, COM on Windows): call it from a worker thread, not the GUI
    thread.
    """
    try:
        return [(int(c.index), str(c.name or f"Camera {c.index}")) for c in media_list_cameras()]
    except (MediaError, OSError) as exc:
        log.info("cannot list cameras: %s", exc)
        return []


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as RGB uint8 HWC (alpha dropped); MediaError when unreadable."""
    rgb, _alpha = read_image(path)
    return np.asarray(rgb)


def write_png(path: Path, image: np.ndarray) -> Path:
    """Write RGB uint8 ``image`` to ``path`` (a PNG) and return the path."""
    path = path if path.suffix.lower() == ".png" else path.with_suffix(".png")
    write_image(path, image)
    return path
