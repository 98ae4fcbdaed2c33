"""The style gallery dock: thumbnails, click / keys to switch, Ctrl/Shift-click for a second style.

Keys 1–9 pick the first nine styles and Shift+1…9 the next nine. Styles can be removed and moved (context
menu, Delete, Ctrl+←/→); the window persists the order. Files that cannot be used stay in the list, greyed
out, with the reason in their tooltip.
"""

from __future__ import annotations

from pathlib import Path

from PyQt6.QtCore import QPoint, QSize, Qt, pyqtSignal
from PyQt6.QtGui import QColor, QDragEnterEvent, QDropEvent, QIcon, QImage, QKeyEvent, QPixmap
from PyQt6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

PATH_ROLE = Qt.ItemDataRole.UserRole
BROKEN_ROLE = Qt.ItemDataRole.UserRole + 1
IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.bmp *.webp *.tif *.tiff)"
#: Styles reachable from the keyboard: 1–9, then Shift+1…9.
KEYED = 18


def key_name(index: int) -> str:
    """The shortcut of the ``index``-th style (0-based): ``"3"``, ``"Shift+3"`` or ``""``."""
    if index < 9:
        return str(index + 1)
    return f"Shift+{index - 8}" if index < KEYED else ""


def style_name(path: str) -> str:
    """A style's display name: the file name without suffix, underscores as spaces."""
    return Path(path).stem.replace("_", " ")


class StyleList(QListWidget):
    """Thumbnails in icon mode; Delete removes, Ctrl+←/→ move the current style."""

    # Remove this style (path).
    removeRequested = pyqtSignal(str)
    # Move this style (path) by this many places.
    moveRequested = pyqtSignal(str, int)

    def keyPressEvent(self, event: QKeyEvent | None) -> None:  # noqa: N802 - Qt API
        """Delete / Backspace remove the current style; Ctrl+Left / Ctrl+Right move it."""
        item = self.currentItem()
        if event is not None and item is not None:
            ctrl = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
                self.removeRequested.emit(item.data(PATH_ROLE))
                return
            if ctrl and event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right):
                self.moveRequested.emit(item.data(PATH_ROLE), -1 if event.key() == Qt.Key.Key_Left else 1)
                return
        super().keyPressEvent(event)


class GalleryDock(QDockWidget):
    """Style thumbnails plus the mix slider; emits what the user picked, never computes anything."""

    # A style was chosen: its path and whether a modifier (Ctrl/Shift) was held (= second style for a mix).
    styleClicked = pyqtSignal(str, bool)
    # The user wants these files/folders in the gallery.
    addRequested = pyqtSignal(list)
    # The mix slider moved: weight of the second style in [0, 1].
    mixChanged = pyqtSignal(float)
    # A style was removed from the gallery: its path.
    styleRemoved = pyqtSignal(str)
    # The gallery's order or content changed: all paths in order (to persist).
    orderChanged = pyqtSignal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Styles", parent)
        self.setObjectName("gallery")
        self.setAcceptDrops(True)
        body = QWidget()
        self.body_layout = QVBoxLayout(body)
        self.list = StyleList()
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setIconSize(QSize(112, 84))
        self.list.setGridSize(QSize(128, 122))
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.itemClicked.connect(self._clicked)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.removeRequested.connect(self.remove)
        self.list.moveRequested.connect(self.move)
        self.add_button = QToolButton()
        self.add_button.setText("Add styles…")
        self.add_button.setToolTip("Add style images or a folder of them (or drop files and folders here)")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.add_button.clicked.connect(self.ask_files)
        menu = QMenu(self.add_button)
        menu.addAction("Images…", self.ask_files)
        menu.addAction("A folder of images…", self.ask_folder)
        self.add_button.setMenu(menu)
        self.mix_label = QLabel("Mix: Ctrl-click a second style")
        self.mix = QSlider(Qt.Orientation.Horizontal)
        self.mix.setRange(0, 100)
        self.mix.setValue(50)
        self.mix.setEnabled(False)
        self.mix.setToolTip("Weight of the second style")
        self.mix.valueChanged.connect(lambda v: self.mixChanged.emit(v / 100.0))
        self.mix.valueChanged.connect(lambda _v: self._show_mix())
        for w in (self.list, self.add_button, self.mix_label, self.mix):
            self.body_layout.addWidget(w)
        self.setWidget(body)
        self.primary = ""
        self.secondary = ""

    # --- content -----------------------------------------------------------------------------------------
    def add_style(self, path: str, image: QImage) -> None:
        """Add (or update) the thumbnail of ``path``."""
        item = self._item(path) or self._new_item(path)
        item.setData(BROKEN_ROLE, "")
        item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
        item.setIcon(QIcon(QPixmap.fromImage(image)))
        self._relabel()

    def add_broken(self, path: str, reason: str) -> None:
        """Show a style file that cannot be used: greyed out, the reason in its tooltip."""
        item = self._item(path) or self._new_item(path)
        item.setData(BROKEN_ROLE, reason)
        item.setFlags(Qt.ItemFlag.ItemIsSelectable)  # not enabled: greyed, no click, no key
        pixmap = QPixmap(112, 84)
        pixmap.fill(QColor(90, 90, 90))
        item.setIcon(QIcon(pixmap))
        self._relabel()

    def _new_item(self, path: str) -> QListWidgetItem:
        item = QListWidgetItem(style_name(path))
        item.setData(PATH_ROLE, path)
        self.list.addItem(item)
        return item

    def paths(self) -> list[str]:
        """Style paths in gallery order (broken ones included)."""
        return [self.list.item(i).data(PATH_ROLE) for i in range(self.list.count())]

    def path_at(self, index: int) -> str | None:
        """The path of the ``index``-th style (0-based), or None (also for a broken style)."""
        item = self.list.item(index)
        return None if item is None or self.is_broken(item) else item.data(PATH_ROLE)

    @staticmethod
    def is_broken(item: QListWidgetItem) -> bool:
        """True for a style file that cannot be used."""
        return bool(item.data(BROKEN_ROLE))

    def mark(self, primary: str, secondary: str) -> None:
        """Show which style is in use (scrolled into view) and which one is mixed in."""
        self.primary, self.secondary = primary, secondary
        for i in range(self.list.count()):
            item = self.list.item(i)
            p = item.data(PATH_ROLE)
            item.setSelected(p == primary)
            item.setBackground(QColor(230, 140, 40, 120) if p == secondary and secondary else QColor(0, 0, 0, 0))
            if p == primary:
                self.list.setCurrentItem(item)  # the focus frame follows the selection
                self.list.scrollToItem(item)
        self.mix.setEnabled(bool(secondary))
        self._show_mix()

    def _show_mix(self) -> None:
        self.mix_label.setText(f"Mix: {style_name(self.secondary)} {self.mix.value()} %" if self.secondary
                               else "Mix: Ctrl-click a second style")

    def mark_failed(self, path: str, reason: str) -> None:
        """Grey out a style that cannot be used and say why in its tooltip."""
        if self._item(path) is not None:
            self.add_broken(path, reason)

    def remove(self, path: str) -> None:
        """Remove a style from the gallery (the file stays where it is)."""
        item = self._item(path)
        if item is None:
            return
        self.list.takeItem(self.list.row(item))
        if path == self.secondary:
            self.mark(self.primary, "")
        self._relabel()
        self.styleRemoved.emit(path)
        self.orderChanged.emit(self.paths())

    def move(self, path: str, step: int) -> None:
        """Move a style ``step`` places (negative: earlier); its key changes with its place."""
        item = self._item(path)
        if item is None:
            return
        row = self.list.row(item)
        new = min(max(row + step, 0), self.list.count() - 1)
        if new == row:
            return
        self.list.insertItem(new, self.list.takeItem(row))
        self.list.setCurrentRow(new)
        self.mark(self.primary, self.secondary)
        self._relabel()
        self.orderChanged.emit(self.paths())

    def _relabel(self) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            path, reason = item.data(PATH_ROLE), item.data(BROKEN_ROLE)
            key = key_name(i)
            key_text = key.replace("Shift+", "⇧")
            item.setText(f"{key_text} · {style_name(path)}" if key and not reason else style_name(path))
            tip = [style_name(path), path]
            if reason:
                tip.append(f"cannot be used: {reason}")
            elif key:
                tip.append(f"key {key}; Ctrl-click to mix it in")
            item.setToolTip("\n".join(tip))

    # --- user input -------------------------------------------------------------------------------------
    def _clicked(self, item: QListWidgetItem) -> None:
        if self.is_broken(item):
            return
        mods = QApplication.keyboardModifiers()
        modifier = bool(mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        self.styleClicked.emit(item.data(PATH_ROLE), modifier)

    def _context_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        path = item.data(PATH_ROLE)
        menu = QMenu(self)
        menu.addAction("Move earlier  (Ctrl+←)", lambda: self.move(path, -1))
        menu.addAction("Move later  (Ctrl+→)", lambda: self.move(path, 1))
        menu.addSeparator()
        menu.addAction("Remove from gallery  (Del)", lambda: self.remove(path))
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def ask_files(self) -> None:
        """Ask for style images to add."""
        files, _ = QFileDialog.getOpenFileNames(self, "Add style images", "", IMAGE_FILTER)
        if files:
            self.addRequested.emit(files)

    def ask_folder(self) -> None:
        """Ask for a folder whose images are added."""
        folder = QFileDialog.getExistingDirectory(self, "Add a folder of style images")
        if folder:
            self.addRequested.emit([folder])

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
