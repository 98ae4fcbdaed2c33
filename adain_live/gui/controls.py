"""The control bar: source, resolution, view toggles, α, colour, pause, snapshot, record, virtual camera."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import Qt, pyqtSignal
from PyQt6.QtWidgets import QCheckBox, QComboBox, QFileDialog, QLabel, QSlider, QToolBar, QToolButton, QWidget

from adain_live.gui.options import SIZES
from adain_live.gui.throttle import Throttler

OPEN_FILE = "__open_file__"
#: Temporal smoothing choices (label, engine mode).
SMOOTHING = (("Off", "off"), ("Steady", "stats"), ("Flow", "flow"))
#: Checked toggles must read as "on" at a glance (the default style marks them only faintly).
TOGGLE_STYLE = ("QToolButton:checked { background: #2f6fdf; color: white; border: 1px solid #1d4fa8; "
                "border-radius: 3px; }")
VIDEO_FILTER = "Videos (*.mp4 *.mov *.mkv *.avi *.webm *.m4v);;All files (*)"


class ControlBar(QToolBar):
    """All live controls in one tool bar; it only emits requests (the window forwards them to the engine)."""

    # A source was chosen: a camera index ("0") or a video file path.
    sourceChosen = pyqtSignal(str)
    # A processing size was chosen (short side; 0 = native).
    sizeChosen = pyqtSignal(int)
    # α changed (throttled to ~20 updates per second).
    alphaChanged = pyqtSignal(float)
    # Colour preservation switched on/off.
    preserveColorToggled = pyqtSignal(bool)
    # Pause switched on/off.
    pausedToggled = pyqtSignal(bool)
    # Mirror switched on/off.
    mirrorToggled = pyqtSignal(bool)
    # Side-by-side original/stylized switched on/off.
    sideBySideToggled = pyqtSignal(bool)
    # Compare (a wipe between original and stylized) switched on/off.
    compareToggled = pyqtSignal(bool)
    # A model and device were chosen: registry name ("" = default) and device ("auto", "cpu", "cuda", …).
    modelChosen = pyqtSignal(str, str)
    # Temporal smoothing chosen: "off", "stats" or "flow".
    smoothingChosen = pyqtSignal(str)
    # The user asked for a snapshot.
    snapshotRequested = pyqtSignal()
    # The user asked to start (True) or stop (False) recording.
    recordToggled = pyqtSignal(bool)
    # The user switched the virtual camera output on/off.
    virtualCamToggled = pyqtSignal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Controls", parent)
        self.setObjectName("controls")
        self.setMovable(False)
        self.setStyleSheet(TOGGLE_STYLE)
        self.source = QComboBox()
        self.source.setPlaceholderText("no source")
        self.source.setMinimumContentsLength(16)
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setToolTip("Camera or video file (a video file loops like a live source)")
        self.source.activated.connect(self._source_activated)
        self.size = QComboBox()
        self.size.setToolTip("Processing resolution (short side); lower is faster")
        for label, value in SIZES:
            self.size.addItem(label, value)
        self.size.activated.connect(lambda i: self.sizeChosen.emit(int(self.size.itemData(i))))
        self.device = QLabel("loading model…")
        self.device.setToolTip("Device and precision the network runs on")
        self.model = QComboBox()
        self.model.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.model.setToolTip("Model (hover an entry for what it is and its measured figures)")
        self.model.setEnabled(False)
        self.model.activated.connect(lambda _i: self._model_activated())
        self.device_choice = QComboBox()
        self.device_choice.setToolTip("Device the network runs on (auto: a GPU when there is one)")
        self.device_choice.setEnabled(False)
        self.device_choice.activated.connect(lambda _i: self._model_activated())
        self._add_labelled("Source", self.source)
        self._add_labelled("Resolution", self.size)
        self._add_labelled("Model", self.model)
        self.addWidget(self.device_choice)
        self.addWidget(self.device)
        self.addSeparator()
        self._build_style_controls()
        self._build_output_controls()
        self.output.addSeparator()
        self.mirror = self._toggle("Mirror", "Flip left–right (for cameras)", self.mirrorToggled, self.output)
        self.side_by_side = self._toggle("Side by side", "Show the original next to the stylized frame",
                                         self.sideBySideToggled, self.output)
        self.compare = self._toggle("Compare", "Wipe between the original (left) and the stylized frame (right); "
                                    "drag the divider in the view", self.compareToggled, self.output)
        self.side_by_side.toggled.connect(lambda on: on and self.compare.setChecked(False))
        self.compare.toggled.connect(lambda on: on and self.side_by_side.setChecked(False))
        self.output.addSeparator()  # the top bar is full at 1280 px: smoothing sits with the output controls
        self._add_labelled("Smooth", self.smooth, self.output)
        self._last_source = -1

    def _build_style_controls(self) -> None:
        self.alpha = QSlider(Qt.Orientation.Horizontal)
        self.alpha.setRange(0, 100)
        self.alpha.setValue(100)
        self.alpha.setFixedWidth(120)
        self.alpha.setToolTip("Content ↔ style (α)")
        self._alpha_throttle = Throttler(lambda v: self.alphaChanged.emit(v / 100.0), 50, self)
        self.alpha.valueChanged.connect(self._alpha_throttle)
        self.alpha_value = QLabel("1.00")
        self.alpha.valueChanged.connect(lambda v: self.alpha_value.setText(f"{v / 100:.2f}"))
        self._add_labelled("α", self.alpha)
        self.addWidget(self.alpha_value)
        self.color = QCheckBox("Keep colours")
        self.color.setToolTip("Preserve the content's colours (luminance-only style transfer)")
        self.color.toggled.connect(self.preserveColorToggled)
        self.addWidget(self.color)
        self.smooth = QComboBox()
        for label, value in SMOOTHING:
            self.smooth.addItem(label, value)
        # Figures from benchmarks/RESULTS.md (temporal stability): say what each mode measurably does.
        self.smooth.setToolTip("Stabilise the output over time. Flow (recommended against texture flicker): "
                               "blends each frame with the previous output along the motion; measured 0.2-0.5x "
                               "the flicker of Off, without visible blur. Steady: smooths the content "
                               "statistics over time, meant for exposure/colour pumping; it does not reduce "
                               "texture flicker (measured 1.0-2.2x Off on our clips)")
        self.smooth.activated.connect(lambda i: self.smoothingChosen.emit(str(self.smooth.itemData(i))))

    def _build_output_controls(self) -> None:
        # Output controls live in a second bar (the window puts it under the view, like a player's).
        self.output = QToolBar("Output", self.parentWidget())
        self.output.setObjectName("output")
        self.output.setMovable(False)
        self.output.setStyleSheet(TOGGLE_STYLE)
        self.pause = self._toggle("Pause", "Freeze the output (Space)", self.pausedToggled, self.output)
        self.snapshot = QToolButton()
        self.snapshot.setText("Snapshot")
        self.snapshot.setToolTip("Save the current stylized frame as a PNG (full processing resolution)")
        self.snapshot.clicked.connect(self.snapshotRequested)
        self.output.addWidget(self.snapshot)
        self.output.addSeparator()
        self.record = self._toggle("● Record", "Record the stylized video to MP4 (keeps a video file's audio)",
                                   self.recordToggled, self.output)
        self.record.setMinimumWidth(100)  # room for "■ Stop" beside the options arrow
        self.record_time = QLabel("")
        self.record_time.setStyleSheet("color: #e01e1e; font-weight: bold")
        self.output.addWidget(self.record_time)
        self.output.addSeparator()
        self.vcam = QCheckBox("Virtual camera")
        self.vcam.setEnabled(False)
        self.vcam.setToolTip("checking for a virtual camera…")
        self.vcam.toggled.connect(self.virtualCamToggled)
        self.output.addWidget(self.vcam)

    def _add_labelled(self, text: str, widget: QWidget, bar: QToolBar | None = None) -> None:
        label = QLabel(f" {text} ")
        label.setBuddy(widget)
        (bar or self).addWidget(label)
        (bar or self).addWidget(widget)

    def _toggle(self, text: str, tip: str, signal: pyqtSignal, bar: QToolBar | None = None) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setCheckable(True)
        button.toggled.connect(signal)
        (bar or self).addWidget(button)
        return button

    # --- sources -----------------------------------------------------------------------------------------
    def set_sources(self, cameras: list[tuple[int, str]], files: list[str]) -> None:
        """List cameras (index and name), recent video files, and "Open video file…"."""
        self.source.clear()
        for index, name in cameras:
            self.source.addItem(f"Camera {index}: {name}" if name else f"Camera {index}", str(index))
        for f in files:
            self.source.addItem(Path(f).name, f)
        self.source.addItem("Open video file…", OPEN_FILE)
        self._last_source = -1

    def show_source(self, spec: str) -> None:
        """Select ``spec`` in the list (adding a video file when it is new)."""
        i = self.source.findData(spec)
        if i < 0:
            self.source.insertItem(self.source.count() - 1, Path(spec).name, spec)
            i = self.source.findData(spec)
        self.source.setCurrentIndex(i)
        self._last_source = i

    def ask_video_file(self) -> None:
        """Ask for a video file and choose it as the source."""
        path, _ = QFileDialog.getOpenFileName(self, "Open a video file", "", VIDEO_FILTER)
        if path:
            self.show_source(path)
            self.sourceChosen.emit(path)
        elif self._last_source >= 0:
            self.source.setCurrentIndex(self._last_source)

    def _source_activated(self, index: int) -> None:
        spec = self.source.itemData(index)
        if spec == OPEN_FILE:
            self.ask_video_file()
        elif spec is not None:
            self._last_source = index
            self.sourceChosen.emit(str(spec))

    # --- state shown -------------------------------------------------------------------------------------
    def set_models(self, models: list[tuple[str, str, str, bool]], devices: list[str], current: str,
                   device: str) -> None:
        """List the models (name, label, tooltip, available) and devices; select ``current`` / ``device``."""
        self.model.clear()
        for i, (name, label, tip, available) in enumerate(models):
            self.model.addItem(label, name)
            self.model.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
            if not available:  # listed, greyed: its tooltip says how to get it
                self.model.model().item(i).setEnabled(False)  # type: ignore[union-attr]
        self.model.setCurrentIndex(max(0, self.model.findData(current)))
        self.model.setToolTip(self.model.itemData(self.model.currentIndex(), Qt.ItemDataRole.ToolTipRole) or "")
        self.device_choice.clear()
        self.device_choice.addItems(devices)
        self.device_choice.setCurrentIndex(max(0, self.device_choice.findText(device)))
        self.model.setEnabled(True)
        self.device_choice.setEnabled(True)

    def _model_activated(self) -> None:
        self.model.setEnabled(False)  # until the engine is back
        self.device_choice.setEnabled(False)
        self.modelChosen.emit(str(self.model.currentData() or ""), self.device_choice.currentText())

    def show_smoothing(self, mode: str) -> None:
        """Select the smoothing ``mode`` ("off", "stats", "flow"); unknown modes show Off."""
        self.smooth.setCurrentIndex(max(0, self.smooth.findData(mode)))

    def show_no_source(self) -> None:
        """Show that no source is open (the box goes blank instead of naming the last one)."""
        self.source.setCurrentIndex(-1)
        self._last_source = -1

    def show_size(self, size: int) -> None:
        """Select the processing size ``size`` (a size that is not a preset is added in order)."""
        i = self.size.findData(size)
        if i < 0:
            values = [int(self.size.itemData(k)) for k in range(self.size.count())]
            i = next((k for k, v in enumerate(values) if v == 0 or v > size), len(values))
            self.size.insertItem(i, f"{size}p", size)
        self.size.setCurrentIndex(i)

    def show_recording(self, on: bool, elapsed_s: float = 0.0) -> None:
        """Reflect the recording state: red elapsed time while recording (``elapsed_s`` < 0: no frame yet)."""
        self.record.blockSignals(True)
        self.record.setChecked(on)
        self.record.blockSignals(False)
        self.record.setText("■ Stop" if on else "● Record")
        self.record_time.setText(recording_label(elapsed_s) if on else "")

    def show_virtual_camera(self, available: bool, why: str) -> None:
        """Enable the virtual camera control only when a device can be opened; otherwise say why."""
        self.vcam.setEnabled(available)
        self.vcam.setToolTip(why)


def recording_label(elapsed_s: float) -> str:
    """``"REC 01:05"``; before the first frame arrived, says that it waits for one."""
    if elapsed_s < 0:
        return "REC waiting for frames…"
    minutes, seconds = divmod(int(elapsed_s), 60)
    return f"REC {minutes:02d}:{seconds:02d}"
