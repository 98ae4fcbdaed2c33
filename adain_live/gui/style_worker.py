"""The style side of the app: thumbnails and statistics in a second ``QThread``, so the stream never waits.

A selection is served from the cache at once; a miss is computed here while the runner keeps stylizing with
the previous style. Between requests, the statistics of the other gallery styles are computed one at a time
(each step re-posted to the event loop, so a click is never stuck behind the whole warm-up).
"""

from __future__ import annotations

import logging
from collections import deque
from pathlib import Path

from PyQt6.QtCore import QObject, QTimer, pyqtSignal, pyqtSlot

from adain_live.errors import UserError
from adain_live.gallery import StyleEntry, thumbnail
from adain_live.gui.convert import to_qimage
from adain_live.gui.worker import Engine

log = logging.getLogger(__name__)


class StyleWorker(QObject):
    """Adds styles, makes thumbnails, computes/caches statistics and installs the selected style."""

    # Styles were added: their paths (in gallery order) and one-line problems.
    stylesAdded = pyqtSignal(list, list)
    # A style file cannot be used (e.g. not a readable image): its path and the one-line reason.
    styleBroken = pyqtSignal(str, str)
    # A thumbnail is ready: style path and a QImage.
    thumbnailReady = pyqtSignal(str, object)
    # A style is now in use: primary path, secondary path ("" = none).
    styleApplied = pyqtSignal(str, str)
    # A style could not be used: its path and the one-line reason.
    styleFailed = pyqtSignal(str, str)
    # Statistics of a style are cached (keys 1–9 switch to it instantly): its path.
    styleCached = pyqtSignal(str)

    def __init__(self) -> None:
        super().__init__()
        self.engine: Engine | None = None
        self._warm: deque[StyleEntry] = deque()
        self._selection: tuple[str, str, float] = ("", "", 0.5)
        self._early: list[list[str]] = []

    @pyqtSlot(object)
    def attach(self, engine: Engine) -> None:
        """Use the loaded engine; styles added before it was ready are added now."""
        self.engine = engine
        self._warm.clear()  # entries of a previous engine's gallery (another model) are not this one's
        for paths in self._early:
            self.addStyles(paths)
        self._early.clear()

    @pyqtSlot(list)
    def addStyles(self, paths: list[str]) -> None:  # noqa: N802 - Qt slot naming
        """Add image files/folders to the gallery, emit thumbnails, then warm their statistics."""
        if self.engine is None:
            self._early.append(list(paths))
            return
        added, problems = self.engine.gallery.add(paths)
        good: list[str] = []
        for entry in added:
            try:
                image = thumbnail(entry.path, 160)
            except UserError as exc:
                self.engine.gallery.remove(entry)
                problems.append(str(exc))
                self.styleBroken.emit(str(entry.path), str(exc))
                continue
            good.append(str(entry.path))
            self.thumbnailReady.emit(str(entry.path), to_qimage(image))
            self._warm.append(entry)
        self.stylesAdded.emit(good, problems)
        QTimer.singleShot(0, self._warm_next)

    @pyqtSlot(str)
    def removeStyle(self, path: str) -> None:  # noqa: N802 - Qt slot naming
        """Forget a style (its cached statistics stay on disk)."""
        entry = None if self.engine is None else self.engine.gallery.find(path)
        if entry is not None and self.engine is not None:
            self.engine.gallery.remove(entry)
            self._warm = deque(e for e in self._warm if e.digest != entry.digest)

    @pyqtSlot(str, str, float)
    def select(self, primary: str, secondary: str, mix: float) -> None:
        """Use ``primary`` (mixed with ``secondary`` at weight ``mix`` when given), cross-fading to it."""
        self._selection = (primary, secondary, mix)
        self._apply(fade=True)

    @pyqtSlot(float)
    def setMix(self, mix: float) -> None:  # noqa: N802
        """Change the weight of the secondary style (no cross-fade: the slider itself is the fade)."""
        primary, secondary, _ = self._selection
        self._selection = (primary, secondary, mix)
        if secondary:
            self._apply(fade=False)

    def _apply(self, fade: bool) -> None:
        if self.engine is None:
            return
        primary, secondary, mix = self._selection
        try:
            stats = [self._stats(primary)]
            if secondary:
                stats.append(self._stats(secondary))
        except UserError as exc:
            self.styleFailed.emit(str(exc.path) if exc.path is not None else primary, exc.message)
            return
        weights = [1.0 - mix, mix] if secondary else None
        self.engine.runner.set_style(stats, weights, fade=fade)
        self.engine.runner.set_region_background(stats[1] if secondary else None)
        self.styleApplied.emit(primary, secondary)

    def _stats(self, path: str):  # noqa: ANN202 - StyleStats
        assert self.engine is not None
        gallery = self.engine.gallery
        entry = gallery.find(path)
        if entry is None:
            raise UserError(f"{Path(path).name} is not in the gallery", path=path)
        try:
            stats = gallery.stats(entry)
        except UserError as exc:
            raise UserError(f"cannot use style {entry.path.name}: {exc}", path=path) from exc
        except Exception as exc:  # noqa: BLE001 - e.g. a broken image deep in a decoder: one line, go on
            raise UserError(f"cannot use style {entry.path.name}: {type(exc).__name__}: {exc}", path=path) from exc
        self.styleCached.emit(path)
        return stats

    def _warm_next(self) -> None:
        if self.engine is None or not self._warm:
            return
        entry = self._warm.popleft()
        if self.engine.gallery.cached(entry) is None:
            try:
                self._stats(str(entry.path))
            except UserError as exc:
                self.styleFailed.emit(str(entry.path), exc.message)
        if self._warm:
            QTimer.singleShot(0, self._warm_next)
