"""What the app is started with (parsed by ``adain-live gui``), without Qt or torch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Processing sizes offered in the window (short side in pixels; 0 = native).
SIZES: tuple[tuple[str, int], ...] = (("180p", 180), ("240p", 240), ("360p", 360), ("480p", 480), ("720p", 720),
                                      ("1080p", 1080), ("native", 0))


@dataclass(frozen=True)
class AppOptions:
    """Start-up options of the app (None = from the saved settings or the default)."""

    source: str | None = None
    styles: tuple[Path, ...] = ()
    size: int | None = None
    model: str | None = None
    vgg: Path | None = None
    decoder: Path | None = None
    device: str = "auto"
    precision: str = "auto"
    style_size: int = 512
    #: Size and rate asked of a camera (it gives the nearest it has).
    camera_size: tuple[int, int] = (1280, 720)
    camera_fps: float = 30.0
    #: Builds the model instead of loading weights (tests use ``AdaINModel.random``).
    model_factory: Callable[[], Any] | None = field(default=None, compare=False)
    #: Folder of cached style statistics (None: ``weights.cache_dir() / "stats"``).
    stats_cache: Path | None = None
    #: Start recording to this MP4 as soon as the source is open (closing the window finishes it).
    record: Path | None = None

    def __post_init__(self) -> None:
        if self.size is not None and self.size < 0:
            raise ValueError(f"--size must be 0 (native) or a positive short side, got {self.size}")
        if self.record is not None and self.record.suffix.lower() != ".mp4":
            raise ValueError(f"--record {self.record}: recordings are MP4 files; give a name ending in .mp4")


def size_label(size: int) -> str:
    """``720`` → ``"720p"``, ``0`` → ``"native"``."""
    return "native" if size <= 0 else f"{size}p"
