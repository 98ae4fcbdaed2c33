"""Where live results go: the newest-result slot (display, snapshot), the recording, and added sinks.

Every sink is called from the inference thread and must return at once; the recording and the virtual camera
queue frames for their own threads (``recording``, ``virtualcam``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

from adain_live.engine.live.io import write_png
from adain_live.engine.live.meter import LatestSlot, RateMeter
from adain_live.engine.live.recording import RecorderFactory, RecordingJob, RecordOptions, fit_frame, frame_size
from adain_live.engine.live.types import FrameSink, LiveResult
from adain_live.errors import UserError


class SinkSet:
    """Fan a result out to the newest-result slot, the active recording, added sinks and ``on_result``."""

    def __init__(self, recorder_factory: RecorderFactory, on_result: Callable[[LiveResult], None],
                 on_error: Callable[[str], None]) -> None:
        self.recorder_factory, self._on_result, self._on_error = recorder_factory, on_result, on_error
        self._lock = threading.Lock()
        self._results: LatestSlot[LiveResult] = LatestSlot()
        self._sinks: list[FrameSink] = []
        self._recording: RecordingJob | None = None
        self.fps_meter = RateMeter()

    def publish(self, result: LiveResult) -> None:
        """Hand ``result`` to everything (inference thread)."""
        self._results.put(result)
        self.fps_meter.tick()
        job = self._recording
        if job is not None:
            job.offer(result)
        for sink in list(self._sinks):
            sink(result)
        self._on_result(result)

    def latest(self) -> LiveResult | None:
        """The newest result (None before the first one)."""
        return self._results.peek()

    def add(self, sink: FrameSink) -> None:
        """Call ``sink(result)`` for every new result."""
        self._sinks.append(sink)

    def remove(self, sink: FrameSink) -> None:
        """Stop calling ``sink``."""
        if sink in self._sinks:
            self._sinks.remove(sink)

    def snapshot(self, path: str | Path, size: str = "source") -> Path:
        """Save the newest stylized frame as a PNG and return its path.

        ``size`` as for recordings (``"source"`` or ``"processing"``), so a snapshot matches a recording.
        """
        result = self.latest()
        if result is None:
            raise UserError("no stylized frame yet; wait for the video to start, then take the snapshot")
        return write_png(Path(path), fit_frame(result.image, frame_size(result, size)))

    def start_recording(self, path: str | Path, fps: Fraction, options: RecordOptions | None = None,
                        audio_from: Path | None = None, audio_duration: float | None = None) -> Path:
        """Record the stylized stream to an MP4 (with ``audio_from``'s audio when given)."""
        with self._lock:
            if self._recording is not None:
                raise UserError(f"already recording to {self._recording.path}; stop that recording first")
            job = RecordingJob(Path(path), self.recorder_factory, fps=fps, options=options, audio_from=audio_from,
                               audio_duration=audio_duration, on_error=self._on_error)
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
