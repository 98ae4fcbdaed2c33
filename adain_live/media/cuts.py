"""Scene cuts between consecutive frames, from small exposure-normalised thumbnails (numpy + OpenCV)."""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["is_cut", "shot_starts", "thumb"]


def thumb(gray: np.ndarray) -> np.ndarray:
    """A 32x18 thumbnail of a grey (H, W) uint8 frame, normalised to mean 0.5 (so exposure changes are not cuts)."""
    t = cv2.resize(gray, (32, 18), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return t * (0.5 / max(float(t.mean()), 1e-3))


def is_cut(prev_thumb: np.ndarray, thumb: np.ndarray, threshold: float) -> bool:
    """Whether two thumbnails (see :func:`thumb`) look like different scenes (mean abs. difference > threshold)."""
    return float(np.abs(prev_thumb - thumb).mean()) > threshold


def shot_starts(thumbs: list[np.ndarray], threshold: float) -> list[int]:
    """Index of the first frame of every shot of a clip given as consecutive thumbnails (``[0, ...]``)."""
    return [0] + [i for i in range(1, len(thumbs)) if is_cut(thumbs[i - 1], thumbs[i], threshold)]
