"""Favourites: a named look (style, second style and mix, α, colours, mask, smoothing) saved and recalled."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtWidgets import QComboBox, QHBoxLayout, QInputDialog, QLabel, QToolButton, QWidget

from adain_live.gui.settings import Settings


@dataclass(frozen=True)
class Look:
    """Everything a preset restores. ``mask`` / ``smoothing`` are None where the app has no such control."""

    style: str
    secondary: str = ""
    mix: float = 0.5
    alpha: float = 1.0
    preserve_color: bool = False
    mask: str | None = None
    smoothing: str | None = None

    def __post_init__(self) -> None:
        if not self.style:
            raise ValueError("a preset needs a style")
        for name in ("mix", "alpha"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"preset {name} must be between 0 and 1, got {value}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Look:
        """Build from stored JSON (unknown keys from newer versions are ignored)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class PresetStore:
    """Presets by name in the app's settings (key ``presets``, a JSON object)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def all(self) -> dict[str, Look]:
        """Every readable preset by name (broken entries are skipped)."""
        try:
            raw = json.loads(self.settings.get("presets", "{}", str))
        except ValueError:
            return {}
        out: dict[str, Look] = {}
        for name, data in (raw.items() if isinstance(raw, dict) else []):
            try:
                out[str(name)] = Look.from_dict(data)
            except (TypeError, ValueError):
                continue
        return out

    def save(self, name: str, look: Look) -> None:
        """Store (or replace) the preset ``name``."""
        presets = {k: asdict(v) for k, v in self.all().items()}
        presets[name] = asdict(look)
        self.settings.set("presets", json.dumps(presets))

    def delete(self, name: str) -> None:
        """Forget the preset ``name``."""
        presets = {k: asdict(v) for k, v in self.all().items() if k != name}
        self.settings.set("presets", json.dumps(presets))


class PresetBar(QWidget):
    """A row under the gallery: choose a preset, save the current look, delete the chosen one."""

    # Recall the preset with this name.
    presetChosen = pyqtSignal(str)
    # Save the current look under this name.
    saveRequested = pyqtSignal(str)
    # Delete the preset with this name.
    deleteRequested = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setPlaceholderText("Presets")
        self.combo.setToolTip("Saved looks: style, mix, α, colours, mask and smoothing")
        self.combo.textActivated.connect(self.presetChosen)
        self.save = QToolButton()
        self.save.setText("Save…")
        self.save.setToolTip("Save the current look as a preset")
        self.save.clicked.connect(self.ask_name)
        self.delete = QToolButton()
        self.delete.setText("✕")
        self.delete.setToolTip("Delete the chosen preset")
        self.delete.clicked.connect(lambda: self.combo.currentText() and
                                    self.deleteRequested.emit(self.combo.currentText()))
        layout.addWidget(QLabel("Preset"))
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.save)
        layout.addWidget(self.delete)

    def set_names(self, names: list[str], current: str = "") -> None:
        """List the presets (``current`` shown as chosen)."""
        self.combo.blockSignals(True)
        self.combo.clear()
        self.combo.addItems(sorted(names, key=str.lower))
        self.combo.setCurrentIndex(self.combo.findText(current))
        self.combo.blockSignals(False)

    def ask_name(self) -> None:
        """Ask for a name and request saving the current look under it."""
        name, ok = QInputDialog.getText(self, "Save preset", "Name of this look:",
                                        text=self.combo.currentText())
        if ok and name.strip():
            self.saveRequested.emit(name.strip())


class Presets(QObject):
    """Saves the window's current look under a name and recalls it (the window is passed in, as napari does)."""

    def __init__(self, store: PresetStore, bar: PresetBar, window: Any) -> None:
        super().__init__(window)
        self.store, self.bar, self.window = store, bar, window
        bar.set_names(list(store.all()))
        bar.saveRequested.connect(self.save)
        bar.presetChosen.connect(self.recall)
        bar.deleteRequested.connect(self.delete)

    def current(self) -> Look:
        """The look on screen."""
        w = self.window
        return Look(style=w.gallery.primary, secondary=w.gallery.secondary, mix=w.gallery.mix.value() / 100.0,
                    alpha=w.controls.alpha.value() / 100.0, preserve_color=w.controls.color.isChecked(),
                    mask=str(w.region_control.currentData()), smoothing=str(w.controls.smooth.currentData()))

    def save(self, name: str) -> None:
        """Save the current look as preset ``name``."""
        if not self.window.gallery.primary:
            self.window.show_error("choose a style first, then save the preset")
            return
        self.store.save(name, self.current())
        self.bar.set_names(list(self.store.all()), name)
        self.window.show_status(f"preset saved: {name}")

    def recall(self, name: str) -> None:
        """Apply preset ``name`` (its styles are added to the gallery when missing)."""
        look = self.store.all().get(name)
        w = self.window
        if look is None:
            w.show_error(f"no preset named {name!r}")
            return
        missing = [p for p in (look.style, look.secondary) if p and p not in w.gallery.paths()]
        if missing:
            w.add_styles(missing)
        w.controls.alpha.setValue(round(look.alpha * 100))
        w.controls.color.setChecked(look.preserve_color)
        if look.smoothing is not None:
            w.set_smoothing(look.smoothing)
        if look.mask is not None:  # the region control's choice (everything, person, background, both)
            w.region_control.show_region(look.mask)
            w.region_control.regionChosen.emit(str(w.region_control.currentData()))
        w.gallery.mix.setValue(round(look.mix * 100))
        w.select_style(look.style, look.secondary)
        w.show_status(f"preset: {name}")

    def delete(self, name: str) -> None:
        """Forget preset ``name``."""
        self.store.delete(name)
        self.bar.set_names(list(self.store.all()))
        self.window.show_status(f"preset deleted: {name}")
