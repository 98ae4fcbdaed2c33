"""The live app's door to ``adain_live.media``: open a live source, list cameras, read/write images.

A thin adapter so the runner and the GUI depend on four functions rather than on media's class layout.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from adain_live.errors import MediaError

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


def open_live_source(spec: SourceSpec) -> Any:
    """Open ``spec`` as a started live source (file: looping, paced in real time).

    Raises :class:`MediaError` with a one-line message when it cannot be opened.
    """
    try:
        from adain_live.media import CameraSource, FileSource
    except ImportError:  # media's sources not landed yet: files through its VideoReader, no cameras
        if spec.path is None:
            raise MediaError(f"camera {spec.camera} cannot be opened: camera capture is not available in "
                             "this build; open a video file instead") from None
        return _LoopingReader(spec.path)
    if spec.path is not None:
        source = FileSource(spec.path, loop=True, realtime=True)
    else:
        source = CameraSource(spec.camera)
    return source.start()


class _LoopingReader:
    """Interim live file source over media's ``VideoReader``: loops, paced at the file's timestamps."""

    def __init__(self, path: Path) -> None:
        from adain_live.media.video_reader import VideoReader

        self._open = lambda: VideoReader(path)
        self._reader = self._open()
        self._frames = self._reader.frames()
        self._t0: float | None = None
        self._offset = 0.0
        self._last = 0.0
        self._index = 0
        self._closed = False

    def read(self) -> Any:
        """Return the next frame, waiting until its time (None once closed)."""
        import time

        from adain_live.media.frames import Frame

        if self._closed:
            return None
        f = next(self._frames, None)
        if f is None:
            self._reader.close()
            self._reader = self._open()
            self._frames = self._reader.frames()
            self._offset = self._last + 1 / 30
            f = next(self._frames)
        t = self._offset + f.time
        self._last = t
        now = time.monotonic()
        if self._t0 is None:
            self._t0 = now - t
        delay = self._t0 + t - now
        if delay > 0:
            time.sleep(min(delay, 1.0))
        self._index += 1
        return Frame(f.image, t, self._index)

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._closed = True
        self._reader.close()


def list_cameras() -> list[tuple[int, str]]:
    """``(index, name)`` of the cameras the platform reports (empty when none)."""
    try:
        from adain_live.media import list_cameras as media_list_cameras
    except ImportError:
        return []
    try:
        cams = media_list_cameras()
    except MediaError as exc:
        log.info("cannot list cameras: %s", exc)
        return []
    out: list[tuple[int, str]] = []
    for cam in cams:
        if isinstance(cam, tuple):
            out.append((int(cam[0]), str(cam[1])))
        else:
            index = int(getattr(cam, "index", 0))
            out.append((index, str(getattr(cam, "name", None) or f"Camera {index}")))
    return out


def read_rgb(path: Path) -> np.ndarray:
    """Read an image file as RGB uint8 HWC (alpha dropped); MediaError when unreadable."""
    try:
        from adain_live.media.images import read_image
    except ImportError:
        return _pil_read(path)
    rgb, _alpha = read_image(path)
    return np.asarray(rgb)


def write_png(path: Path, image: np.ndarray) -> Path:
    """Write RGB uint8 ``image`` to ``path`` (a PNG) and return the path."""
    path = path if path.suffix.lower() == ".png" else path.with_suffix(".png")
    try:
        from adain_live.media.images import write_image
    except ImportError:
        _pil_write(path, image)
        return path
    write_image(path, image)
    return path


def _pil_read(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))
    except (OSError, UnidentifiedImageError) as exc:
        raise MediaError(f"cannot read image {path}: not a readable image file") from exc


def _pil_write(path: Path, image: np.ndarray) -> None:
    from PIL import Image

    try:
        Image.fromarray(image).save(path)
    except OSError as exc:
        raise MediaError(f"cannot write {path} ({exc.strerror or exc}); choose another folder") from exc
