from __future__ import annotations

import threading
import time

import av
import numpy as np
import pytest
from PyQt6.QtCore import Qt

FRAME_TIMEOUT = 30_000  # ms; the first frame waits for the model to load on 2 shared cores


def wait_frames(qtbot, w, n):
    start = w.view.frames_shown
    qtbot.waitUntil(lambda: w.view.frames_shown >= start + n, timeout=FRAME_TIMEOUT)


def wait_styled(qtbot, w):
    qtbot.waitUntil(lambda: w.engine is not None and w.engine.runner.pipeline.style is not None,
                    timeout=FRAME_TIMEOUT)
    wait_frames(qtbot, w, 2)


def shown(w):
    """The :class:`LiveResult` the view shows."""
    return w.view._result


def wait_captured(qtbot, runner, n: int) -> None:
    """Wait until the source has delivered ``n`` more frames (counted by the capture slot's new items)."""
    slot = runner.capture._frames
    seen, count = [slot.peek()], [0]

    def more() -> bool:
        item = slot.peek()
        if item is not seen[0]:
            seen[0], count[0] = item, count[0] + 1
        return count[0] >= n

    qtbot.waitUntil(more, timeout=FRAME_TIMEOUT)


def view_pixels(w) -> np.ndarray:
    img = w.view.current_image()
    ptr = img.constBits()
    ptr.setsize(img.sizeInBytes())
    return np.frombuffer(ptr, np.uint8).reshape(img.height(), img.bytesPerLine())[:, : img.width() * 3].copy()


def test_stream_starts_and_frames_arrive(qtbot, make_window, video):
    w = make_window(str(video))
    wait_styled(qtbot, w)  # frames before the first style is ready are the plain source
    wait_frames(qtbot, w, 3)
    assert w.engine is not None and "cpu" in w.controls.device.text()
    # the processing size (a source-size frame shown while the first style was still being applied may come first)
    qtbot.waitUntil(lambda: w.view.current_image().height() == 32, timeout=FRAME_TIMEOUT)
    assert len(w.gallery.paths()) == 3
    qtbot.waitUntil(lambda: "fps" in w.view.overlay, timeout=5000)


def test_style_switch_changes_output_and_never_stalls(qtbot, make_window, video):
    w = make_window(str(video))
    wait_styled(qtbot, w)
    qtbot.waitUntil(lambda: w.gallery.primary.endswith("a_noise.png"), timeout=5000)
    times: list[float] = []
    w.view.painted.connect(lambda _r: times.append(time.monotonic()))
    wait_frames(qtbot, w, 5)
    with qtbot.waitSignal(w.styles.styleApplied, timeout=FRAME_TIMEOUT,
                          check_params_cb=lambda p, _s: p.endswith("b_red.png")):
        qtbot.keyClick(w, Qt.Key.Key_2)
    wait_frames(qtbot, w, 10)
    assert w.gallery.primary.endswith("b_red.png")
    gaps = np.diff(times)
    assert gaps.max() < 10 * np.median(gaps) + 0.05, f"display stalled: gaps {np.round(gaps, 3)}"

    # Paused: once the frame in flight and the re-renders of the held frame (the end of the cross-fade) are
    # shown, the view stays on that frame while the source runs on.
    runner = w.engine.runner
    w.controls.pause.setChecked(True)
    qtbot.waitUntil(lambda: not runner.fader.busy, timeout=FRAME_TIMEOUT)
    wait_captured(qtbot, runner, 5)  # the last re-render of the fade is published and shown by now
    qtbot.waitUntil(lambda: shown(w) is runner.latest(), timeout=FRAME_TIMEOUT)
    held, before, count = shown(w).index, view_pixels(w), w.view.frames_shown
    wait_captured(qtbot, runner, 10)
    assert (shown(w).index, w.view.frames_shown) == (held, count), "the view moved on while paused"
    np.testing.assert_array_equal(view_pixels(w), before)

    # On the paused (fixed) frame, another style gives another picture of that same frame.
    with qtbot.waitSignal(w.styles.styleApplied, timeout=FRAME_TIMEOUT,
                          check_params_cb=lambda p, _s: p.endswith("c_stripes.png")):
        qtbot.keyClick(w, Qt.Key.Key_3)
    qtbot.waitUntil(lambda: np.abs(view_pixels(w).astype(int) - before).mean() > 2, timeout=FRAME_TIMEOUT)
    assert shown(w).index == held


def test_mix_of_two_styles(qtbot, make_window, video):
    w = make_window(str(video))
    wait_styled(qtbot, w)
    a, b = w.gallery.paths()[:2]
    qtbot.waitUntil(lambda: w.gallery.primary == a, timeout=5000)
    with qtbot.waitSignal(w.styles.styleApplied, timeout=FRAME_TIMEOUT,
                          check_params_cb=lambda primary, secondary: secondary != "") as sig:
        w._style_clicked(b, True)
    assert sig.args == [a, b] and w.gallery.mix.isEnabled()
    w.gallery.mix.setValue(20)
    engine = w.engine
    sa = engine.gallery.cached(engine.gallery.find(a))
    sb = engine.gallery.cached(engine.gallery.find(b))
    want = 0.8 * sa.mean + 0.2 * sb.mean
    qtbot.waitUntil(lambda: np.allclose(engine.runner.pipeline.style.mean, want, atol=1e-4), timeout=5000)


def test_snapshot_writes_png(qtbot, make_window, video, tmp_path):
    w = make_window(str(video))
    wait_styled(qtbot, w)
    with qtbot.waitSignal(w.worker.snapshotSaved, timeout=10_000) as sig:
        w.snapshot(str(tmp_path / "snap.png"))
    from PIL import Image

    with Image.open(sig.args[0]) as im:
        assert im.format == "PNG" and im.size == (96, 64)  # the source's size, as recordings


def test_recording_is_a_playable_mp4(qtbot, make_window, video, tmp_path):
    w = make_window(str(video))
    wait_styled(qtbot, w)
    out = tmp_path / "rec.mp4"
    with qtbot.waitSignal(w.worker.recordingChanged, timeout=10_000):
        w.start_recording(str(out))
    qtbot.waitUntil(lambda: w.controls.record_time.text().startswith("REC"), timeout=5000)
    wait_frames(qtbot, w, 10)
    with qtbot.waitSignal(w.worker.recordingChanged, timeout=20_000) as sig:
        w.stop_recording()
    assert sig.args == [False, str(out)]
    with av.open(str(out)) as c:
        vs = c.streams.video[0]
        decoded = [(f.pts, f.to_ndarray(format="rgb24")) for f in c.decode(vs)]
        rate, has_audio = vs.average_rate, bool(c.streams.audio)
    pts = [p for p, _ in decoded]
    assert len(decoded) >= 5 and decoded[0][1].shape == (64, 96, 3)  # the source's size, not the processing size
    assert rate == 30 and len({b - a for a, b in zip(pts, pts[1:], strict=False)}) == 1  # constant, the source's
    assert has_audio  # the source file's audio is kept
    assert w.files.open_folder.isVisible() and "recording saved" in w.statusBar().currentMessage()


def test_close_stops_all_threads_and_finishes_the_recording(qtbot, make_window, video, tmp_path):
    w = make_window(str(video))
    wait_styled(qtbot, w)
    w.start_recording()
    qtbot.waitUntil(lambda: w.worker.recording_elapsed() is not None, timeout=5000)
    wait_frames(qtbot, w, 5)
    runner = w.engine.runner
    w.close()
    assert all(t.isFinished() for t in w.threads)
    assert runner.threads() == []
    assert not [t.name for t in threading.enumerate() if t.name.startswith("adain-")]
    assert w.settings.q.value("source") == str(video)
    (rec,) = (tmp_path / "out").glob("adain-live-recording-*.mp4")
    with av.open(str(rec)) as c:
        assert sum(1 for _ in c.decode(video=0)) >= 3


def test_drop_files_on_the_gallery(qtbot, make_window, video, tmp_path):
    from PIL import Image
    from PyQt6.QtCore import QMimeData, QPointF, QUrl
    from PyQt6.QtGui import QDropEvent

    w = make_window(str(video))
    wait_frames(qtbot, w, 1)
    extra = tmp_path / "dropped.png"
    Image.fromarray(np.full((20, 20, 3), 90, np.uint8)).save(extra)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(extra))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(w.styles.stylesAdded, timeout=10_000):
        w.gallery.dropEvent(event)
    assert w.gallery.paths()[-1] == str(extra.resolve())
    assert str(extra.resolve()) in w.settings.style_paths()  # remembered for the next run
    assert "added 1 style: dropped" in w.statusBar().currentMessage()  # an add is confirmed
    folder = tmp_path / "more"
    folder.mkdir()
    Image.fromarray(np.full((20, 20, 3), 30, np.uint8)).save(folder / "in_folder.png")
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(w.styles.stylesAdded, timeout=10_000):
        w.gallery.dropEvent(event)  # a folder adds its images
    assert w.gallery.paths()[-1] == str((folder / "in_folder.png").resolve())


def test_no_camera_says_so_and_offers_a_file(qtbot, make_window):
    w = make_window("7")
    qtbot.waitUntil(lambda: w.open_button.isVisibleTo(w), timeout=FRAME_TIMEOUT)
    assert "No camera" in w.view.placeholder
    assert w.controls.source.currentText() == ""  # not the last session's source
    message = w.statusBar().currentMessage().lower()
    assert "camera" in message and "7" in message


def test_unreadable_style_is_reported_and_app_keeps_running(qtbot, make_window, video, tmp_path):
    w = make_window(str(video))
    wait_frames(qtbot, w, 2)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    with qtbot.waitSignal(w.styles.stylesAdded, timeout=10_000) as sig:
        w.add_styles([str(bad)])
    assert sig.args[0] == [] and "broken.jpg" in sig.args[1][0]
    assert "broken.jpg" in w.statusBar().currentMessage()
    item = w.gallery.list.item(w.gallery.list.count() - 1)  # shown greyed, the reason in its tooltip
    assert "broken" in item.text() and not item.flags() & Qt.ItemFlag.ItemIsEnabled
    assert "cannot be used" in item.toolTip() and "broken.jpg" in item.toolTip()
    wait_frames(qtbot, w, 3)


@pytest.mark.parametrize("alpha", [0.25])
def test_controls_reach_the_engine(qtbot, make_window, video, alpha):
    w = make_window(str(video))
    wait_frames(qtbot, w, 2)
    w.controls.alpha.setValue(int(alpha * 100))
    w.controls.color.setChecked(True)
    pipe = w.engine.runner.pipeline
    qtbot.waitUntil(lambda: pipe.alpha == alpha and pipe.preserve_color, timeout=5000)
    w.controls.sizeChosen.emit(40)
    qtbot.waitUntil(lambda: w.view.current_image().height() == 40, timeout=FRAME_TIMEOUT)


def test_missing_weights_is_a_message_in_the_window(qtbot, tmp_path, monkeypatch, video):
    from PyQt6.QtCore import QSettings

    from adain_live.gui.options import AppOptions
    from adain_live.gui.window import MainWindow

    monkeypatch.setenv("ADAIN_LIVE_MODELS", str(tmp_path / "no-models"))
    monkeypatch.setenv("ADAIN_LIVE_HOME", str(tmp_path / "home"))
    w = MainWindow(AppOptions(source=str(video), device="cpu"),
                   QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: "cannot start" in w.view.placeholder, timeout=FRAME_TIMEOUT)
    assert "adain-live weights" in w.view.placeholder  # says what to do
    assert "no model" in w.controls.device.text()
    assert not w.controls.vcam.isEnabled()
    w.close()
    assert all(t.isFinished() for t in w.threads)


def test_virtual_camera_is_disabled_with_what_to_install(qtbot, make_window, video):
    w = make_window(str(video))
    qtbot.waitUntil(lambda: "unavailable" in w.controls.vcam.toolTip(), timeout=FRAME_TIMEOUT)
    assert not w.controls.vcam.isEnabled()  # pyvirtualcam is not installed here
    tip = w.controls.vcam.toolTip()
    assert "pip install pyvirtualcam" in tip and "v4l2loopback" in tip  # this machine is Linux


def test_cpu_default_size_is_small_and_said(qtbot, make_window, video):
    w = make_window(str(video), size=None)
    wait_styled(qtbot, w)
    assert w.cpu_note.isVisibleTo(w) and "p for speed" in w.cpu_note.text()
    assert w.controls.size.currentData() == w.engine.size <= 512
    assert w.view.current_image().height() == 64  # a source smaller than the size is not upscaled
    w.controls.sizeChosen.emit(40)
    assert not w.cpu_note.isVisibleTo(w)  # it named the start-up size only
