"""Settings remembered between runs (QSettings): source, styles, resolution, α, toggles, window layout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from PyQt6.QtCore import QByteArray, QSettings, QStandardPaths
from PyQt6.QtWidgets import QMainWindow

from adain_live.assets import bundled_styles
from adain_live.paths import recordings_dir

T = TypeVar("T")


class Settings:
    """Typed access to the app's QSettings."""

    def __init__(self, qsettings: QSettings) -> None:
        self.q = qsettings

    def get(self, key: str, default: T, kind: type[T]) -> T:
        """Return the value of ``key`` as ``kind`` (``default`` when absent or unreadable)."""
        if not self.q.contains(key):
            return default
        value = self.q.value(key)
        try:
            if kind is bool:
                return value in (True, "true", "1", 1)  # type: ignore[return-value]
            return kind(value)  # type: ignore[call-arg]
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``."""
        self.q.setValue(key, value)

    def style_paths(self) -> list[str]:
        """Styles of the last session that still exist."""
        raw = self.get("styles", "[]", str)
        try:
            paths = json.loads(raw)
        except ValueError:
            return []
        return [p for p in paths if isinstance(p, str) and Path(p).exists()]

    def set_style_paths(self, paths: list[str]) -> None:
        """Remember the gallery's styles."""
        self.set("styles", json.dumps(paths))

    @staticmethod
    def default_styles() -> list[str]:
        """The bundled styles (the gallery of a first run)."""
        return [str(p) for p in bundled_styles()]

    def recent_files(self) -> list[str]:
        """Video files used as sources before (most recent first, existing only)."""
        raw = self.get("recent_files", "[]", str)
        try:
            files = json.loads(raw)
        except ValueError:
            return []
        return [f for f in files if isinstance(f, str) and Path(f).is_file()][:5]

    def remember_source(self, spec: str) -> None:
        """Remember the source (and a video file in the recent list)."""
        self.set("source", spec)
        if not spec.isdigit():
            files = [spec, *[f for f in self.recent_files() if f != spec]][:5]
            self.set("recent_files", json.dumps(files))

    def output_dir(self, kind: str) -> str:
        """Where ``kind`` ("video" or "snapshot") files go: the user's choice, else OS Videos/adain-live / Pictures."""
        if kind == "video":
            default = str(recordings_dir())
        else:
            pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
            default = pictures or str(Path.home())
        return self.get(f"{kind}_dir", self.get("output_dir", default, str), str)

    def save_window(self, window: QMainWindow) -> None:
        """Remember geometry and dock layout."""
        self.set("geometry", window.saveGeometry())
        self.set("window_state", window.saveState())
        self.q.sync()

    def restore_window(self, window: QMainWindow) -> None:
        """Restore geometry and dock layout (a first run gets a 1280×760 window)."""
        geometry, state = self.q.value("geometry"), self.q.value("window_state")
        if isinstance(geometry, QByteArray) and window.restoreGeometry(geometry):
            if isinstance(state, QByteArray):
                window.restoreState(state)
            return
        window.resize(1280, 760)
