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


def open_live_source(spec: SourceSpec) -> FrameSource:
    """Open ``spec`` as a started live source (a file loops, paced in real time; a camera keeps the newest frame).

    Raises :class:`MediaError` with a one-line message when it cannot be opened.
    """
    if spec.path is not None:
        return FileSource(spec.path, loop=True, realtime=True).start()
    assert spec.camera is not None
    return CameraSource(spec.camera).start()


def list_cameras() -> list[tuple[int, str]]:
    """``(index, name)`` of the cameras the platform reports (empty when none)."""
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
