from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from fractions import Fraction  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from adain_live.media.synth import make_test_video  # noqa: E402


@pytest.fixture(scope="session")
def video(tmp_path_factory) -> Path:
    """A 4 s, 96x64, 30 fps H.264 + AAC clip (looped by the app like a live source)."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    return make_test_video(path, size=(96, 64), frames=120, rate=Fraction(30), audio=("aac",))


@pytest.fixture(scope="session")
def style_dir(tmp_path_factory) -> Path:
    """Three small, very different style images."""
    d = tmp_path_factory.mktemp("styles")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)).save(d / "a_noise.png")
    Image.fromarray(np.full((48, 48, 3), (250, 40, 20), np.uint8)).save(d / "b_red.png")
    stripes = np.zeros((48, 48, 3), np.uint8)
    stripes[::4] = 255
    Image.fromarray(stripes).save(d / "c_stripes.png")
    return d


def random_model():
    from adain_live.core.model import AdaINModel

    return AdaINModel.random(0)


@pytest.fixture
def make_window(qtbot, tmp_path, style_dir):
    """``make_window(source)``: the app on random weights, CPU fp32, 32 px processing, settings in tmp_path."""
    from PyQt6.QtCore import QSettings

    from adain_live.gui.options import AppOptions
    from adain_live.gui.window import MainWindow

    windows = []

    def make(source: str, size: int = 32, settings_file: str = "settings.ini"):
        opts = AppOptions(source=source, styles=(style_dir,), size=size, device="cpu", precision="fp32",
                          style_size=64, model_factory=random_model, stats_cache=tmp_path / "stats")
        settings = QSettings(str(tmp_path / settings_file), QSettings.Format.IniFormat)
        settings.setValue("output_dir", str(tmp_path / "out"))
        w = MainWindow(opts, settings)
        qtbot.addWidget(w)
        w.show()
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.close()
