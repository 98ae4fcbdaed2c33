"""Recording and snapshots in the window: where files go, how recordings are written, "Open folder" after saving."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PyQt6.QtCore import QObject, QUrl, pyqtSignal
from PyQt6.QtGui import QActionGroup, QDesktopServices
from PyQt6.QtWidgets import QFileDialog, QMenu, QPushButton, QStatusBar, QToolButton, QWidget

from adain_live.gui.settings import Settings

#: (menu text, setting value) of the recording size and rate choices.
SIZE_CHOICES = (("Source size (for editing)", "source"), ("Processing size", "processing"))
RATE_CHOICES = (("Constant frame rate (source's)", True), ("Variable frame rate", False))


class OutputFiles(QObject):
    """Names output files, keeps the recording options and offers the folder of a saved file.

    It emits requests only; the window forwards them to the engine worker.
    """

    # Ask for a recording: path, frame size ("source" | "processing"), constant frame rate.
    requestRecord = pyqtSignal(str, str, bool)
    # Ask to finish the recording.
    requestStop = pyqtSignal()
    # Ask for a snapshot: path, frame size ("source" | "processing").
    requestSnapshot = pyqtSignal(str, str)

    def __init__(self, settings: Settings, record_button: QToolButton, status: QStatusBar,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._parent = parent
        self.open_folder = QPushButton("Open folder")
        self.open_folder.setToolTip("Show the saved file's folder")
        self.open_folder.hide()
        self.open_folder.clicked.connect(self._open_folder)
        status.addPermanentWidget(self.open_folder)
        self.saved_path: Path | None = None
        record_button.setMenu(self._menu(record_button))
        record_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)

    # --- options -----------------------------------------------------------------------------------------
    @property
    def frame_size(self) -> str:
        """Frame size of recordings and snapshots: "source" (default) or "processing"."""
        value = self.settings.get("record_size", "source", str)
        return value if value in dict((v, k) for k, v in SIZE_CHOICES) else "source"

    @property
    def constant_rate(self) -> bool:
        """True (default): recordings run at the source's constant frame rate."""
        return self.settings.get("record_constant_rate", True, bool)

    def _menu(self, parent: QWidget) -> QMenu:
        menu = QMenu(parent)
        self.size_actions = self._choices(menu, SIZE_CHOICES, self.frame_size, "record_size")
        menu.addSeparator()
        self.rate_actions = self._choices(menu, RATE_CHOICES, self.constant_rate, "record_constant_rate")
        menu.addSeparator()
        menu.addAction("Recordings folder…", lambda: self.choose_folder("video"))
        menu.addAction("Snapshots folder…", lambda: self.choose_folder("snapshot"))
        return menu

    def _choices(self, menu: QMenu, choices: tuple[tuple[str, object], ...], current: object,
                 key: str) -> dict[object, object]:
        group = QActionGroup(menu)
        actions = {}
        for text, value in choices:
            action = menu.addAction(text)
            action.setCheckable(True)
            action.setChecked(value == current)
            action.triggered.connect(lambda _=False, v=value: self.settings.set(key, v))
            group.addAction(action)
            actions[value] = action
        return actions

    def choose_folder(self, kind: str) -> None:
        """Ask for the folder of recordings (``"video"``) or snapshots (``"snapshot"``)."""
        title = "Folder for recordings" if kind == "video" else "Folder for snapshots"
        folder = QFileDialog.getExistingDirectory(self._parent, title, self.settings.output_dir(kind))
        if folder:
            self.settings.set(f"{kind}_dir", folder)

    # --- requests ----------------------------------------------------------------------------------------
    def record(self, path: str | None = None) -> None:
        """Start recording to ``path`` (default: the recordings folder, timestamped)."""
        target = path or str(self.new_path("video", "recording", ".mp4"))
        self.requestRecord.emit(target, self.frame_size, self.constant_rate)

    def snapshot(self, path: str | None = None) -> None:
        """Save the current frame (default: the snapshots folder, timestamped)."""
        self.requestSnapshot.emit(path or str(self.new_path("snapshot", "snapshot", ".png")), self.frame_size)

    def new_path(self, kind: str, stem: str, suffix: str) -> Path:
        """A new timestamped file name in the ``kind`` folder (created when missing)."""
        folder = Path(self.settings.output_dir(kind)).expanduser()
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"adain-live-{stem}-{datetime.now():%Y%m%d-%H%M%S}{suffix}"

    # --- after saving ------------------------------------------------------------------------------------
    def saved(self, path: str) -> None:
        """A file was written: offer its folder."""
        self.saved_path = Path(path)
        self.open_folder.setToolTip(f"Open {self.saved_path.parent}")
        self.open_folder.show()

    def _open_folder(self) -> None:
        if self.saved_path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.saved_path.parent)))
