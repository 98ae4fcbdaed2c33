"""The style gallery dock: thumbnails, click / keys 1–9 to switch, Ctrl/Shift-click for a second style."""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QDragEnterEvent, QDropEvent, QIcon, QImage, QPixmap
from PyQt6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

PATH_ROLE = Qt.ItemDataRole.UserRole
IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.bmp *.webp *.tif *.tiff)"


class GalleryDock(QDockWidget):
    """Style thumbnails plus the mix slider; emits what the user picked, never computes anything."""

    # A style was chosen: its path and whether a modifier (Ctrl/Shift) was held (= second style for a mix).
    styleClicked = pyqtSignal(str, bool)
    # The user wants these files/folders in the gallery.
    addRequested = pyqtSignal(list)
    # The mix slider moved: weight of the second style in [0, 1].
    mixChanged = pyqtSignal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Styles", parent)
        self.setObjectName("gallery")
        self.setAcceptDrops(True)
        body = QWidget()
        layout = QVBoxLayout(body)
        self.list = QListWidget()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(112, 84))
        self.list.setGridSize(QSize(128, 112))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWordWrap(True)
        self.list.itemClicked.connect(self._clicked)
        add = QPushButton("Add styles…")
        add.setToolTip("Add style images or a folder of them (or drop them here)")
        add.clicked.connect(self._ask_files)
        self.mix_label = QLabel("Mix: Ctrl-click a second style")
        self.mix = QSlider(Qt.Orientation.Horizontal)
        self.mix.setRange(0, 100)
        self.mix.setValue(50)
        self.mix.setEnabled(False)
        self.mix.setToolTip("Weight of the second style")
        self.mix.valueChanged.connect(lambda v: self.mixChanged.emit(v / 100.0))
        for w in (self.list, add, self.mix_label, self.mix):
            layout.addWidget(w)
        self.setWidget(body)
        self.primary = ""
        self.secondary = ""

    # --- content -----------------------------------------------------------------------------------------
    def add_style(self, path: str, image: QImage) -> None:
        """Add (or update) the thumbnail of ``path``."""
        item = self._item(path)
        if item is None:
            item = QListWidgetItem(self._label(self.list.count(), path))
            item.setData(PATH_ROLE, path)
            item.setToolTip(path)
            self.list.addItem(item)
        item.setIcon(QIcon(QPixmap.fromImage(image)))

    def paths(self) -> list[str]:
        """Style paths in gallery order."""
        return [self.list.item(i).data(PATH_ROLE) for i in range(self.list.count())]

    def path_at(self, index: int) -> str | None:
        """The path of the ``index``-th style (0-based), or None."""
        item = self.list.item(index)
        return None if item is None else item.data(PATH_ROLE)

    def mark(self, primary: str, secondary: str) -> None:
        """Show which style is in use and which one is mixed in."""
        self.primary, self.secondary = primary, secondary
        for i in range(self.list.count()):
            item = self.list.item(i)
            p = item.data(PATH_ROLE)
            item.setSelected(p == primary)
            item.setBackground(QColor(230, 140, 40, 120) if p == secondary and secondary else QColor(0, 0, 0, 0))
        self.mix.setEnabled(bool(secondary))
        self.mix_label.setText(f"Mix: {Path(secondary).stem} {self.mix.value()}%" if secondary
                               else "Mix: Ctrl-click a second style")

    def mark_failed(self, path: str, reason: str) -> None:
        """Grey out a style that cannot be used and say why in its tooltip."""
        item = self._item(path)
        if item is not None:
            item.setForeground(QColor(150, 60, 60))
            item.setToolTip(f"{path}\n{reason}")

    # --- user input -------------------------------------------------------------------------------------
    def _clicked(self, item: QListWidgetItem) -> None:
        mods = QApplication.keyboardModifiers()
        modifier = bool(mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        self.styleClicked.emit(item.data(PATH_ROLE), modifier)

    def _ask_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add style images", "", IMAGE_FILTER)
        if files:
            self.addRequested.emit(files)

    def dragEnterEvent(self, event: QDragEnterEvent | None) -> None:  # noqa: N802 - Qt API
        """Accept dragged files and folders."""
        if event is not None and event.mimeData() is not None and event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent | None) -> None:  # noqa: N802 - Qt API
        """Add dropped image files and folders."""
        if event is None or event.mimeData() is None:
            return
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.addRequested.emit(paths)
            event.acceptProposedAction()

    def _item(self, path: str) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            if self.list.item(i).data(PATH_ROLE) == path:
                return self.list.item(i)
        return None

    @staticmethod
    def _label(index: int, path: str) -> str:
        name = Path(path).stem.replace("_", " ")
        return f"{index + 1} · {name}" if index < 9 else name
