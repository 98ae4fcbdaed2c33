"""Start the real app on the current display and save a screenshot of its window.

``python tests/gui/launch_app.py VIDEO OUT.png [--random] [--after S] [--size N] [--side-by-side] [--style K]
[--compare] [--pause] [--mix K] [--smooth MODE] [--record FILE] [--styles DIR] [--view-shots FRAMES]``

Settings go to a private ``XDG_CONFIG_HOME`` unless one is set, so a run never touches the user's settings.
Used by ``test_xvfb.py`` and to make ``docs/screenshot.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("video")
    p.add_argument("out", type=Path)
    p.add_argument("--random", action="store_true", help="random weights instead of the installed model")
    p.add_argument("--after", type=float, default=8.0)
    p.add_argument("--size", type=int, default=None)
    p.add_argument("--side-by-side", action="store_true")
    p.add_argument("--style", type=int, default=1, help="gallery style to select (1-based)")
    p.add_argument("--record", type=Path, default=None, help="start recording to this MP4 halfway to the shot")
    p.add_argument("--compare", action="store_true", help="compare (wipe) view, divider at 45 %%")
    p.add_argument("--pause", action="store_true", help="pause a second before the shot")
    p.add_argument("--mix", type=int, default=0, help="Ctrl-click this gallery style (1-based) into a mix")
    p.add_argument("--smooth", default="off", help="smoothing: off, stats, flow")
    p.add_argument("--styles", type=Path, action="append", default=[], help="extra style files/folders")
    p.add_argument("--view-shots", type=int, default=0, metavar="FRAMES",
                   help="once styled, grab the view's area of the screen twice, FRAMES shown frames apart "
                        "(OUT_view0/1.png, with the frames the view held: OUT_frame0/1.png), then the window "
                        "shot; --after is then only the deadline")
    args = p.parse_args(argv)
    os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="adain-live-cfg-"))

    from PyQt6.QtCore import QSettings
    from PyQt6.QtWidgets import QApplication

    from adain_live.assets import bundled_styles
    from adain_live.core.model import AdaINModel
    from adain_live.gui.app import run_app
    from adain_live.gui.options import AppOptions

    app = QApplication(sys.argv[:1])
    settings = QSettings("adain-live", "adain-live")
    settings.setValue("side_by_side", args.side_by_side)
    settings.setValue("compare", args.compare)
    settings.setValue("smoothing", args.smooth)
    styles = bundled_styles()
    settings.setValue("style", str(styles[args.style - 1].resolve()))
    settings.sync()
    extra = tuple(args.styles)
    opts = AppOptions(source=args.video, size=args.size, device="cpu",
                      styles=(*[s.resolve() for s in styles], *extra) if extra else (),
                      model_factory=(lambda: AdaINModel.random(0)) if args.random else None)
    from PyQt6.QtCore import QTimer

    from adain_live.gui.window import MainWindow

    def window() -> MainWindow:
        return next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))

    if args.record is not None:
        QTimer.singleShot(int(args.after * 500), lambda: window().start_recording(str(args.record)))
    if args.mix:
        def mix() -> None:
            w = window()
            w.gallery.mix.setValue(35)
            w.select_style(w.gallery.primary, w.gallery.paths()[args.mix - 1])

        QTimer.singleShot(int(args.after * 400), mix)
    if args.compare:
        QTimer.singleShot(1000, lambda: setattr(window().view, "wipe", 0.45))
    if args.pause:
        QTimer.singleShot(int(args.after * 1000) - 1500, lambda: window().controls.pause.setChecked(True))
    if args.view_shots:
        return _run_with_view_shots(app, opts, args.out, args.view_shots, args.after, window)
    return run_app(opts, screenshot=args.out, screenshot_after_s=args.after)


def _run_with_view_shots(app, opts, out: Path, frames: int, deadline_s: float, window) -> int:  # noqa: ANN001
    """Run the app; grab what the X server shows in the view twice, ``frames`` shown frames apart, then quit.

    Polls the view's frame counter (no fixed waits): the first grab comes 3 frames after the style is ready.
    """
    from PyQt6.QtCore import QPoint, QTimer
    from PyQt6.QtWidgets import QApplication

    from adain_live.gui.app import run_app

    state = {"shot": 0, "at": -1}

    def grab_view(i: int) -> None:
        v = window().view
        v.repaint()  # paint the newest result now, so the screen and current_image() agree
        QApplication.sync()
        corner = v.mapToGlobal(QPoint(0, 0))
        screen = QApplication.primaryScreen()
        assert screen is not None
        screen.grabWindow(0, corner.x(), corner.y(), v.width(), v.height()).save(str(_beside(out, f"_view{i}")))
        image = v.current_image()
        if image is not None:
            image.save(str(_beside(out, f"_frame{i}")))

    def finish() -> None:
        if state["shot"] < 0:
            return
        state["shot"] = -1 if state["shot"] == 2 else state["shot"]
        poll.stop()
        w = window()
        w.grab().save(str(out))
        w.close()

    def step() -> None:
        try:
            w = window()
        except StopIteration:
            return
        styled = w.engine is not None and w.engine.runner.pipeline.style is not None
        if state["at"] < 0:
            if styled:
                state["at"] = w.view.frames_shown + 3
        elif w.view.frames_shown >= state["at"]:
            grab_view(state["shot"])
            state["shot"] += 1
            state["at"] = w.view.frames_shown + frames
            if state["shot"] == 2:
                finish()

    poll = QTimer()
    poll.timeout.connect(step)
    poll.start(20)
    QTimer.singleShot(int(deadline_s * 1000), finish)
    return run_app(opts)


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(f"{path.stem}{suffix}{path.suffix}")


if __name__ == "__main__":
    sys.exit(main())
