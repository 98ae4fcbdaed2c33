from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

LAUNCH = Path(__file__).with_name("launch_app.py")
ROOT = Path(__file__).resolve().parents[2]
#: The view's fill where no picture is drawn (LiveView.paintEvent).
BACKGROUND = np.array([16, 16, 16])


def _start_xvfb(display: str) -> subprocess.Popen[bytes]:
    """Start Xvfb on ``display`` and wait (polling, 20 s deadline) until it accepts connections."""
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socket = Path(f"/tmp/.X11-unix/X{display.lstrip(':')}")
    deadline = time.monotonic() + 20
    while not socket.exists():
        if xvfb.poll() is not None or time.monotonic() > deadline:
            xvfb.kill()
            pytest.fail(f"Xvfb did not start on {display} (exit status {xvfb.poll()})")
        time.sleep(0.02)
    return xvfb


def _picture_box(view: np.ndarray, aspect: float) -> tuple[slice, slice]:
    """The middle half of the rectangle where the view draws a picture of ``aspect`` (w/h), fitted and centred.

    The middle keeps clear of the overlay texts in the view's corners.
    """
    h, w = view.shape[:2]
    scale = min(w / aspect, h)
    pw, ph = aspect * scale, scale
    x0, y0 = (w - pw) / 2, (h - ph) / 2
    return slice(int(y0 + ph / 4), int(y0 + 3 * ph / 4)), slice(int(x0 + pw / 4), int(x0 + 3 * pw / 4))


def _rgb(path: Path) -> np.ndarray:
    assert path.is_file(), f"the app saved no {path.name}: it showed no styled frames before the deadline"
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB")).astype(int)


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")
def test_real_app_under_xvfb_shows_the_video(video, tmp_path):
    """The real window, on a real X server, shows the stylized video: the view's area of the screen holds the
    frame the app rendered (not the empty background or the placeholder), and it moves on between two grabs."""
    display = f":{90 + os.getpid() % 100}"
    xvfb = _start_xvfb(display)
    try:
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
               "ADAIN_LIVE_HOME": str(tmp_path / "home"),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        out = tmp_path / "shot.png"
        proc = subprocess.run([sys.executable, str(LAUNCH), str(video), str(out), "--random", "--size", "32",
                               "--view-shots", "10", "--after", "30"], env=env, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    with Image.open(out) as im:
        assert im.width >= 800 and im.height >= 500
    views = [_rgb(tmp_path / f"shot_view{i}.png") for i in (0, 1)]
    frames = [_rgb(tmp_path / f"shot_frame{i}.png") for i in (0, 1)]
    assert frames[0].shape[:2] == (32, 48)  # the processing size of the 96x64 clip
    rows, cols = _picture_box(views[0], 48 / 32)
    crops = [v[rows, cols] for v in views]
    for crop in crops:
        assert (np.abs(crop - BACKGROUND).max(axis=-1) <= 4).mean() < 0.05, "the view shows its empty background"
        assert crop.std() > 2, "the view shows a flat fill"  # measured 3-4
    # What the screen shows there is the frame the view held (scaled up), and not the other grab's frame.
    for i, crop in enumerate(crops):
        ph, pw = crop.shape[:2]
        expected = [np.asarray(Image.fromarray(f[8:24, 12:36].astype(np.uint8)).resize((pw, ph), Image.BILINEAR))
                    .astype(int) for f in frames]
        own, other = np.abs(crop - expected[i]).mean(), np.abs(crop - expected[1 - i]).mean()
        # measured: ~0.8 levels from its own frame, ~4 from the other one (random weights give low contrast)
        assert own < 2.5, f"grab {i} differs from the frame the view held by {own:.1f} levels on average"
        assert own < other / 2, f"grab {i} looks as much like the other frame ({own:.1f} vs {other:.1f})"
    moved = np.abs(crops[0] - crops[1]).mean()
    assert moved > 1.5, f"the picture on screen did not change between the grabs ({moved:.1f})"
