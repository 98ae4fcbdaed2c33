"""The "Style:" control: everything, the person, the background, or the person + the background.

A small combo box in the style toolbar. The engine worker applies the choice (``EngineWorker.setRegion``)
on the pipeline's device; with *Person + background* the person takes the selected style and the
background the second style chosen in the gallery (without one, only the person is styled).
"""

from __future__ import annotations

from typing import Any

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QComboBox, QLabel, QWidget

#: (label, engine region) in menu order.
REGIONS = (("Everything", "everything"), ("Person", "person"), ("Background", "background"),
           ("Person + background", "person+background"))


class RegionControl(QComboBox):
    """Combo box of :data:`REGIONS`; emits the engine's region name when the user picks one."""

    # A region was chosen: "everything", "person", "background" or "person+background".
    regionChosen = pyqtSignal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for label, value in REGIONS:
            self.addItem(label, value)
        self.setToolTip("Which part of the picture gets the style. Person / Background: the other part stays "
                        "the original (a built-in person segmenter finds the person). Person + background: "
                        "the person takes the selected style, the background the gallery's second style.")
        self.activated.connect(lambda i: self.regionChosen.emit(str(self.itemData(i))))

    def show_region(self, region: str) -> None:
        """Select ``region`` without emitting (unknown names show Everything)."""
        self.setCurrentIndex(max(0, self.findData(region)))


def install_region_control(window: Any) -> RegionControl:
    """Add the control to ``window``'s style toolbar, wire it to the engine worker and the saved settings.

    The saved choice is sent once now; the worker keeps it and applies it to every runner it starts.
    """
    control = RegionControl(window.controls)
    window.controls.addWidget(QLabel(" Style "))
    window.controls.addWidget(control)
    control.regionChosen.connect(window.worker.setRegion)
    control.regionChosen.connect(lambda v: window.settings.set("region", v))
    control.show_region(window.settings.get("region", "everything", str))
    control.regionChosen.emit(str(control.currentData()))
    window.region_control = control
    return control
