"""The Smooth control's tooltip says what each mode measurably does (benchmarks/RESULTS.md, temporal stability)."""

from __future__ import annotations

from adain_live.gui.controls import SMOOTHING, ControlBar


def test_smooth_tooltip_recommends_flow_and_keeps_steady_to_pumping(qtbot):
    bar = ControlBar()
    qtbot.addWidget(bar)
    tip = bar.smooth.toolTip()
    labels = {label: value for label, value in SMOOTHING}
    assert labels["Flow"] == "flow" and "Flow (recommended against texture flicker)" in tip
    assert labels["Steady"] == "stats" and "pumping" in tip and "does not reduce" in tip
    assert "evens out" not in tip  # the old claim, measured false (stats raised the warping error 1.0-2.2x)
