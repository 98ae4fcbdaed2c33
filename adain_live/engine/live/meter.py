"""Small thread helpers for the live loop: a newest-wins slot and a rate/latency meter."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Holds only the newest item; readers wait for an item newer than the one they saw.

    A writer never blocks on a slow reader: an item nobody took is simply replaced (a camera's stale frame).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._seq = 0

    def put(self, item: T) -> None:
        """Replace the item and wake waiting readers."""
        with self._cond:
            self._item = item
            self._seq += 1
            self._cond.notify_all()

    def wake(self) -> None:
        """Wake waiting readers without a new item (e.g. a setting changed, or stop)."""
        with self._cond:
            self._cond.notify_all()

    def peek(self) -> T | None:
        """Return the newest item, or None."""
        with self._cond:
            return self._item

    def wait_newer(self, seq: int, timeout: float) -> tuple[int, T] | None:
        """Wait up to ``timeout`` s for an item newer than ``seq``; return ``(seq, item)`` or None."""
        with self._cond:
            if self._seq <= seq:
                self._cond.wait(timeout)
            if self._seq <= seq or self._item is None:
                return None
            return self._seq, self._item


class RateMeter:
    """Events per second over a sliding window, and a smoothed value (e.g. latency in ms)."""

    def __init__(self, window_s: float = 1.0, smoothing: float = 0.2) -> None:
        self.window_s = window_s
        self.smoothing = smoothing
        self._times: deque[float] = deque()
        self._value: float | None = None
        self._lock = threading.Lock()

    def tick(self, now: float | None = None) -> None:
        """Count one event."""
        now = time.perf_counter() if now is None else now
        with self._lock:
            self._times.append(now)
            # Keep two events beyond the window so rates below 1/window can still be measured.
            while len(self._times) > 2 and now - self._times[1] > self.window_s:
                self._times.popleft()

    def rate(self, now: float | None = None) -> float:
        """Events per second over the window; below 1 fps, from the last two events (0 when idle > 5 s)."""
        now = time.perf_counter() if now is None else now
        with self._lock:
            times = list(self._times)
        recent = [t for t in times if now - t <= self.window_s]
        if len(recent) < 2:
            recent = times[-2:]
            if len(recent) < 2 or now - recent[-1] > 5.0:
                return 0.0
        span = max(recent[-1] - recent[0], 1e-6)
        return (len(recent) - 1) / span

    def add_value(self, value: float) -> None:
        """Fold ``value`` into the exponential moving average."""
        with self._lock:
            self._value = value if self._value is None else (
                self._value + self.smoothing * (value - self._value))

    @property
    def value(self) -> float | None:
        """The smoothed value, or None before the first one."""
        return self._value
