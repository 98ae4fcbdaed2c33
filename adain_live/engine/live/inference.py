"""The inference loop: newest captured frame + the current settings snapshot → the newest result.

It runs in its own thread and is the only code that touches the pipeline while the live loop runs. Each turn
it reads the whole :class:`~adain_live.engine.live.settings.LiveSettings` snapshot once, lets the fader
install this frame's style, stylizes the newest frame (or re-renders the held one when paused and something
changed) and hands the result to ``publish``. An out-of-memory failure goes to the size governor; any other
failure skips the frame and is reported at most once every few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from adain_live.engine.live.fader import StyleFader
from adain_live.engine.live.governor import SizeGovernor
from adain_live.engine.live.meter import LatestSlot
from adain_live.engine.live.regions import RegionSync
from adain_live.engine.live.settings import LiveSettings, SettingsBox
from adain_live.engine.live.types import Captured, LiveResult, one_line
from adain_live.engine.temporal import Stabilizer, StabilizeSettings
from adain_live.media.flow import shrink

log = logging.getLogger(__name__)

#: Seconds before the same failure is reported again.
REPEAT_REPORT_S = 5.0


def effective_size(size: int, image: np.ndarray) -> int:
    """The size to run at: a size above the source's own would only upscale (slower, no detail): native."""
    return 0 if size <= 0 or size >= min(image.shape[:2]) else size


class InferenceLoop:
    """Stylize the newest frame with the current settings in a background thread.

    Parameters
    ----------
    pipeline
        A :class:`~adain_live.engine.pipeline.StylePipeline` (or anything with its live API).
    settings, fader, governor
        The settings snapshot, the style fader and the out-of-memory size governor.
    frames
        The capture loop's newest frame.
    publish
        Called with every new result (from this thread).
    on_error
        One-line messages about failing frames.
    """

    def __init__(self, pipeline: Any, settings: SettingsBox, fader: StyleFader, governor: SizeGovernor,
                 frames: LatestSlot[Captured], publish: Callable[[LiveResult], None],
                 on_error: Callable[[str], None]) -> None:
        self.pipeline, self.settings, self.fader, self.governor = pipeline, settings, fader, governor
        self._frames, self._publish, self._on_error = frames, publish, on_error
        self._stabilizer: Stabilizer | None = None
        self._stabilize = StabilizeSettings()
        self.regions = RegionSync()
        self._last_failure: tuple[str, float] = ("", 0.0)
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def stabilizer(self) -> Stabilizer | None:
        """The temporal stabiliser in use (None: off)."""
        return self._stabilizer

    def start(self) -> None:
        """Start the thread (no-op when running)."""
        if self.thread is None:
            self._stop.clear()
            self.thread = threading.Thread(target=self._run, name="adain-infer", daemon=True)
            self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and join the thread (idempotent)."""
        self._stop.set()
        self._frames.wake()
        if self.thread is not None:
            self.thread.join(timeout)
            self.thread = None
        if self._stabilizer is not None:
            self._stabilizer.close()
            self._stabilizer = None

    def _run(self) -> None:
        seq, seen, held = 0, -1, None
        while not self._stop.is_set():
            got = self._frames.wait_newer(seq, timeout=0.1)
            version, s = self.settings.get()
            changed, seen = version != seen, version
            self._sync_stabilizer(s.stabilize)
            changed = self.fader.apply(self.pipeline) or changed
            fresh = False
            if got is not None:
                seq = got[0]
                # While paused the output stays on the frame it was paused on.
                if not s.paused or held is None:
                    held, fresh = got[1], True
            if held is None or not ((fresh and not s.paused) or changed):
                continue
            result = self.process(held, s)
            if result is not None:
                self._publish(result)

    def _sync_stabilizer(self, wanted: StabilizeSettings) -> None:
        if wanted == self._stabilize:
            return
        if self._stabilizer is not None:
            self._stabilizer.close()
        self._stabilizer = Stabilizer(self.pipeline, wanted) if wanted.mode != "off" else None
        self._stabilize = wanted

    def _network_input(self, image: np.ndarray) -> np.ndarray:
        """On the CPU, ``image`` already shrunk to the processing size (when the output is that size too).

        An area filter on the uint8 frame takes ~1 ms for 720p → 180p where the pipeline's antialiased float
        resize takes ~8 ms of one core (measured on an AVX512-BF16 EPYC): a tenth of the live frame budget.
        """
        pipe = self.pipeline  # any object with the pipeline's interface: only a CPU StylePipeline qualifies
        device = getattr(pipe, "device", None)
        if getattr(device, "type", None) != "cpu" or getattr(pipe, "output_size", None) != "processing":
            return image
        return shrink(image, pipe.size)

    def process(self, cap: Captured, s: LiveSettings) -> LiveResult | None:
        """Stylize one captured frame with the settings ``s``; None when it failed (reported or governed)."""
        image = np.ascontiguousarray(cap.image[:, ::-1]) if s.mirror else cap.image
        pipe = self.pipeline
        if pipe.style is None:
            return LiveResult(image, image, cap.index, cap.timestamp, cap.captured_at, 0.0, s.size)
        pipe.alpha, pipe.preserve_color, pipe.size = s.alpha, s.preserve_color, effective_size(s.size, image)
        if self._stabilizer is not None and s.paused:
            self._stabilizer.reset()  # a re-render of the held frame must not blend with its previous look
        try:
            self.regions.apply(pipe, s.region)
            out = (self._stabilizer or pipe)(self._network_input(image))
        except Exception as exc:  # noqa: BLE001 - OOM falls back; anything else is reported once
            smaller = self.governor.react(exc, s.size, min(image.shape[:2]))
            if smaller is not None:
                self.settings.update(size=smaller)
            else:
                self._report(exc)
            return None
        path = pipe.last_timing.path if pipe.last_timing is not None else ""
        return LiveResult(out, image, cap.index, cap.timestamp, cap.captured_at, pipe.last_ms or 0.0, s.size, path)

    def _report(self, exc: Exception) -> None:
        # The frame is skipped and the loop goes on; a repeated failure is reported once every few seconds.
        message = one_line(exc, "stylizing failed")
        now = time.perf_counter()
        if message != self._last_failure[0] or now - self._last_failure[1] > REPEAT_REPORT_S:
            self._last_failure = (message, now)
            log.debug("frame failed", exc_info=exc)
            self._on_error(message)
