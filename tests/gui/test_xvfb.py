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


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")
def test_real_app_under_xvfb_saves_a_screenshot(video, tmp_path):
    display = f":{90 + os.getpid() % 100}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
               "ADAIN_LIVE_HOME": str(tmp_path / "home"),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        out = tmp_path / "shot.png"
        proc = subprocess.run([sys.executable, str(LAUNCH), str(video), str(out), "--random", "--size", "32",
                               "--after", "10"], env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
    finally:
        xvfb.terminate()
        xvfb.wait(10)
    with Image.open(out) as im:
        assert im.width >= 800 and im.height >= 500
        pixels = np.asarray(im.convert("RGB"))
    assert pixels.std() > 10  # a window with content, not a blank grab
