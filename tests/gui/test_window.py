"""The whole window on random weights: recording options, preview, gallery keys and order, presets, shutdown."""

from __future__ import annotations

import threading
from fractions import Fraction

import av
import numpy as np
import pytest
from PIL import Image
from PyQt6.QtCore import Qt

from tests.gui.test_app import FRAME_TIMEOUT, wait_frames, wait_styled


def adain_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("adain-") and t.is_alive()]


def test_recording_options_processing_size_and_variable_rate(qtbot, make_window, video, tmp_path):
    w = make_window(str(video))
    w.settings.set("record_size", "processing")
    w.settings.set("record_constant_rate", False)
    wait_styled(qtbot, w)
    out = tmp_path / "vfr.mp4"
    with qtbot.waitSignal(w.worker.recordingChanged, timeout=10_000):
        w.start_recording(str(out))
    wait_frames(qtbot, w, 6)
    with qtbot.waitSignal(w.worker.recordingChanged, timeout=20_000):
        w.stop_recording()
    with av.open(str(out)) as c:
        vs = c.streams.video[0]
        shape = next(c.decode(vs)).to_ndarray(format="rgb24").shape
        time_base = vs.time_base
    assert shape == (32, 48, 3) and time_base == Fraction(1, 1000)  # processing size, millisecond (variable) timing


def test_recording_without_frames_is_not_reported_as_saved(qtbot, make_window, tmp_path):
    w = make_window(str(tmp_path / "missing.mp4"))
    qtbot.waitUntil(lambda: w.open_button.isVisibleTo(w), timeout=FRAME_TIMEOUT)
    out = tmp_path / "nothing.mp4"
    with qtbot.waitSignal(w.worker.recordingChanged, timeout=10_000):
        w.start_recording(str(out))
    qtbot.waitUntil(lambda: w.controls.record_time.text() == "REC waiting for frames…", timeout=5000)
    with qtbot.waitSignal(w.worker.recordingChanged, timeout=20_000) as sig:
        w.stop_recording()
    assert sig.args == [False, ""] and not out.exists()
    message = w.statusBar().currentMessage()
    assert "nothing was recorded" in message and "saved" not in message
    assert not w.files.open_folder.isVisible()


def test_record_at_launch_is_finished_by_closing(qtbot, tmp_path, video, style_dir):
    from PyQt6.QtCore import QSettings

    from adain_live.gui.options import AppOptions
    from adain_live.gui.window import MainWindow
    from tests.gui.conftest import random_model

    out = tmp_path / "launch.mp4"
    opts = AppOptions(source=str(video), styles=(style_dir,), size=32, device="cpu", precision="fp32",
                      style_size=64, model_factory=random_model, stats_cache=tmp_path / "stats", record=out)
    w = MainWindow(opts, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.controls.record_time.text().startswith("REC 0"), timeout=FRAME_TIMEOUT)
    wait_frames(qtbot, w, 4)
    w.close()
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) >= 3


def test_overlay_shows_the_real_processing_size_and_pause(qtbot, make_window, video):
    w = make_window(str(video), size=720)  # larger than the 96x64 source: it runs natively
    wait_styled(qtbot, w)
    qtbot.waitUntil(lambda: "96×64 · eager" in w.view.overlay, timeout=5000)  # size, then the path in use
    assert "720" not in w.view.overlay and "fps" in w.view.overlay
    w.controls.pause.setChecked(True)
    qtbot.waitUntil(lambda: w.view.overlay.startswith("paused"), timeout=5000)
    assert w.view.paused
    latency = w.engine.runner.latency_meter.value
    w.controls.alpha.setValue(40)  # re-renders the paused frame
    qtbot.waitUntil(lambda: w.engine.runner.pipeline.alpha == pytest.approx(0.4), timeout=5000)
    wait_frames(qtbot, w, 1)
    assert w.engine.runner.latency_meter.value == latency  # an old frame on purpose is no latency


def test_fullscreen_with_f11_and_escape(qtbot, make_window, video):
    w = make_window(str(video))
    wait_frames(qtbot, w, 1)
    qtbot.keyClick(w, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: w.isFullScreen(), timeout=5000)
    assert not w.controls.isVisible() and not w.gallery.isVisible() and w.view.isVisible()
    qtbot.keyClick(w, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not w.isFullScreen(), timeout=5000)
    assert w.controls.isVisible() and w.gallery.isVisible()
    w.view.doubleClicked.emit()
    qtbot.waitUntil(lambda: w.isFullScreen(), timeout=5000)


@pytest.fixture(scope="module")
def many_styles(tmp_path_factory):
    d = tmp_path_factory.mktemp("many")
    for i in range(11):
        Image.fromarray(np.full((24, 24, 3), (20 * i, 255 - 20 * i, 90), np.uint8)).save(d / f"s{i:02d}.png")
    return d


def test_shift_keys_reach_styles_ten_and_up_and_order_persists(qtbot, make_window, video, many_styles):
    w = make_window(str(video))
    w.add_styles([str(many_styles)])
    qtbot.waitUntil(lambda: len(w.gallery.paths()) == 14, timeout=FRAME_TIMEOUT)
    wait_styled(qtbot, w)
    tenth = w.gallery.paths()[9]
    with qtbot.waitSignal(w.styles.styleApplied, timeout=FRAME_TIMEOUT,
                          check_params_cb=lambda p, _s: p == tenth):
        qtbot.keyClick(w, Qt.Key.Key_1, Qt.KeyboardModifier.ShiftModifier)
    assert w.gallery.list.currentItem().data(Qt.ItemDataRole.UserRole) == tenth
    first = w.gallery.paths()[0]
    w.gallery.remove(first)
    w.gallery.move(tenth, -9)
    assert w.settings.style_paths()[0] == tenth and first not in w.settings.style_paths()
    qtbot.waitUntil(lambda: w.engine.gallery.find(first) is None, timeout=5000)  # the engine forgot it too


def test_preset_saved_and_recalled_by_name(qtbot, make_window, video):
    w = make_window(str(video))
    wait_styled(qtbot, w)
    a, b = w.gallery.paths()[:2]
    w.controls.alpha.setValue(40)
    w.controls.color.setChecked(True)
    w.set_smoothing("stats")
    w.region_control.show_region("background")
    w.region_control.regionChosen.emit("background")
    w.select_style(b)
    w.presets.save("calm")
    assert "calm" in [w.preset_bar.combo.itemText(i) for i in range(w.preset_bar.combo.count())]
    w.controls.alpha.setValue(100)
    w.controls.color.setChecked(False)
    w.set_smoothing("off")
    w.region_control.show_region("everything")
    w.region_control.regionChosen.emit("everything")
    w.select_style(a)
    with qtbot.waitSignal(w.styles.styleApplied, timeout=FRAME_TIMEOUT, check_params_cb=lambda p, _s: p == b):
        w.preset_bar.presetChosen.emit("calm")
    pipe = w.engine.runner.pipeline
    qtbot.waitUntil(lambda: pipe.alpha == pytest.approx(0.4) and pipe.preserve_color, timeout=5000)
    assert w.gallery.primary == b and w.controls.smooth.currentData() == "stats"
    assert w.region_control.currentData() == "background"
    settings = w.engine.runner.settings
    qtbot.waitUntil(lambda: (settings.current.stabilize.mode, settings.current.region) == ("stats", "background"),
                    timeout=5000)  # both reached the engine


def test_close_while_the_model_loads_leaves_no_thread(qtbot, make_window, video):
    w = make_window(str(video))
    w.close()  # before the engine is ready
    assert all(t.isFinished() for t in w.threads)
    assert adain_threads() == []


def test_model_and_device_picker_keeps_source_and_gallery(qtbot, make_window, video):
    w = make_window(str(video))
    wait_styled(qtbot, w)
    qtbot.waitUntil(lambda: w.controls.model.isEnabled(), timeout=FRAME_TIMEOUT)
    from adain_live import weights

    names = [w.controls.model.itemData(i) for i in range(w.controls.model.count())]
    assert names == list(weights.REGISTRY)  # the registry's models, each with a tooltip saying what it is
    assert all(w.controls.model.itemData(i, Qt.ItemDataRole.ToolTipRole) for i in range(len(names)))
    assert "cpu" in [w.controls.device_choice.itemText(i) for i in range(w.controls.device_choice.count())]
    first, paths, style = w.engine, w.gallery.paths(), w.gallery.primary
    w.controls.alpha.setValue(30)
    w.controls.device_choice.setCurrentIndex(w.controls.device_choice.findText("cpu"))
    with qtbot.waitSignal(w.worker.ready, timeout=FRAME_TIMEOUT):
        w.controls._model_activated()
    qtbot.waitUntil(lambda: w.engine is not first and w.engine.runner.pipeline.style is not None,
                    timeout=FRAME_TIMEOUT)
    wait_frames(qtbot, w, 3)  # the same source plays on
    assert w.gallery.paths() == paths and w.gallery.primary == style
    assert w.engine.runner.pipeline.alpha == pytest.approx(0.3)
    assert w.controls.model.isEnabled() and w.settings.q.value("source") == str(video)
    assert first.runner.threads() == []  # the old engine is gone
