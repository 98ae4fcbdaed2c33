"""Start the real app on the current display and save a screenshot of its window.

``python tests/gui/launch_app.py VIDEO OUT.png [--random] [--after S] [--size N] [--side-by-side] [--style K]
[--compare] [--pause] [--mix K] [--smooth MODE] [--record FILE] [--styles DIR]``

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
    return run_app(opts, screenshot=args.out, screenshot_after_s=args.after)


if __name__ == "__main__":
    sys.exit(main())
