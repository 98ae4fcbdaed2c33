"""Widgets on their own (no engine): gallery, control bar, live view, output files, presets."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PyQt6.QtCore import QPoint, QSettings, Qt
from PyQt6.QtGui import QColor, QImage

from adain_live.engine.live.virtualcam import driver_hint
from adain_live.gui.controls import ControlBar, recording_label
from adain_live.gui.gallery_dock import GalleryDock, key_name
from adain_live.gui.presets import Look, PresetStore
from adain_live.gui.settings import Settings
from adain_live.gui.view import LiveView


def thumb(value: int = 128) -> QImage:
    img = QImage(16, 12, QImage.Format.Format_RGB888)
    img.fill(QColor(value, value, value))
    return img


@pytest.fixture
def gallery(qtbot):
    g = GalleryDock()
    qtbot.addWidget(g)
    g.resize(300, 260)
    g.show()
    return g


def fill(gallery, n: int) -> list[str]:
    paths = [f"/styles/style_{i:02d}_with_a_rather_long_name.png" for i in range(n)]
    for p in paths:
        gallery.add_style(p, thumb())
    return paths


def test_mix_label_follows_the_slider(gallery):
    a, b = fill(gallery, 2)
    gallery.mark(a, b)
    gallery.mix.setValue(70)
    assert gallery.mix_label.text() == "Mix: style 01 with a rather long name 70 %"
    gallery.mix.setValue(15)
    assert gallery.mix_label.text().endswith(" 15 %")


def test_selection_scrolls_into_view_and_moves_the_focus_frame(qtbot, gallery):
    paths = fill(gallery, 20)
    gallery.mark(paths[0], "")
    gallery.mark(paths[19], "")
    item = gallery.list.item(19)
    qtbot.waitUntil(lambda: gallery.list.viewport().rect().intersects(gallery.list.visualItemRect(item)))
    assert gallery.list.currentItem() is item  # the old thumbnail no longer keeps the focus frame
    assert [i.data(Qt.ItemDataRole.UserRole) for i in gallery.list.selectedItems()] == [paths[19]]


def test_keys_beyond_nine_and_full_names_in_tooltips(gallery):
    paths = fill(gallery, 20)
    assert [key_name(i) for i in (0, 8, 9, 17, 18)] == ["1", "9", "Shift+1", "Shift+9", ""]
    assert gallery.list.item(0).text().startswith("1 · ")
    assert gallery.list.item(9).text().startswith("⇧1 · ")
    assert gallery.list.item(18).text() == "style 18 with a rather long name"
    tip = gallery.list.item(9).toolTip()
    assert "style 09 with a rather long name" in tip and paths[9] in tip and "Shift+1" in tip


def test_broken_file_is_greyed_with_the_reason(gallery):
    paths = fill(gallery, 2)
    gallery.add_broken("/styles/bad.jpg", "cannot read /styles/bad.jpg: not an image")
    item = gallery.list.item(2)
    assert not item.flags() & Qt.ItemFlag.ItemIsEnabled  # greyed out, not clickable
    assert "not an image" in item.toolTip()
    assert gallery.paths() == [*paths, "/styles/bad.jpg"] and gallery.path_at(2) is None


def test_add_styles_accepts_a_folder(qtbot, gallery, monkeypatch, tmp_path):
    from PyQt6.QtWidgets import QFileDialog

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    with qtbot.waitSignal(gallery.addRequested) as sig:
        gallery.add_button.menu().actions()[1].trigger()
    assert sig.args == [[str(tmp_path)]]


def test_remove_and_reorder(qtbot, gallery):
    a, b, c = fill(gallery, 3)
    with qtbot.waitSignal(gallery.orderChanged) as sig:
        gallery.move(c, -2)
    assert sig.args == [[c, a, b]] and gallery.list.item(0).text().startswith("1 · style 02")
    gallery.list.setCurrentRow(1)
    with qtbot.waitSignal(gallery.styleRemoved) as removed:
        qtbot.keyClick(gallery.list, Qt.Key.Key_Delete)
    assert removed.args == [a] and gallery.paths() == [c, b]
    with qtbot.waitSignal(gallery.orderChanged) as sig:
        qtbot.keyClick(gallery.list, Qt.Key.Key_Left, Qt.KeyboardModifier.ControlModifier)
    assert sig.args == [[b, c]]


def test_resolution_menu_stays_in_order(qtbot):
    bar = ControlBar()
    qtbot.addWidget(bar)
    bar.show_size(256)
    labels = [bar.size.itemText(i) for i in range(bar.size.count())]
    assert labels == ["180p", "240p", "256p", "360p", "480p", "720p", "1080p", "native"]
    assert bar.size.currentText() == "256p"


def test_toggles_show_their_on_state_clearly(qtbot):
    bar = ControlBar()
    qtbot.addWidget(bar)
    bar.show()
    off = bar.mirror.grab().toImage()
    bar.mirror.setChecked(True)
    on = bar.mirror.grab().toImage()
    centre = QPoint(4, on.height() // 2)
    assert QColor(on.pixel(centre)).blue() > 180 and QColor(on.pixel(centre)).red() < 90
    assert abs(QColor(off.pixel(centre)).blue() - QColor(off.pixel(centre)).red()) < 30  # neutral when off


def test_side_by_side_and_compare_exclude_each_other(qtbot):
    bar = ControlBar()
    qtbot.addWidget(bar)
    bar.side_by_side.setChecked(True)
    bar.compare.setChecked(True)
    assert not bar.side_by_side.isChecked()


def test_failed_source_leaves_the_source_box_blank(qtbot):
    bar = ControlBar()
    qtbot.addWidget(bar)
    bar.set_sources([], ["/videos/last.mp4"])
    bar.show_source("/videos/last.mp4")
    bar.show_no_source()
    assert bar.source.currentText() == "" and bar.source.placeholderText() == "no source"


def test_recording_label_says_when_it_waits_for_frames():
    assert recording_label(-1.0) == "REC waiting for frames…"
    assert recording_label(65.2) == "REC 01:05"


class Result:
    def __init__(self, stylized: np.ndarray, original: np.ndarray) -> None:
        self.image, self.original = stylized, original


def grab_view(qtbot, **state) -> QImage:
    view = LiveView()
    qtbot.addWidget(view)
    view.resize(400, 200)
    for k, v in state.items():
        setattr(view, k, v)
    view.show_result(Result(np.full((100, 200, 3), 250, np.uint8), np.zeros((100, 200, 3), np.uint8)))
    return view.grab().toImage()


def test_compare_wipes_between_original_and_stylized(qtbot):
    img = grab_view(qtbot, compare=True, wipe=0.25)
    # the picture spans x = 0…400; left of 100 the original (black), right of it the stylized frame (white)
    assert QColor(img.pixel(60, 60)).red() < 30 and QColor(img.pixel(300, 60)).red() > 220
    img = grab_view(qtbot, compare=True, wipe=0.75)
    assert QColor(img.pixel(200, 60)).red() < 30


def test_paused_view_says_so(qtbot):
    running = grab_view(qtbot)
    paused = grab_view(qtbot, paused=True)
    centre = QPoint(200, 100)
    assert QColor(running.pixel(centre)).red() > 220
    assert QColor(paused.pixel(centre)).red() < 200  # the "Paused" badge sits over the centre


def test_double_click_asks_for_fullscreen(qtbot):
    view = LiveView()
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.doubleClicked):
        qtbot.mouseDClick(view, Qt.MouseButton.LeftButton)


@pytest.mark.parametrize(("platform", "want"), [("linux", "v4l2loopback"), ("win32", "OBS"), ("darwin", "OBS")])
def test_virtual_camera_hint_names_what_to_install(platform, want):
    assert want in driver_hint(platform)


def test_default_folders_are_videos_and_pictures(tmp_path, monkeypatch):
    from PyQt6.QtCore import QStandardPaths

    monkeypatch.delenv("ADAIN_LIVE_HOME", raising=False)
    settings = Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    videos = Path(settings.output_dir("video"))
    assert settings.output_dir("snapshot") == QStandardPaths.writableLocation(
        QStandardPaths.StandardLocation.PicturesLocation)
    if sys.platform.startswith("linux"):
        assert videos.parent.name == "Videos" and videos.name == "adain-live"
        assert Path(settings.output_dir("snapshot")).name == "Pictures"
    settings.set("video_dir", str(tmp_path / "rec"))
    assert settings.output_dir("video") == str(tmp_path / "rec")


def test_open_folder_after_saving(qtbot, tmp_path, monkeypatch):
    from PyQt6.QtGui import QDesktopServices
    from PyQt6.QtWidgets import QMainWindow, QStatusBar, QToolButton

    from adain_live.gui.recording import OutputFiles

    win = QMainWindow()
    qtbot.addWidget(win)
    win.setStatusBar(QStatusBar())
    files = OutputFiles(Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)),
                        QToolButton(), win.statusBar(), win)
    win.show()
    assert not files.open_folder.isVisible()
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    files.saved(str(tmp_path / "rec" / "a.mp4"))
    assert files.open_folder.isVisible() and files.open_folder.text() == "Open folder"
    qtbot.mouseClick(files.open_folder, Qt.MouseButton.LeftButton)
    assert opened == [str(tmp_path / "rec")]


def test_presets_round_trip_and_reject_bad_values(tmp_path):
    store = PresetStore(Settings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)))
    look = Look(style="/s/a.png", secondary="/s/b.png", mix=0.3, alpha=0.6, preserve_color=True,
                mask="background", smoothing="flow")
    store.save("warm", look)
    store.save("plain", Look(style="/s/c.png"))
    assert store.all() == {"warm": look, "plain": Look(style="/s/c.png")}
    store.delete("plain")
    assert list(store.all()) == ["warm"]
    with pytest.raises(ValueError, match="alpha"):
        Look(style="/s/a.png", alpha=1.5)
