"""Virtual camera output with a fake pyvirtualcam: letterboxing, newest frame wins, a shutdown that cannot hang."""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from adain_live.engine.live import virtualcam
from adain_live.engine.live.types import LiveResult
from adain_live.engine.live.virtualcam import VirtualCamSink, letterbox


def test_letterbox_keeps_the_aspect() -> None:
    four_three = np.full((480, 640, 3), 200, np.uint8)
    out = letterbox(four_three, (1280, 720))
    assert out.shape == (720, 1280, 3)
    assert out[:, :160].max() == 0 and out[:, -160:].max() == 0  # pillarbox bars
    assert out[:, 160:1120].min() == 200  # the picture: 960×720, not stretched
    tall = letterbox(np.full((100, 50, 3), 9, np.uint8), (64, 36))
    assert tall.shape == (36, 64, 3) and tall[:, 23:41].min() == 9 and tall[:, :22].max() == 0
    same = np.zeros((720, 1280, 3), np.uint8)
    assert letterbox(same, (1280, 720)) is same
    assert letterbox(np.zeros((360, 640, 3), np.uint8), (1280, 720)).shape == (720, 1280, 3)


class FakeCam:
    block = threading.Event()  # set: send() hangs like a stuck driver
    stuck = threading.Event()  # set once a send() hangs
    unstick = threading.Event()  # set: the hanging send() returns (the test is over)
    instances: list[FakeCam] = []

    def __init__(self, width: int, height: int, fps: float) -> None:
        self.size = (width, height)
        self.device = "/dev/video9"
        self.sent: list[np.ndarray] = []
        self.closed = False
        FakeCam.instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        if FakeCam.block.is_set():
            FakeCam.stuck.set()
            FakeCam.unstick.wait(5)
        assert frame.shape == (self.size[1], self.size[0], 3)
        self.sent.append(frame)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_pyvirtualcam(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeCam]]:
    for event in (FakeCam.block, FakeCam.stuck, FakeCam.unstick):
        event.clear()
    FakeCam.instances = []
    monkeypatch.setitem(sys.modules, "pyvirtualcam", types.SimpleNamespace(Camera=FakeCam))
    yield FakeCam
    FakeCam.unstick.set()  # let a thread stuck in the fake driver end with the test


def _result(image: np.ndarray) -> LiveResult:
    return LiveResult(image, image, 0, 0.0, time.perf_counter(), 0.0, 0)


def _wait(cond: Any, timeout: float = 5.0) -> bool:
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_frames_are_letterboxed_and_the_device_released(fake_pyvirtualcam: type[FakeCam]) -> None:
    sink = VirtualCamSink(320, 180)
    cam = fake_pyvirtualcam.instances[0]
    sink(_result(np.full((120, 160, 3), 50, np.uint8)))
    assert _wait(lambda: len(cam.sent) == 1)
    assert cam.sent[0][:, :40].max() == 0 and cam.sent[0][:, 40:280].min() == 50
    sink.close()
    assert cam.closed and not sink.running
    sink(_result(np.zeros((120, 160, 3), np.uint8)))  # after close: ignored, no error
    sink.close()


def test_a_stuck_driver_cannot_hang_shutdown(fake_pyvirtualcam: type[FakeCam]) -> None:
    fake_pyvirtualcam.block.set()
    sink = VirtualCamSink(64, 36)
    for _ in range(5):  # the live loop never blocks on a stuck camera
        t0 = time.perf_counter()
        sink(_result(np.zeros((36, 64, 3), np.uint8)))
        assert time.perf_counter() - t0 < 0.1
    assert _wait(fake_pyvirtualcam.stuck.is_set)  # the sink's thread now hangs in the driver
    t0 = time.perf_counter()
    sink.close(timeout=0.5)
    assert time.perf_counter() - t0 < 1.5
    assert sink._thread.daemon


def test_a_failing_driver_stops_the_output_with_a_log(fake_pyvirtualcam: type[FakeCam],
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    def broken(self: FakeCam, frame: np.ndarray) -> None:
        raise RuntimeError("device vanished")

    monkeypatch.setattr(FakeCam, "send", broken)
    sink = VirtualCamSink(64, 36)
    sink(_result(np.zeros((36, 64, 3), np.uint8)))
    assert _wait(lambda: not sink.running)
    sink.close()
    assert "device vanished" in caplog.text and fake_pyvirtualcam.instances[0].closed


def test_probe_without_pyvirtualcam_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)
    ok, why = virtualcam.probe()
    assert not ok and "pip install pyvirtualcam" in why
