"""One interface for frame sources (camera or file) and a factory from a user's ``--source`` text."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from adain_live.errors import MediaError
from adain_live.media.camera import CameraSource
from adain_live.media.file_source import FileSource
from adain_live.media.frames import Frame


@runtime_checkable
class FrameSource(Protocol):
    """What every source offers.

    The constructor fails fast with :class:`MediaError`; ``start()`` returns the source; ``read()`` gives the
    next :class:`Frame` (RGB uint8) or ``None`` at the end of the stream; ``close()`` is idempotent.
    """

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames."""
        ...

    @property
    def fps(self) -> float:
        """Frame rate (nominal for files, reported by the driver for cameras; 0 when unknown)."""
        ...

    def start(self) -> FrameSource:
        """Start the background reader; returns ``self``."""
        ...

    def read(self, timeout: float | None = None) -> Frame | None:
        """Next frame, or ``None`` at the end."""
        ...

    def close(self) -> None:
        """Stop and release (idempotent)."""
        ...


def open_source(spec: str | int | Path, *, loop: bool = False, realtime: bool = False) -> FrameSource:
    """Open ``spec``: an int or digits (``"0"``) or ``/dev/video*`` → camera, anything else → video file.

    ``loop`` and ``realtime`` apply to files (a file used as a live source wants both).
    """
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        return CameraSource(int(spec))
    text = str(spec)
    if text.startswith("/dev/video"):
        return CameraSource(text)
    path = Path(text).expanduser()
    if not path.exists():
        raise MediaError(f"source {text!r} is neither a camera index nor an existing video file")
    return FileSource(path, loop=loop, realtime=realtime)
