"""Throttle a stream of values (e.g. a slider) to at most one call per interval, always ending on the last."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PyQt6.QtCore import QObject, QTimer


class Throttler(QObject):
    """Call ``func`` at most every ``interval_ms`` with the newest value; the final value is never lost.

    Modelled on superqt's throttler: the first value goes out at once, later ones at the end of the interval.
    """

    def __init__(self, func: Callable[[Any], None], interval_ms: int = 50, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._func = func
        self._value: Any = None
        self._pending = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._flush)

    def __call__(self, value: Any) -> None:
        """Offer a new value."""
        self._value, self._pending = value, True
        if not self._timer.isActive():
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._pending = False
            self._func(self._value)
            self._timer.start()
