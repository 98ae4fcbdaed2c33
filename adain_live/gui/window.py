"""The main window: wires the view, the gallery dock and the control bars to the engine workers."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PyQt6.QtCore import QSettings, Qt, QThread, QTimer, pyqtSignal
from PyQt6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PyQt6.QtWidgets import QLabel, QMainWindow, QPushButton, QStatusBar

from adain_live.engine.live.io import list_cameras
from adain_live.gui.controls import ControlBar, recording_label
from adain_live.gui.gallery_dock import GalleryDock, style_name
from adain_live.gui.options import AppOptions
from adain_live.gui.presets import PresetBar, Presets, PresetStore
from adain_live.gui.recording import OutputFiles
from adain_live.gui.region_control import install_region_control
from adain_live.gui.settings import Settings
from adain_live.gui.style_worker import StyleWorker
from adain_live.gui.view import LiveView
from adain_live.gui.worker import Engine, EngineWorker

log = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """The app window. ``options`` come from the command line; ``settings`` persist between runs."""

    # Ask the engine worker to open a source (camera index or file path).
    requestSource = pyqtSignal(str)
    # Ask the style worker to use a style: primary path, secondary path ("" = none), mix weight.
    requestStyle = pyqtSignal(str, str, float)
    # Ask the style worker to add style files/folders.
    requestAddStyles = pyqtSignal(list)

    def __init__(self, options: AppOptions, settings: QSettings | None = None) -> None:
        super().__init__()
        self.options = options
        self.settings = Settings(settings or QSettings("adain-live", "adain-live"))
        self.setWindowTitle("adain-live")
        self.view = LiveView()
        self.setCentralWidget(self.view)
        self.controls = ControlBar(self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.controls)
        self.addToolBar(Qt.ToolBarArea.BottomToolBarArea, self.controls.output)
        self.gallery = GalleryDock(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.gallery)
        self.preset_bar = PresetBar()
        self.gallery.body_layout.addWidget(self.preset_bar)
        self.presets = Presets(PresetStore(self.settings), self.preset_bar, self)
        self.setStatusBar(QStatusBar())
        self.open_button = QPushButton("Open video file…")
        self.open_button.clicked.connect(self.controls.ask_video_file)
        self.open_button.hide()
        self.statusBar().addPermanentWidget(self.open_button)
        self.cpu_note = QLabel()
        self.cpu_note.hide()
        self.statusBar().addPermanentWidget(self.cpu_note)
        self.files = OutputFiles(self.settings, self.controls.record, self.statusBar(), self)
        self.engine: Engine | None = None
        self._error_shown = -1e9
        self._record_at_launch = options.record
        self._source_spec = ""
        self._make_workers()
        self._connect()
        install_region_control(self)
        self._shortcuts()
        for t in self.threads:  # only now: a signal sent before _connect() would be lost
            t.start()
        self._meter_timer = QTimer(self)
        self._meter_timer.timeout.connect(self._update_overlay)
        self._meter_timer.start(250)
        self.settings.restore_window(self)

    # --- workers -----------------------------------------------------------------------------------------
    def _make_workers(self) -> None:
        self.worker = EngineWorker(self.options)
        self.styles = StyleWorker()
        self.threads: list[QThread] = []
        for obj, name in ((self.worker, "adain-engine"), (self.styles, "adain-styles")):
            thread = QThread(self)
            thread.setObjectName(name)
            obj.moveToThread(thread)
            self.threads.append(thread)
        self.threads[0].started.connect(self.worker.setup)

    def _connect(self) -> None:
        w, s, c, g, f = self.worker, self.styles, self.controls, self.gallery, self.files
        w.ready.connect(s.attach)
        w.ready.connect(self._engine_ready)
        w.frameReady.connect(self._frame_ready)
        w.error.connect(self.show_error)
        w.setupFailed.connect(self._setup_failed)
        w.status.connect(self.show_status)
        w.sourceOpened.connect(self._source_opened)
        w.sourceFailed.connect(self._source_failed)
        w.sizeLowered.connect(self._size_lowered)
        w.recordingChanged.connect(self._recording_changed)
        w.snapshotSaved.connect(self._snapshot_saved)
        w.virtualCamProbed.connect(c.show_virtual_camera)
        w.choicesFound.connect(c.set_models)
        c.modelChosen.connect(w.switchModel)
        self.requestSource.connect(w.openSource)
        f.requestSnapshot.connect(w.snapshot)
        f.requestRecord.connect(w.startRecording)
        f.requestStop.connect(w.stopRecording)
        c.sourceChosen.connect(self.open_source)
        c.sizeChosen.connect(w.setSize)
        c.sizeChosen.connect(self._size_chosen)
        c.alphaChanged.connect(w.setAlpha)
        c.alphaChanged.connect(lambda v: self.settings.set("alpha", v))
        c.preserveColorToggled.connect(w.setPreserveColor)
        c.preserveColorToggled.connect(lambda v: self.settings.set("preserve_color", v))
        c.pausedToggled.connect(w.setPaused)
        c.pausedToggled.connect(self._paused)
        c.smoothingChosen.connect(w.setSmoothing)
        c.smoothingChosen.connect(lambda v: self.settings.set("smoothing", v))
        c.mirrorToggled.connect(w.setMirror)
        c.mirrorToggled.connect(lambda v: self.settings.set("mirror", v))
        c.sideBySideToggled.connect(lambda on: self._view_mode("side_by_side", on))
        c.compareToggled.connect(lambda on: self._view_mode("compare", on))
        c.snapshotRequested.connect(self.snapshot)
        c.recordToggled.connect(self._record_toggled)
        c.virtualCamToggled.connect(w.setVirtualCam)
        self.view.painted.connect(self._painted)
        self.view.doubleClicked.connect(self.toggle_fullscreen)
        self.requestStyle.connect(s.select)
        self.requestAddStyles.connect(s.addStyles)
        s.thumbnailReady.connect(g.add_style)
        s.styleBroken.connect(g.add_broken)
        s.stylesAdded.connect(self._styles_added)
        s.styleApplied.connect(self._style_applied)
        s.styleFailed.connect(self._style_failed)
        g.styleClicked.connect(self._style_clicked)
        g.addRequested.connect(self.add_styles)
        g.mixChanged.connect(s.setMix)
        g.styleRemoved.connect(s.removeStyle)
        g.orderChanged.connect(self.settings.set_style_paths)

    def _shortcuts(self) -> None:
        for n in range(1, 10):
            QShortcut(QKeySequence(str(n)), self, lambda n=n: self.select_index(n - 1))
            QShortcut(QKeySequence(f"Shift+{n}"), self, lambda n=n: self.select_index(n + 8))
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.controls.pause.toggle)
        QShortcut(QKeySequence(Qt.Key.Key_F11), self, self.toggle_fullscreen)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, lambda: self.isFullScreen() and self.toggle_fullscreen())

    # --- engine events -----------------------------------------------------------------------------------
    def _engine_ready(self, engine: Engine) -> None:
        again, self.engine = self.engine is not None, engine
        self.controls.device.setText(f"  {engine.description}  ")
        if again:  # another model or device: the same source, gallery and look
            self._reattach()
            return
        if engine.on_cpu and self.options.size is None:
            note = (f"CPU: processing at {engine.size}p to stay live (a GPU allows native resolution); "
                    "choose another size under Resolution")
            self.controls.device.setToolTip(note)
            self.cpu_note.setText(f"CPU · {engine.size}p for speed")
            self.cpu_note.setToolTip(note)
            self.cpu_note.show()
        self.controls.show_size(engine.size)
        self._restore_controls()
        styles = [str(p) for p in self.options.styles] or self.settings.style_paths()
        self.add_styles(styles or self.settings.default_styles())
        self._open_initial_source()

    def _reattach(self) -> None:
        c = self.controls
        c.sizeChosen.emit(int(c.size.currentData()))
        c.alphaChanged.emit(c.alpha.value() / 100.0)
        for signal, box in ((c.preserveColorToggled, c.color), (c.mirrorToggled, c.mirror)):
            signal.emit(box.isChecked())
        c.smoothingChosen.emit(str(c.smooth.currentData()))
        self.add_styles(self.gallery.paths())
        if self.gallery.primary:
            self.select_style(self.gallery.primary, self.gallery.secondary)
        self.open_source(self._source_spec or self.settings.get("source", "0", str))
        self.show_status(f"now running on {self.engine.description if self.engine else '?'}")

    def _restore_controls(self) -> None:
        saved_size = self.settings.get("size", None, int)
        if self.options.size is None and saved_size is not None:
            self.controls.show_size(saved_size)
            self.controls.sizeChosen.emit(saved_size)
        c = self.controls
        c.alpha.setValue(round(100 * self.settings.get("alpha", 1.0, float)))
        c.color.setChecked(self.settings.get("preserve_color", False, bool))
        c.mirror.setChecked(self.settings.get("mirror", False, bool))
        c.side_by_side.setChecked(self.settings.get("side_by_side", False, bool))
        c.compare.setChecked(self.settings.get("compare", False, bool))
        self.set_smoothing(self.settings.get("smoothing", "off", str))

    def set_smoothing(self, mode: str) -> None:
        """Use temporal smoothing ``mode`` ("off", "stats", "flow") and show it."""
        self.controls.show_smoothing(mode)
        self.controls.smoothingChosen.emit(self.controls.smooth.currentData())

    def _open_initial_source(self) -> None:
        cameras = list_cameras()
        self.controls.set_sources(cameras, self.settings.recent_files())
        spec = self.options.source or self.settings.get("source", None, str) or "0"
        self.view.clear(f"Opening {'camera ' + spec if spec.isdigit() else Path(spec).name}…")
        self.open_source(spec)

    def open_source(self, spec: str) -> None:
        """Switch the live source to a camera index or a video file."""
        self.requestSource.emit(spec)

    def _source_opened(self, spec: str, label: str, is_file: bool) -> None:
        self._source_spec = spec
        self.open_button.hide()
        self.settings.remember_source(spec)
        self.controls.show_source(spec)
        self.show_status(f"playing {label}" + (" (looping)" if is_file else ""))
        if self._record_at_launch is not None:  # --record FILE: record from the first frame on
            path, self._record_at_launch = self._record_at_launch, None
            self.start_recording(str(path))

    def _source_failed(self, spec: str, reason: str) -> None:
        self.show_error(reason)
        self.controls.show_no_source()
        if spec.isdigit():
            self.view.clear(f"No camera could be opened ({reason}).\nOpen a video file to use it as a live source.")
        else:
            self.view.clear(f"{reason}\nChoose another source above, or open a video file.")
        self.open_button.show()

    def _frame_ready(self, _result: object) -> None:
        result = self.worker.take_frame()
        if result is not None:
            self.view.show_result(result)

    def _painted(self, result: object) -> None:
        if not self.view.paused:  # a paused frame is old on purpose: it says nothing about latency
            self.worker.mark_displayed(result)  # type: ignore[arg-type]

    def _size_lowered(self, size: int) -> None:
        self.controls.show_size(size)
        self.cpu_note.hide()

    def _size_chosen(self, size: int) -> None:
        self.settings.set("size", size)
        if self.engine is not None and size != self.engine.size:
            self.cpu_note.hide()  # it named the start-up size, which no longer holds

    def _update_overlay(self) -> None:
        fps, latency, _infer = self.worker.meters()
        result = self.worker.latest()
        if self.engine is not None and self.view.frames_shown and result is not None:
            h, w = result.image.shape[:2]
            if self.view.paused:
                self.view.overlay = f"paused · {w}×{h}"
            else:
                lat = "–" if latency is None else f"{latency:.0f} ms"
                path = f" · {result.path}" if result.path else ""  # the fast path in use (or eager, and why)
                self.view.overlay = f"{fps:4.1f} fps · latency {lat} · {w}×{h}{path}"
        elapsed = self.worker.recording_elapsed()
        if self.worker.recording_failed():
            self.stop_recording()
        elif elapsed is not None:
            self.controls.show_recording(True, elapsed)
            self.view.recording = recording_label(elapsed)
        self.view.update()

    # --- styles ------------------------------------------------------------------------------------------
    def add_styles(self, paths: list[str]) -> None:
        """Add style images/folders to the gallery (thumbnails and statistics come from the style worker)."""
        self.requestAddStyles.emit([str(p) for p in paths])

    def _styles_added(self, paths: list[str], problems: list[str]) -> None:
        for p in problems:
            self.show_error(p)
        self.settings.set_style_paths(self.gallery.paths())
        if paths and not problems:
            self.show_status(f"added {len(paths)} style{'s' if len(paths) > 1 else ''}: "
                             + ", ".join(style_name(p) for p in paths[:4]) + (" …" if len(paths) > 4 else ""))
        usable = [p for i, p in enumerate(self.gallery.paths()) if self.gallery.path_at(i) is not None]
        if usable and not self.gallery.primary:
            saved = self.settings.get("style", None, str)
            self.select_style(saved if saved in usable else usable[0])

    def select_index(self, index: int) -> None:
        """Use the ``index``-th gallery style (keys 1–9, Shift+1…9 for 10–18)."""
        path = self.gallery.path_at(index)
        if path is not None:
            self.select_style(path)

    def select_style(self, path: str, secondary: str = "") -> None:
        """Switch to ``path`` (mixed with ``secondary`` when given); the switch cross-fades."""
        self.gallery.mark(path, secondary)
        self.requestStyle.emit(path, secondary, self.gallery.mix.value() / 100.0)

    def _style_clicked(self, path: str, modifier: bool) -> None:
        if modifier and self.gallery.primary and path != self.gallery.primary:
            self.select_style(self.gallery.primary, path)
        else:
            self.select_style(path)

    def _style_applied(self, primary: str, secondary: str) -> None:
        self.settings.set("style", primary)
        names = style_name(primary) + (f" + {style_name(secondary)}" if secondary else "")
        self.show_status(f"style: {names}")

    def _style_failed(self, path: str, reason: str) -> None:
        self.gallery.mark_failed(path, reason)
        self.show_error(reason)

    # --- view, recording and snapshots -------------------------------------------------------------------
    def _view_mode(self, key: str, on: bool) -> None:
        setattr(self.view, key, on)
        self.settings.set(key, on)
        self.view.update()

    def _paused(self, on: bool) -> None:
        self.view.paused = on
        self.view.update()

    def toggle_fullscreen(self) -> None:
        """Show only the live view, full screen (F11, double-click); F11, double-click or Esc leave it."""
        full = not self.isFullScreen()
        for bar in (self.controls, self.controls.output, self.gallery, self.statusBar()):
            bar.setVisible(not full)
        self.showFullScreen() if full else self.showNormal()

    def snapshot(self, path: str | None = None) -> None:
        """Save the current stylized frame as a PNG (default: the snapshots folder, timestamped)."""
        self.files.snapshot(path)

    def start_recording(self, path: str | None = None) -> None:
        """Record to ``path`` (default: the recordings folder, timestamped)."""
        self.files.record(path)

    def stop_recording(self) -> None:
        """Stop recording (the file is finished in the engine thread)."""
        self.files.requestStop.emit()

    def _record_toggled(self, on: bool) -> None:
        self.start_recording() if on else self.stop_recording()

    def _recording_changed(self, on: bool, path: str) -> None:
        self.controls.show_recording(on, -1.0)
        self.view.recording = recording_label(-1.0) if on else ""
        if on:
            self.show_status(f"recording to {path}")
        elif path:
            self.files.saved(path)
            self.show_status(f"recording saved: {path}", 20000)

    def _snapshot_saved(self, path: str) -> None:
        self.files.saved(path)
        self.show_status(f"snapshot saved: {path}")

    # --- messages and shutdown ---------------------------------------------------------------------------
    def show_error(self, message: str) -> None:
        """Show a one-line error in the status bar (the app keeps running)."""
        log.warning("%s", message)
        self._error_shown = time.monotonic()
        self.statusBar().setStyleSheet("QStatusBar { color: #b00020 }")  # the message only, not the notes
        self.statusBar().showMessage(message, 15000)

    def _setup_failed(self, message: str) -> None:
        self.show_error(message)
        self.view.clear(message)
        self.controls.device.setText("  no model  ")

    def show_status(self, message: str, timeout_ms: int = 8000) -> None:
        """Show a one-line information message in the status bar (a recent error stays visible)."""
        if time.monotonic() - self._error_shown < 6.0:
            log.info("%s", message)
            return
        self.statusBar().setStyleSheet("")
        self.statusBar().showMessage(message, timeout_ms)

    def closeEvent(self, event: QCloseEvent | None) -> None:  # noqa: N802 - Qt API
        """Stop every thread (finishing an active recording) and save the settings."""
        if self.isFullScreen():
            self.toggle_fullscreen()
        self.settings.save_window(self)
        self._meter_timer.stop()
        self.worker.shutdown()
        for t in self.threads:
            t.quit()
        for t in self.threads:
            # No deadline: the style thread may be inside one style's statistics (seconds on a busy CPU), and
            # a QThread destroyed while running aborts the whole process.
            if not t.wait(5000):
                log.info("waiting for the %s thread to finish its current step", t.objectName())
                t.wait()
        super().closeEvent(event)
