"""The live view: the stylized frame (optionally beside the original), scaled to fit, with an overlay."""

from __future__ import annotations

from typing import Any

import numpy as np
from PyQt6.QtCore import QPointF, QRectF, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PyQt6.QtWidgets import QSizePolicy, QWidget

from adain_live.gui.convert import wrap_qimage


def fit_rect(img_w: int, img_h: int, box: QRectF) -> QRectF:
    """The largest rectangle of the image's aspect ratio centred in ``box``."""
    scale = min(box.width() / max(img_w, 1), box.height() / max(img_h, 1))
    w, h = img_w * scale, img_h * scale
    return QRectF(box.x() + (box.width() - w) / 2, box.y() + (box.height() - h) / 2, w, h)


class LiveView(QWidget):
    """Paint the newest result; the overlay shows FPS, latency, the recording indicator and a paused state.

    In *compare* mode one picture is split at ``wipe`` (a fraction of its width, dragged with the mouse):
    the original on the left, the stylized frame on the right.
    """

    # Emitted after a new result has been painted (the window measures capture→display latency with it).
    painted = pyqtSignal(object)
    # The view was double-clicked (the window toggles fullscreen).
    doubleClicked = pyqtSignal()
    # The compare divider was dragged: its new position (fraction of the picture's width).
    wipeMoved = pyqtSignal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.side_by_side = False
        self.compare = False
        self.wipe = 0.5
        self.paused = False
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
        """Show a :class:`~adain_live.engine.live.types.LiveResult` (keeps references, no pixel copy)."""
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
        if self.compare:
            self._draw_compare(p, stylized, original, box)
        elif self.side_by_side:
            half = box.width() / 2
            left, right = QRectF(box.x(), box.y(), half - 2, box.height()), QRectF(half + 2, box.y(), half - 2,
                                                                                   box.height())
            p.drawImage(fit_rect(original.width(), original.height(), left), original)
            p.drawImage(fit_rect(stylized.width(), stylized.height(), right), stylized)
        else:
            p.drawImage(fit_rect(stylized.width(), stylized.height(), box), stylized)

    def _draw_compare(self, p: QPainter, stylized: QImage, original: QImage, box: QRectF) -> None:
        target = fit_rect(stylized.width(), stylized.height(), box)
        cut = target.x() + target.width() * min(1.0, max(0.0, self.wipe))
        p.drawImage(target, stylized)
        p.save()
        p.setClipRect(QRectF(target.x(), target.y(), cut - target.x(), target.height()))
        p.drawImage(target, original)
        p.restore()
        p.setPen(QPen(QColor(255, 255, 255, 220), 2))
        p.drawLine(QPointF(cut, target.top()), QPointF(cut, target.bottom()))
        p.setBrush(QColor(255, 255, 255, 220))
        p.drawEllipse(QPointF(cut, target.center().y()), 7, 7)
        p.setFont(QFont(p.font().family(), 9, QFont.Weight.Bold))
        for text, x, align in (("original", target.left() + 8, Qt.AlignmentFlag.AlignLeft),
                               ("stylized", target.right() - 108, Qt.AlignmentFlag.AlignRight)):
            p.setPen(QColor(255, 255, 255))
            p.drawText(QRectF(x, target.bottom() - 24, 100, 18), align | Qt.AlignmentFlag.AlignVCenter, text)

    def _set_wipe(self, event: QMouseEvent | None) -> None:
        if event is None or self._images is None or not self.compare:
            return
        stylized = self._images[0]
        target = fit_rect(stylized.width(), stylized.height(), QRectF(self.rect()))
        self.wipe = min(1.0, max(0.0, (event.position().x() - target.x()) / max(target.width(), 1.0)))
        self.wipeMoved.emit(self.wipe)
        self.update()

    def mousePressEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802 - Qt API
        """In compare mode, move the divider to the click."""
        self._set_wipe(event)

    def mouseMoveEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802 - Qt API
        """In compare mode, drag the divider."""
        self._set_wipe(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent | None) -> None:  # noqa: N802 - Qt API
        """Ask the window to toggle fullscreen."""
        self.doubleClicked.emit()

    def _draw_paused(self, p: QPainter) -> None:
        p.fillRect(self.rect(), QColor(0, 0, 0, 90))
        p.setFont(QFont(p.font().family(), 22, QFont.Weight.Bold))
        text = "❚❚  Paused"
        w, h = p.fontMetrics().horizontalAdvance(text) + 48, p.fontMetrics().height() + 24
        box = QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)
        p.setBrush(QColor(0, 0, 0, 180))
        p.setPen(Qt.PenStyle.NoPen)
        p.drawRoundedRect(box, 10, 10)
        p.setPen(QColor(255, 255, 255))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _draw_overlay(self, p: QPainter) -> None:
        if self.paused and self._images is not None:
            self._draw_paused(p)
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
