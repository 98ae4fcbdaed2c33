"""The frame type that leaves ``adain_live.media``: RGB uint8 HWC plus a timestamp."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One video frame as every source delivers it.

    Attributes
    ----------
    image
        RGB ``uint8`` array of shape ``(H, W, 3)``, C-contiguous. BGR never leaves ``media``.
    timestamp
        Seconds: media time for files (growing across loops), capture clock for cameras.
    index
        Running number of the frame in this source (gaps mean a camera dropped stale frames).
    """

    image: np.ndarray
    timestamp: float
    index: int

    def __post_init__(self) -> None:
        img = self.image
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"Frame.image must be uint8 HxWx3 RGB, got {img.dtype} {img.shape}")
        if not img.flags.c_contiguous:
            raise ValueError("Frame.image must be C-contiguous (use np.ascontiguousarray)")

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the image."""
        return int(self.image.shape[1]), int(self.image.shape[0])
