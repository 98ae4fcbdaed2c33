"""The live loop, without Qt: newest captured frame → inference → newest result.

:class:`LiveRunner` wires the parts of :mod:`adain_live.engine.live`, each with one job: a capture loop keeps
only the newest frame; an inference loop stylizes it with a frozen settings snapshot; a fader cross-fades
styles; a size governor lowers the processing size when the device runs out of memory; a sink set hands each
result to the display, the recording and added sinks (virtual camera). A consumer (the GUI) is notified
through ``on_result`` and reads :meth:`LiveRunner.latest`; nobody waits on anybody else.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

from adain_live.core.codes import StyleCode, mix_codes
from adain_live.engine.live.capture import CaptureLoop
from adain_live.engine.live.fader import StyleFader
from adain_live.engine.live.governor import SizeGovernor
from adain_live.engine.live.inference import InferenceLoop
from adain_live.engine.live.meter import LatestSlot, RateMeter
from adain_live.engine.live.recording import RecorderFactory, RecordingJob, RecordOptions, default_recorder_factory
from adain_live.engine.live.settings import LiveSettings, SettingsBox
from adain_live.engine.live.sinks import SinkSet
from adain_live.engine.live.types import Captured, FrameSink, FrameSource, LiveResult
from adain_live.engine.pipeline import StylePipeline
from adain_live.engine.temporal import StabilizeSettings

log = logging.getLogger(__name__)


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
        Duration of the style cross-fade when the style changes.
    """

    def __init__(self, pipeline: StylePipeline, *, on_result: Callable[[LiveResult], None] | None = None,
                 on_error: Callable[[str], None] | None = None,
                 on_status: Callable[[str], None] | None = None,
                 on_size: Callable[[int], None] | None = None, fade_s: float = 0.5,
                 recorder_factory: RecorderFactory = default_recorder_factory) -> None:
        self.pipeline = pipeline
        on_error = on_error or (lambda m: log.error("%s", m))
        frames: LatestSlot[Captured] = LatestSlot()
        self.settings = SettingsBox(LiveSettings(alpha=pipeline.alpha, preserve_color=pipeline.preserve_color,
                                                 size=int(pipeline.size)), on_change=frames.wake)
        self.fader = StyleFader(fade_s)
        self.sinks = SinkSet(recorder_factory, on_result or (lambda r: None), on_error)
        self.capture = CaptureLoop(frames, on_status or (lambda m: log.info("%s", m)), on_error)
        governor = SizeGovernor(pipeline.device, on_size or (lambda s: None), on_error)
        self.inference = InferenceLoop(pipeline, self.settings, self.fader, governor, frames, self.sinks.publish,
                                    on_error)
        self._wake = frames.wake
        self.fps_meter = self.sinks.fps_meter
        self.latency_meter = RateMeter()
        self.audio_from: Path | None = None

    # --- lifecycle -------------------------------------------------------------------------------------
    def start(self, source: FrameSource | None = None, audio_from: Path | None = None) -> LiveRunner:
        """Start the inference thread and, when given, capture from ``source``; returns self."""
        self.inference.start()
        if source is not None:
            self.set_source(source, audio_from)
        return self

    def set_source(self, source: FrameSource, audio_from: Path | None = None) -> None:
        """Stop capturing from the current source (closing it) and capture from ``source`` instead."""
        self.audio_from = audio_from
        self.capture.start(source)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every thread, finalise an active recording and close the source (idempotent)."""
        self.stop_recording()
        self.capture.stop(timeout)
        self.inference.stop(timeout)

    def threads(self) -> list[threading.Thread]:
        """Return the runner's threads that are still alive (for tests and diagnostics)."""
        job = self.sinks.recording
        ts = [self.capture.thread, self.inference.thread, job.thread if job else None]
        return [t for t in ts if t is not None and t.is_alive()]

    def __enter__(self) -> LiveRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- settings (any thread; the inference loop reads them as one snapshot per frame) ------------------
    def set_style(self, styles: StyleCode | Sequence[StyleCode], weights: Sequence[float] | None = None,
                  *, fade: bool = True) -> None:
        """Use one style or a weighted mix; with ``fade`` the style codes cross-fade over ``fade_s``."""
        seq = [styles] if isinstance(styles, StyleCode) else list(styles)
        self.fader.request(mix_codes([s.to("cpu") for s in seq], weights), fade)
        self._wake()

    def set_alpha(self, alpha: float) -> None:
        """Set the content–style trade-off in [0, 1] (ValueError outside)."""
        self.settings.update(alpha=alpha)

    def set_preserve_color(self, on: bool) -> None:
        """Keep (or stop keeping) the content's colours."""
        self.settings.update(preserve_color=on)

    def set_size(self, size: int) -> None:
        """Set the processing size of the short side (0 = native)."""
        self.settings.update(size=size)

    def set_paused(self, paused: bool) -> None:
        """Freeze the output on the current frame (settings changes still re-render it)."""
        self.settings.update(paused=paused)

    def set_mirror(self, on: bool) -> None:
        """Flip frames left–right before stylizing (a camera then behaves like a mirror)."""
        self.settings.update(mirror=on)

    def set_region(self, region: str, background: StyleCode | None = None) -> None:
        """Style everything, the person, the background, or both (``background``: the background's style).

        ``person+background`` without a background style styles the person only; ValueError for an unknown
        region.
        """
        if background is not None:
            self.inference.regions.background = background.to("cpu")
        self.settings.update(region=region)

    def set_region_background(self, background: StyleCode | None) -> None:
        """The background's style for ``person+background`` (None: only the person is styled)."""
        self.inference.regions.background = background.to("cpu") if background is not None else None
        self._wake()

    def set_stabilize(self, settings: StabilizeSettings | str) -> None:
        """Temporal stabilisation of the output: a mode (off, stats, flow) or full settings (engine.temporal)."""
        self.settings.update(stabilize=StabilizeSettings(mode=settings) if isinstance(settings, str) else settings)

    @property
    def fade_s(self) -> float:
        """Duration of the style cross-fade in seconds."""
        return self.fader.fade_s

    @fade_s.setter
    def fade_s(self, seconds: float) -> None:
        self.fader.fade_s = seconds

    @property
    def size(self) -> int:
        """Processing size asked for (short side, 0 = native); sources smaller than it run natively."""
        return self.settings.current.size

    @property
    def paused(self) -> bool:
        """Whether the output is frozen."""
        return self.settings.current.paused

    # --- outputs ---------------------------------------------------------------------------------------
    def add_sink(self, sink: FrameSink) -> None:
        """Call ``sink(result)`` for every new result, from the inference thread (keep it quick)."""
        self.sinks.add(sink)

    def remove_sink(self, sink: FrameSink) -> None:
        """Stop calling ``sink``."""
        self.sinks.remove(sink)

    def latest(self) -> LiveResult | None:
        """Return the newest result (None before the first one)."""
        return self.sinks.latest()

    def mark_displayed(self, result: LiveResult) -> None:
        """Record that ``result`` reached the screen now (capture→display latency)."""
        self.latency_meter.add_value((time.perf_counter() - result.captured_at) * 1000.0)

    def snapshot(self, path: str | Path, size: str = "source") -> Path:
        """Save the current stylized frame as a PNG and return its path.

        ``size`` as for recordings (``"source"`` or ``"processing"``), so a snapshot matches a recording.
        """
        return self.sinks.snapshot(path, size)

    def start_recording(self, path: str | Path, options: RecordOptions | None = None) -> Path:
        """Record the stylized stream to an MP4 (with the source file's audio when there is one).

        A constant-rate recording runs at the source's frame rate (30 when the source does not say).
        """
        source = self.capture.source
        info = getattr(source, "info", None)  # a FileSource knows its file's duration
        fps = Fraction(getattr(source, "fps", 0) or 30).limit_denominator(1001)
        return self.sinks.start_recording(path, fps, options, self.audio_from, getattr(info, "duration", None))

    def stop_recording(self) -> Path | None:
        """Finish the active recording (waiting for queued frames); return its path (None: none, or failed)."""
        return self.sinks.stop_recording()

    @property
    def recording(self) -> RecordingJob | None:
        """The active recording, if any."""
        return self.sinks.recording
