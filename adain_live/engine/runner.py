"""The live loop, without Qt: newest captured frame → inference → newest result.

Two threads: *capture* reads the source and keeps only the newest frame; *inference* takes the newest frame,
applies the settings changed since the last frame (style cross-fade, α, colour, size, pause), stylizes it and
publishes the newest result. A consumer (the GUI) is notified through ``on_result`` and reads :meth:`latest`;
nobody waits on anybody else. Recording and virtual-camera output run in their own threads (``live_sinks``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adain_live.core.stats import StyleStats, mix_stats
from adain_live.engine.config import check_alpha, check_size
from adain_live.engine.live.types import FrameSink, FrameSource, LiveResult
from adain_live.engine.live_io import write_png
from adain_live.engine.live_meter import LatestSlot, RateMeter
from adain_live.engine.live_sinks import (
    RecorderFactory,
    RecordingJob,
    RecordOptions,
    default_recorder_factory,
    fit_frame,
    frame_size,
)
from adain_live.engine.pipeline import StylePipeline
from adain_live.engine.temporal import Stabilizer, StabilizeSettings
from adain_live.errors import DeviceMemoryError, UserError

log = logging.getLogger(__name__)

#: Processing sizes (short side) tried in turn when the device runs out of memory.
SIZE_LADDER: tuple[int, ...] = (1080, 720, 480, 360, 240, 180)


@dataclass(frozen=True)
class _Captured:
    image: np.ndarray
    index: int
    timestamp: float
    captured_at: float


def lower_size(size: int, short_side: int) -> int | None:
    """Return the next ladder size below the size in effect (``size``; 0 = native ``short_side``), or None."""
    current = short_side if size <= 0 else min(size, short_side)
    return next((s for s in SIZE_LADDER if s < current), None)


def as_memory_error(exc: BaseException, device: torch.device) -> DeviceMemoryError | None:
    """``exc`` as a :class:`DeviceMemoryError` if it means the device ran out of memory, else None.

    The pipeline raises DeviceMemoryError itself when it can tell beforehand; torch raises OutOfMemoryError
    (CUDA) when an allocation fails.
    """
    if isinstance(exc, DeviceMemoryError):
        return exc
    if isinstance(exc, torch.OutOfMemoryError):
        return DeviceMemoryError(f"out of memory on {device} at this resolution", device=str(device))
    return None


class LiveRunner:
    """Drive a :class:`StylePipeline` from a live source in background threads.

    Parameters
    ----------
    pipeline
        The pipeline; only the inference thread touches it after :meth:`start`.
    on_result, on_error, on_status, on_size
        Callbacks, called from the runner's threads: a new result is ready (read :meth:`latest`), a one-line
        error, a one-line status message, the processing size was lowered after running out of memory.
    fade_s
        Duration of the statistics cross-fade when the style changes.
    """

    def __init__(self, pipeline: StylePipeline, *, on_result: Callable[[LiveResult], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 on_status: Callable[[str], None] | None = None,
                 on_size: Callable[[int], None] | None = None, fade_s: float = 0.5,
                 recorder_factory: RecorderFactory = default_recorder_factory) -> None:
        self.pipeline = pipeline
        self._on_result = on_result or (lambda r: None)
        self._on_error = on_error or (lambda m: log.error("%s", m))
        self._on_status = on_status or (lambda m: log.info("%s", m))
        self._on_size = on_size or (lambda s: None)
        self.fade_s = fade_s
        self._recorder_factory = recorder_factory
        self._lock = threading.Lock()
        self._pending: dict[str, Any] = {}
        self._frames: LatestSlot[_Captured] = LatestSlot()
        self._results: LatestSlot[LiveResult] = LatestSlot()
        self._stop = threading.Event()
        self._source: FrameSource | None = None
        self._source_stop: threading.Event = threading.Event()
        self._capture: threading.Thread | None = None
        self._infer: threading.Thread | None = None
        self._target: StyleStats | None = None
        self._fade_from: StyleStats | None = None
        self._fade_t0 = 0.0
        self._style_dirty = False
        self._last_failure: tuple[str, float] = ("", 0.0)
        self._paused = False
        self._mirror = False
        self._recording: RecordingJob | None = None
        self._stabilizer: Stabilizer | None = None
        self._sinks: list[FrameSink] = []
        self.fps_meter = RateMeter()
        self.latency_meter = RateMeter()
        self.audio_from: Path | None = None
        #: Processing size asked for (short side, 0 = native); sources smaller than it run natively.
        self.size = int(pipeline.size)

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self, source: FrameSource | None = None, audio_from: Path | None = None) -> LiveRunner:
        """Start the inference thread and, when given, capture from ``source``; returns self."""
        if self._infer is None:
            self._stop.clear()
            self._infer = threading.Thread(target=self._infer_loop, name="adain-infer", daemon=True)
            self._infer.start()
        if source is not None:
            self.set_source(source, audio_from)
        return self

    def set_source(self, source: FrameSource, audio_from: Path | None = None) -> None:
        """Stop capturing from the current source (closing it) and capture from ``source`` instead."""
        self._stop_capture()
        self._source, self.audio_from = source, audio_from
        self._source_stop = threading.Event()
        self._capture = threading.Thread(target=self._capture_loop, args=(source, self._source_stop),
                                         name="adain-capture", daemon=True)
        self._capture.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every thread, finalise an active recording and close the source (idempotent)."""
        self.stop_recording()
        self._stop_capture(timeout)
        self._stop.set()
        self._frames.wake()
        if self._infer is not None:
            self._infer.join(timeout)
            self._infer = None

    def threads(self) -> list[threading.Thread]:
        """Return the runner's threads that are still alive (for tests and diagnostics)."""
        ts = [self._capture, self._infer, self._recording.thread if self._recording else None]
        return [t for t in ts if t is not None and t.is_alive()]

    def __enter__(self) -> LiveRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _stop_capture(self, timeout: float = 5.0) -> None:
        self._source_stop.set()
        # Close first: that wakes a capture thread blocked in read() (a camera waiting for its next frame).
        if self._source is not None:
            self._source.close()
            self._source = None
        if self._capture is not None:
            self._capture.join(timeout)
            self._capture = None

    # --- settings (any thread; applied between frames) ---------------------------------------------------
    def set_style(self, styles: StyleStats | Sequence[StyleStats], weights: Sequence[float] | None = None,
                  *, fade: bool = True) -> None:
        """Use one style or a weighted mix; with ``fade`` the statistics cross-fade over ``fade_s``."""
        seq = [styles] if isinstance(styles, StyleStats) else list(styles)
        target = mix_stats([s.to("cpu") for s in seq], weights)
        self._set("style", (target, fade))

    def set_alpha(self, alpha: float) -> None:
        """Set the content–style trade-off in [0, 1]."""
        self._set("alpha", check_alpha(alpha))

    def set_preserve_color(self, on: bool) -> None:
        """Keep (or stop keeping) the content's colours."""
        self._set("preserve_color", bool(on))

    def set_size(self, size: int) -> None:
        """Set the processing size of the short side (0 = native)."""
        self._set("size", check_size(size))

    def set_paused(self, paused: bool) -> None:
        """Freeze the output on the current frame (settings changes still re-render it)."""
        self._set("paused", bool(paused))

    def set_mirror(self, on: bool) -> None:
        """Flip frames left–right before stylizing (a camera then behaves like a mirror)."""
        self._set("mirror", bool(on))

    def set_stabilize(self, settings: StabilizeSettings | str) -> None:
        """Temporal stabilisation of the output: a mode (off, stats, flow) or full settings (engine.temporal)."""
        self._set("stabilize", StabilizeSettings(mode=settings) if isinstance(settings, str) else settings)

    def add_sink(self, sink: FrameSink) -> None:
        """Call ``sink(result)`` for every new result, from the inference thread (keep it quick)."""
        self._sinks.append(sink)

    def remove_sink(self, sink: FrameSink) -> None:
        """Stop calling ``sink``."""
        if sink in self._sinks:
            self._sinks.remove(sink)

    def _set(self, key: str, value: Any) -> None:
        with self._lock:
            self._pending[key] = value
        self._frames.wake()

    # --- outputs ---------------------------------------------------------------------------------------
    def latest(self) -> LiveResult | None:
        """Return the newest result (None before the first one)."""
        return self._results.peek()

    @property
    def paused(self) -> bool:
        """Whether the output is frozen."""
        return self._paused

    def mark_displayed(self, result: LiveResult) -> None:
        """Record that ``result`` reached the screen now (capture→display latency)."""
        self.latency_meter.add_value((time.perf_counter() - result.captured_at) * 1000.0)

    def snapshot(self, path: str | Path, size: str = "source") -> Path:
        """Save the current stylized frame as a PNG and return its path.

        ``size`` as for recordings (``"source"`` or ``"processing"``), so a snapshot matches a recording.
        """
        result = self.latest()
        if result is None:
            raise UserError("no stylized frame yet; wait for the video to start, then take the snapshot")
        return write_png(Path(path), fit_frame(result.image, frame_size(result, size)))

    def start_recording(self, path: str | Path, options: RecordOptions | None = None) -> Path:
        """Record the stylized stream to an MP4 (with the source file's audio when there is one).

        A constant-rate recording runs at the source's frame rate (30 when the source does not say).
        """
        with self._lock:
            if self._recording is not None:
                raise UserError(f"already recording to {self._recording.path}; stop that recording first")
            info = getattr(self._source, "info", None)  # a FileSource knows its file's duration
            fps = Fraction(getattr(self._source, "fps", 0) or 30).limit_denominator(1001)
            job = RecordingJob(Path(path), self._recorder_factory, fps=fps, options=options,
                               audio_from=self.audio_from, audio_duration=getattr(info, "duration", None),
                               on_error=self._on_error)
            self._recording = job
        return job.path

    def stop_recording(self) -> Path | None:
        """Finish the active recording (waiting for queued frames); return its path (None: none, or failed)."""
        with self._lock:
            job, self._recording = self._recording, None
        if job is None:
            return None
        job.close()
        return None if job.error else job.path

    @property
    def recording(self) -> RecordingJob | None:
        """The active recording, if any."""
        return self._recording

    # --- threads ---------------------------------------------------------------------------------------
    def _capture_loop(self, source: FrameSource, stop: threading.Event) -> None:
        try:
            while not stop.is_set() and not self._stop.is_set():
                frame = source.read()
                if frame is None:
                    if not stop.is_set():
                        self._on_status("the video ended; open it again or choose another source")
                    return
                image = frame.image
                self._frames.put(_Captured(image, int(frame.index), float(frame.timestamp), time.perf_counter()))
        except Exception as exc:  # noqa: BLE001 - any source failure becomes a one-line message
            if not stop.is_set():
                self._on_error(_one_line(exc, "the video source failed"))

    def _infer_loop(self) -> None:
        seq, held = 0, None
        while not self._stop.is_set():
            got = self._frames.wait_newer(seq, timeout=0.1)
            changed = self._apply_pending()
            fresh = False
            if got is not None:
                seq = got[0]
                # While paused the output stays on the frame it was paused on.
                if not self._paused or held is None:
                    held, fresh = got[1], True
            if held is None or not ((fresh and not self._paused) or changed):
                continue
            result = self._process(held)
            if result is not None:
                self._publish(result)

    def _apply_pending(self) -> bool:
        with self._lock:
            pending, self._pending = self._pending, {}
        for key, value in pending.items():
            if key == "style":
                target, fade = value
                current = self.pipeline.style
                keep = fade and current is not None and self.fade_s > 0
                self._fade_from = current.to("cpu") if keep and current is not None else None
                self._fade_t0 = time.perf_counter()
                self._target, self._style_dirty = target, True
            elif key in ("alpha", "preserve_color"):
                setattr(self.pipeline, key, value)
            elif key == "size":
                self.size = value
            elif key == "paused":
                self._paused = value
            elif key == "mirror":
                self._mirror = value
            elif key == "stabilize":
                if self._stabilizer is not None:
                    self._stabilizer.close()
                self._stabilizer = Stabilizer(self.pipeline, value) if value.mode != "off" else None
        fading = self._update_style()
        return bool(pending) or fading

    def _update_style(self) -> bool:
        """Install the style for this frame (mid-fade: interpolated statistics); True if it changed."""
        if self._target is None or not self._style_dirty:
            return False
        start = self._fade_from
        t = 1.0 if start is None else (time.perf_counter() - self._fade_t0) / self.fade_s
        if start is None or t >= 1.0:
            self.pipeline.set_style(self._target)
            self._fade_from, self._style_dirty = None, False
            return True
        self.pipeline.set_style([start, self._target], [1.0 - t, t])
        return True

    def _process(self, cap: _Captured) -> LiveResult | None:
        image = np.ascontiguousarray(cap.image[:, ::-1]) if self._mirror else cap.image
        if self.pipeline.style is None:
            return LiveResult(image, image, cap.index, cap.timestamp, cap.captured_at, 0.0, self.size)
        # A size above the source's own would only upscale (slower, no detail gained): run it natively.
        self.pipeline.size = 0 if self.size <= 0 or self.size >= min(image.shape[:2]) else self.size
        if self._stabilizer is not None and self._paused:
            self._stabilizer.reset()  # a re-render of the held frame must not blend with its previous look
        try:
            out = (self._stabilizer or self.pipeline)(image)
        except Exception as exc:  # noqa: BLE001 - OOM falls back; anything else is reported once
            self._handle_failure(exc, min(image.shape[:2]))
            return None
        return LiveResult(out, image, cap.index, cap.timestamp, cap.captured_at, self.pipeline.last_ms or 0.0,
                          self.size)

    def _handle_failure(self, exc: Exception, short_side: int) -> None:
        if as_memory_error(exc, self.pipeline.device) is not None:
            if self.pipeline.device.type == "cuda":
                torch.cuda.empty_cache()
            smaller = lower_size(self.size, short_side)
            if smaller is not None:
                self.size = smaller
                self._on_size(smaller)
                self._on_error(f"out of memory on {self.pipeline.device} at this resolution; "
                               f"lowered the processing size to {smaller}p")
                return
        # The frame is skipped and the loop goes on; a repeated failure is reported once every few seconds.
        message = _one_line(exc, "stylizing failed")
        now = time.perf_counter()
        if message != self._last_failure[0] or now - self._last_failure[1] > 5.0:
            self._last_failure = (message, now)
            log.debug("frame failed", exc_info=exc)
            self._on_error(message)

    def _publish(self, result: LiveResult) -> None:
        self._results.put(result)
        self.fps_meter.tick()
        job = self._recording
        if job is not None:
            job.offer(result)
        for sink in list(self._sinks):
            sink(result)
        self._on_result(result)


def _one_line(exc: BaseException, what: str) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if isinstance(exc, UserError) else f"{what}: {text}"
