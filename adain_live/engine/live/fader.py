"""Cross-fade between styles in the live loop: the style installed for each frame, mid-fade a weighted mix.

:meth:`StyleFader.request` may be called from any thread; :meth:`StyleFader.apply` runs on the inference
thread before each frame and is the only code that sets the pipeline's style while the loop runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol


class Stylable(Protocol):
    """What the fader drives: the pipeline's current ``style`` and ``set_style(styles, weights)``."""

    @property
    def style(self) -> Any:
        """The style in use (None before the first)."""

    def set_style(self, styles: Any, weights: Sequence[float] | None = None) -> None:
        """Use one style, or a weighted mix of several."""


class StyleFader:
    """Move the pipeline's style to a requested target, over ``fade_s`` seconds or at once.

    Parameters
    ----------
    fade_s
        Duration of a cross-fade; 0 switches at once.
    clock
        Seconds, monotonic (tests pass a fake).
    """

    def __init__(self, fade_s: float = 0.5, clock: Callable[[], float] = time.perf_counter) -> None:
        self.fade_s = fade_s
        self._clock = clock
        self._lock = threading.Lock()
        self._request: tuple[Any, bool] | None = None
        self._target: Any = None
        self._start: Any = None
        self._t0 = 0.0

    def request(self, target: Any, fade: bool = True) -> None:
        """Ask for ``target`` (a style on the CPU); with ``fade`` it is reached over ``fade_s``. Any thread."""
        with self._lock:
            self._request = (target, fade)

    @property
    def busy(self) -> bool:
        """True while a requested style has not been fully installed (a re-render is due)."""
        return self._request is not None or self._target is not None

    def apply(self, pipeline: Stylable) -> bool:
        """Install this frame's style on ``pipeline`` (inference thread); return True if it changed."""
        with self._lock:
            request, self._request = self._request, None
        if request is not None:
            target, fade = request
            current = pipeline.style
            # a style of another kind (after a model switch) cannot be mixed: switch without fading
            keep = fade and self.fade_s > 0 and current is not None and type(current) is type(target)
            self._start = current.to("cpu") if keep else None
            self._target, self._t0 = target, self._clock()
        if self._target is None:
            return False
        t = 1.0 if self._start is None else (self._clock() - self._t0) / self.fade_s
        if t >= 1.0:
            pipeline.set_style(self._target)
            self._target = self._start = None
        else:
            pipeline.set_style([self._start, self._target], [1.0 - t, t])
        return True
