"""The live view: the stylized frame (optionally beside the original), scaled to fit, with an overlay."""

from __future__ import annotations

from typing import Any

import numpy as np
from PyQt6.QtCore import QRectF, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent
from PyQt6.QtWidgets import QSizePolicy, QWidget

from adain_live.gui.convert import wrap_qimage


def fit_rect(img_w: int, img_h: int, box: QRectF) -> QRectF:
    """The largest rectangle of the image's aspect ratio centred in ``box``."""
    scale = min(box.width() / max(img_w, 1), box.height() / max(img_h, 1))
    w, h = img_w * scale, img_h * scale
    return QRectF(box.x() + (box.width() - w) / 2, box.y() + (box.height() - h) / 2, w, h)


class LiveView(QWidget):
    """Paint the newest result; the overlay shows FPS, latency and the recording indicator."""

    # Emitted after a new result has been painted (the window measures capture→display latency with it).
    painted = pyqtSignal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.side_by_side = False
        self.overlay = ""
        self.recording = ""
        self.placeholder = "Starting…"
        self._result: Any = None
        self._images: tuple[QImage, QImage] | None = None
        self._keep: tuple[np.ndarray, np.ndarray] | None = None
        self._unpainted = False
        self.frames_shown = 0

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        """Prefer a large view."""
        return QSize(960, 540)

    def show_result(self, result: Any) -> None:
        """Show a :class:`~adain_live.engine.runner.LiveResult` (keeps references, no pixel copy)."""
        stylized, keep_s = wrap_qimage(result.image)
        original, keep_o = wrap_qimage(result.original)
        self._result, self._images, self._keep = result, (stylized, original), (keep_s, keep_o)
        self._unpainted = True
        self.update()

    def clear(self, message: str) -> None:
        """Drop the current frame and show ``message`` instead."""
        self._result, self._images, self._keep = None, None, None
        self.placeholder = message
        self.update()

    def current_image(self) -> QImage | None:
        """The stylized image on screen (for tests)."""
        return None if self._images is None else self._images[0]

    def paintEvent(self, event: QPaintEvent | None) -> None:  # noqa: N802 - Qt API
        """Draw frame(s), overlay and recording indicator."""
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(16, 16, 16))
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        if self._images is None:
            p.setPen(QColor(200, 200, 200))
            p.setFont(QFont(p.font().family(), 14))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
        else:
            self._draw_frames(p)
        self._draw_overlay(p)
        p.end()
        if self._unpainted and self._result is not None:
            self._unpainted = False
            self.frames_shown += 1
            self.painted.emit(self._result)

    def _draw_frames(self, p: QPainter) -> None:
        assert self._images is not None
        stylized, original = self._images
        box = QRectF(self.rect())
        if self.side_by_side:
            half = box.width() / 2
            left, right = QRectF(box.x(), box.y(), half - 2, box.height()), QRectF(half + 2, box.y(), half - 2,
                                                                                   box.height())
            p.drawImage(fit_rect(original.width(), original.height(), left), original)
            p.drawImage(fit_rect(stylized.width(), stylized.height(), right), stylized)
        else:
            p.drawImage(fit_rect(stylized.width(), stylized.height(), box), stylized)

    def _draw_overlay(self, p: QPainter) -> None:
        p.setFont(QFont(p.font().family(), 10, QFont.Weight.Bold))
        metrics = p.fontMetrics()
        if self.overlay:
            w = metrics.horizontalAdvance(self.overlay) + 16
            box = QRectF(self.width() - w - 8, 8, w, metrics.height() + 8)
            p.fillRect(box, QColor(0, 0, 0, 160))
            p.setPen(QColor(255, 255, 255))
            p.drawText(box, Qt.AlignmentFlag.AlignCenter, self.overlay)
        if self.recording:
            w = metrics.horizontalAdvance(self.recording) + 34
            box = QRectF(8, 8, w, metrics.height() + 8)
            p.fillRect(box, QColor(0, 0, 0, 160))
            p.setBrush(QColor(230, 30, 30))
            p.setPen(Qt.PenStyle.NoPen)
            p.drawEllipse(QRectF(box.x() + 8, box.center().y() - 6, 12, 12))
            p.setPen(QColor(255, 255, 255))
            p.drawText(box.adjusted(26, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, self.recording)
