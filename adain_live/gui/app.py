"""Run the desktop app: the window and the Qt event loop (started by ``adain-live gui`` / ``adain-live-gui``)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from PyQt6.QtCore import QSettings, QTimer
from PyQt6.QtWidgets import QApplication

from adain_live.gui.options import AppOptions
from adain_live.gui.window import MainWindow


def run_app(options: AppOptions, qt_argv: Sequence[str] | None = None, screenshot: Path | None = None,
            screenshot_after_s: float = 8.0) -> int:
    """Show the window and run the Qt event loop until it closes; returns the exit status.

    With ``screenshot``, the window grabs itself after ``screenshot_after_s`` seconds, saves the PNG and closes.
    """
    app = QApplication.instance() or QApplication(list(qt_argv or sys.argv[:1]))
    QApplication.setApplicationName("adain-live")
    QApplication.setOrganizationName("adain-live")
    window = MainWindow(options, QSettings("adain-live", "adain-live"))
    window.show()
    # Let Ctrl-C in the terminal close the window cleanly (Python signal handlers run between Qt events).
    signal.signal(signal.SIGINT, lambda *_: window.close())
    ticker = QTimer()
    ticker.timeout.connect(lambda: None)
    ticker.start(200)
    if screenshot is not None:
        def grab() -> None:
            window.grab().save(str(screenshot))
            window.close()

        QTimer.singleShot(int(screenshot_after_s * 1000), grab)
    return int(app.exec())

