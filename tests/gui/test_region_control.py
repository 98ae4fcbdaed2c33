from __future__ import annotations

from typing import Any

from PyQt6.QtWidgets import QMainWindow, QToolBar

from adain_live.gui.region_control import REGIONS, RegionControl, install_region_control


class _Settings:
    def __init__(self, saved: dict[str, Any]) -> None:
        self.values = dict(saved)

    def get(self, key: str, default: Any, kind: type) -> Any:
        return kind(self.values.get(key, default))

    def set(self, key: str, value: Any) -> None:
        self.values[key] = value


class _Worker:
    def __init__(self) -> None:
        self.regions: list[str] = []

    def setRegion(self, region: str) -> None:  # noqa: N802
        self.regions.append(region)


def test_region_control_lists_the_engine_regions(qtbot: Any) -> None:
    control = RegionControl()
    qtbot.addWidget(control)
    assert [control.itemData(i) for i in range(control.count())] == [v for _, v in REGIONS]
    with qtbot.waitSignal(control.regionChosen) as blocker:
        control.activated.emit(3)
    assert blocker.args == ["person+background"]


def test_install_restores_the_saved_region_and_wires_the_worker(qtbot: Any) -> None:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.controls = QToolBar()  # type: ignore[attr-defined]
    window.worker = _Worker()  # type: ignore[attr-defined]
    window.settings = _Settings({"region": "background"})  # type: ignore[attr-defined]
    control = install_region_control(window)
    assert control.currentData() == "background"
    assert window.worker.regions == ["background"]  # type: ignore[attr-defined]
    control.activated.emit(1)
    assert window.worker.regions[-1] == "person"  # type: ignore[attr-defined]
    assert window.settings.values["region"] == "person"  # type: ignore[attr-defined]
