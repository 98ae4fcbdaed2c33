"""numpy RGB uint8 images ↔ Qt images (no copies where Qt allows)."""

from __future__ import annotations

import numpy as np
from PyQt6.QtGui import QImage


def to_qimage(rgb: np.ndarray) -> QImage:
    """Wrap an RGB uint8 HWC array as a QImage that owns a copy of the pixels."""
    arr = np.ascontiguousarray(rgb)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888).copy()


def wrap_qimage(rgb: np.ndarray) -> tuple[QImage, np.ndarray]:
    """Wrap an RGB uint8 HWC array without copying; keep the returned array alive while the image is used."""
    arr = np.ascontiguousarray(rgb)
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888), arr
