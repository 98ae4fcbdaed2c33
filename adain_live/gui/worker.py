"""The engine side of the app: a ``QObject`` living in its own ``QThread`` that wraps the live runner.

Slow calls (loading the model, opening a camera or file, finishing a recording, writing a snapshot) run in
this thread; frames are produced by the runner's own threads. The widgets only emit requests and receive
signals; the few plain methods (:meth:`latest`, :meth:`meters`, :meth:`mark_displayed`) are thread-safe reads.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from PyQt6.QtCore import QObject, pyqtSignal, pyqtSlot

from adain_live import weights
from adain_live.engine.config import RuntimeConfig
from adain_live.engine.live import virtualcam
from adain_live.engine.live.io import CameraMode, SourceSpec, open_live_source
from adain_live.engine.live.recording import RecordOptions
from adain_live.engine.live.runner import LiveResult, LiveRunner
from adain_live.engine.session import device_choices, open_session
from adain_live.errors import UserError
from adain_live.gallery import StyleGallery
from adain_live.gui.options import AppOptions, size_label

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Engine:
    """What the style worker needs once the model is loaded."""

    runner: LiveRunner
    gallery: StyleGallery
    description: str
    size: int
    on_cpu: bool


class EngineWorker(QObject):
    """Owns the pipeline and the :class:`LiveRunner`; every slot runs in the worker thread."""

    # The model is loaded and the runner started (carries an Engine).
    ready = pyqtSignal(object)
    # The newest stylized frame (a LiveResult); sent again only after the view took the previous one.
    frameReady = pyqtSignal(object)
    # A one-line error for the status bar; the app keeps running.
    error = pyqtSignal(str)
    # The engine could not start (no model, no device): the one-line reason; there is no engine.
    setupFailed = pyqtSignal(str)
    # A one-line information message for the status bar.
    status = pyqtSignal(str)
    # A source is open: its spec, a short label and whether it is a video file.
    sourceOpened = pyqtSignal(str, str, bool)
    # A source could not be opened: the spec and the one-line reason.
    sourceFailed = pyqtSignal(str, str)
    # The processing size changed on its own (out of memory): the new size.
    sizeLowered = pyqtSignal(int)
    # Recording started (True, path) or stopped (False, path of the finished file).
    recordingChanged = pyqtSignal(bool, str)
    # A snapshot PNG was written: its path.
    snapshotSaved = pyqtSignal(str)
    # What can be picked: models as (name, label, tooltip, available), device names ("auto", "cpu", …), and
    # the model and device in use.
    choicesFound = pyqtSignal(list, list, str, str)
    # Virtual camera: available or not, and why (tooltip text).
    virtualCamProbed = pyqtSignal(bool, str)

    def __init__(self, options: AppOptions) -> None:
        super().__init__()
        self.options = options
        self.runner: LiveRunner | None = None
        self._region = "everything"
        self._frame_taken = threading.Event()
        self._frame_taken.set()
        self._vcam: virtualcam.VirtualCamSink | None = None
        # setup() (engine thread) and shutdown() (GUI thread) may overlap when the window closes while the
        # model loads: whichever comes second sees the other's result, so no runner thread outlives the app.
        self._lifecycle = threading.Lock()
        self._closing = False

    # --- thread-safe reads (any thread) -----------------------------------------------------------------
    def latest(self) -> LiveResult | None:
        """Return the newest result, or None."""
        return None if self.runner is None else self.runner.latest()

    def take_frame(self) -> LiveResult | None:
        """Return the newest result and allow the next ``frameReady``."""
        self._frame_taken.set()
        return self.latest()

    def mark_displayed(self, result: LiveResult) -> None:
        """Record the capture→display latency of a painted result."""
        if self.runner is not None:
            self.runner.mark_displayed(result)

    def meters(self) -> tuple[float, float | None, float]:
        """Return (frames per second, capture→display latency ms, last inference ms)."""
        r = self.runner
        if r is None:
            return 0.0, None, 0.0
        latest = r.latest()
        return r.fps_meter.rate(), r.latency_meter.value, latest.infer_ms if latest else 0.0

    def recording_elapsed(self) -> float | None:
        """Return the seconds recorded so far (-1 while waiting for the first frame), or None when not recording."""
        job = None if self.runner is None else self.runner.recording
        return None if job is None else -1.0 if job.waiting else job.elapsed

    def recording_failed(self) -> bool:
        """Return True when the active recording stopped on an error (it still needs ``stopRecording``)."""
        job = None if self.runner is None else self.runner.recording
        return job is not None and job.error is not None

    # --- slots -------------------------------------------------------------------------------------------
    @pyqtSlot()
    def setup(self) -> None:
        """Load the model, build the pipeline, gallery and runner, then emit ``ready``."""
        o = self.options
        try:
            session = open_session(RuntimeConfig(model=o.model, vgg=o.vgg, decoder=o.decoder, device=o.device,
                                                 precision=o.precision, size=o.size, output_size="processing",
                                                 live=True), model_factory=o.model_factory)
        except (UserError, ValueError) as exc:
            self.setupFailed.emit(f"cannot start: {exc}")
            return
        pipe, rt, size = session.pipeline, session.runtime, session.size
        with self._lifecycle:
            if self._closing:
                session.close()
                return
            self.runner = LiveRunner(pipe, on_result=self._on_result, on_error=self.error.emit,
                                     on_status=self.status.emit, on_size=self.sizeLowered.emit).start()
            self.runner.set_region(self._region)
        cache = o.stats_cache if o.stats_cache is not None else weights.cache_dir() / "stats"
        gallery = StyleGallery(lambda rgb: session.style_code(rgb, o.style_size), rt.identity, cache, o.style_size)
        self.ready.emit(Engine(self.runner, gallery, rt.description, size, rt.on_cpu))
        if rt.on_cpu and o.size is None:
            self.status.emit(f"running on the CPU: processing at {size_label(size)} to keep it live; "
                             "a GPU allows 720p and more")
        if rt.gpu_hint:  # a CPU-only torch next to an NVIDIA GPU (PyPI's torch on Windows): say how to use the GPU
            self.status.emit(rt.gpu_hint)
        self._choices()
        ok, why = virtualcam.probe()
        self.virtualCamProbed.emit(ok, why)

    @pyqtSlot(str, str)
    def switchModel(self, model: str, device: str) -> None:  # noqa: N802
        """Rebuild with another model ("" = the default) and device; ``ready`` follows.

        The window then reopens its source and re-adds its gallery. An active recording is finished first.
        """
        with self._lifecycle:
            runner, self.runner = self.runner, None
        if runner is not None:
            if self._vcam is not None:
                runner.remove_sink(self._vcam)
                self._vcam.close()
                self._vcam = None
            if runner.recording is not None:
                path = runner.stop_recording()
                self.recordingChanged.emit(False, str(path) if path else "")
            runner.stop()
            runner.pipeline.close()
        self.options = replace(self.options, model=model or None, device=device or "auto",
                               vgg=None if model else self.options.vgg, decoder=None if model else self.options.decoder)
        self.setup()

    def _choices(self) -> None:
        devices = device_choices()
        o = self.options
        try:
            current = o.model or ("" if o.model_factory or o.vgg else weights.default_set().name)
        except UserError:
            current = ""
        self.choicesFound.emit(model_choices(), devices, current, o.device)

    def _on_result(self, result: LiveResult) -> None:
        # Called from the inference thread: emit only when the view took the previous frame (no pile-up).
        if self._frame_taken.is_set():
            self._frame_taken.clear()
            self.frameReady.emit(result)

    @pyqtSlot(str)
    def openSource(self, spec: str) -> None:  # noqa: N802 - Qt slot naming
        """Open a camera index or a video file and stream from it."""
        with self._lifecycle:
            runner = None if self._closing else self.runner
        if runner is None:
            return
        try:
            parsed = SourceSpec.parse(spec)
            source = open_live_source(parsed, CameraMode(*self.options.camera_size, self.options.camera_fps))
        except (UserError, ValueError, OSError) as exc:
            self.sourceFailed.emit(spec, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            return
        runner.set_source(source, audio_from=parsed.path)
        with self._lifecycle:
            closing = self._closing
        if closing:  # the window closed while the source opened: shutdown() may have stopped the runner before
            runner.stop()  # set_source started its capture thread, so stop it again (idempotent)
            return
        self.sourceOpened.emit(spec, parsed.label(), parsed.is_file)

    @pyqtSlot(float)
    def setAlpha(self, alpha: float) -> None:  # noqa: N802
        """Set α."""
        if self.runner is not None:
            self.runner.set_alpha(min(1.0, max(0.0, alpha)))

    @pyqtSlot(bool)
    def setPreserveColor(self, on: bool) -> None:  # noqa: N802
        """Toggle colour preservation."""
        if self.runner is not None:
            self.runner.set_preserve_color(on)

    @pyqtSlot(bool)
    def setPaused(self, on: bool) -> None:  # noqa: N802
        """Pause or resume."""
        if self.runner is not None:
            self.runner.set_paused(on)

    @pyqtSlot(bool)
    def setMirror(self, on: bool) -> None:  # noqa: N802
        """Mirror the frames."""
        if self.runner is not None:
            self.runner.set_mirror(on)

    @pyqtSlot(str)
    def setRegion(self, region: str) -> None:  # noqa: N802
        """What gets the style: "everything", "person", "background" or "person+background" (kept for new runners)."""
        self._region = region
        if self.runner is not None:
            try:
                self.runner.set_region(region)
            except ValueError as exc:
                self.error.emit(str(exc))

    @pyqtSlot(str)
    def setSmoothing(self, mode: str) -> None:  # noqa: N802
        """Temporal smoothing: "off", "stats" or "flow"."""
        if self.runner is not None:
            try:
                self.runner.set_stabilize(mode)
            except ValueError as exc:
                self.error.emit(str(exc))

    @pyqtSlot(int)
    def setSize(self, size: int) -> None:  # noqa: N802
        """Set the processing size (0 = native)."""
        if self.runner is not None:
            self.runner.set_size(size)

    @pyqtSlot(str, str)
    def snapshot(self, path: str, size: str = "source") -> None:
        """Save the current stylized frame as a PNG (``size``: "source" or "processing")."""
        if self.runner is None:
            return
        try:
            self.snapshotSaved.emit(str(self.runner.snapshot(Path(path), size)))
        except UserError as exc:
            self.error.emit(str(exc))

    @pyqtSlot(str, str, bool)
    def startRecording(self, path: str, size: str = "source", constant_rate: bool = True) -> None:  # noqa: N802
        """Start recording the stylized stream to an MP4."""
        if self.runner is None:
            self.error.emit("cannot record yet: the model is still loading")
            self.recordingChanged.emit(False, "")
            return
        try:
            options = RecordOptions(size=size, constant_rate=constant_rate)
            self.recordingChanged.emit(True, str(self.runner.start_recording(Path(path), options)))
        except (UserError, ValueError) as exc:
            self.error.emit(str(exc))
            self.recordingChanged.emit(False, "")

    @pyqtSlot()
    def stopRecording(self) -> None:  # noqa: N802
        """Finish the recording; ``recordingChanged(False, path)`` carries "" when nothing was written."""
        if self.runner is not None:
            path = self.runner.stop_recording()  # a recording without frames reports why through ``error``
            self.recordingChanged.emit(False, str(path) if path else "")

    @pyqtSlot(bool)
    def setVirtualCam(self, on: bool) -> None:  # noqa: N802
        """Send the output to a virtual camera (when one can be opened)."""
        if self.runner is None:
            return
        if self._vcam is not None:
            self.runner.remove_sink(self._vcam)
            self._vcam.close()
            self._vcam = None
        if on:
            try:
                self._vcam = virtualcam.VirtualCamSink(1280, 720)
                self.runner.add_sink(self._vcam)
            except Exception as exc:  # noqa: BLE001 - optional device, report and go on
                self.error.emit(f"cannot open the virtual camera: {exc}")

    def shutdown(self) -> None:
        """Stop every engine thread and finish an active recording (safe from any thread, idempotent)."""
        with self._lifecycle:
            self._closing = True
            runner = self.runner
        if runner is None:
            return
        if self._vcam is not None:
            runner.remove_sink(self._vcam)
            self._vcam.close()
            self._vcam = None
        runner.stop()
        runner.pipeline.close()  # its background compile thread and CUDA graphs


def model_choices() -> list[tuple[str, str, str, bool]]:
    """The registry's models as (name, label, tooltip with the description and measured figures, available)."""
    manifest = getattr(weights, "manifest", None)  # per-model manifests with measured figures, where bundled
    out = []
    for name, ws in weights.REGISTRY.items():
        available = weights.is_available(ws)
        facts = manifest(ws) if manifest is not None else (weights.student_manifest() if ws.bundled else None)
        measured = (facts or {}).get("measured") if isinstance(facts, dict) else None
        lines = [ws.description, f"licence: {ws.licence}"]
        if isinstance(measured, dict):
            lines += [f"{k}: {v}" for k, v in measured.items()]
        elif isinstance(facts, dict) and "validation_psnr_db" in facts:
            lines.append(f"validation PSNR vs its teacher: {facts['validation_psnr_db']} dB")
        if not available:
            lines.append(f"not installed: adain-live weights download {name}")
        out.append((name, name if available else f"{name} (not installed)", "\n".join(lines), available))
    return out
