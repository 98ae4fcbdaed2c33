"""Cameras per platform with a fake OpenCV backend: listing, backend choice, requested mode, one open each."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from adain_live.engine.live.io import CameraMode, SourceSpec, open_live_source
from adain_live.errors import MediaError
from adain_live.media import camera, camera_list
from adain_live.media.camera import CameraSource, capture_api
from adain_live.media.camera_list import linux_cameras, list_cameras, mac_cameras


class FakeCapture:
    """Stands in for ``cv2.VideoCapture``: records opens and settings, gives what a real driver would."""

    opened: list[tuple[Any, int]] = []
    available: set[tuple[Any, int]] = set()
    modes = {(1280, 720), (640, 480)}

    def __init__(self, device: Any, api: int = cv2.CAP_ANY) -> None:
        FakeCapture.opened.append((device, api))
        self.ok = (device, api) in FakeCapture.available
        self.props: dict[int, float] = {cv2.CAP_PROP_FRAME_WIDTH: 640, cv2.CAP_PROP_FRAME_HEIGHT: 480,
                                        cv2.CAP_PROP_FPS: 30}
        self.sets: list[tuple[int, float]] = []
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.ok

    def set(self, prop: int, value: float) -> bool:
        self.sets.append((prop, value))
        self.props[prop] = value
        return True

    def get(self, prop: int) -> float:
        w, h = int(self.props[cv2.CAP_PROP_FRAME_WIDTH]), int(self.props[cv2.CAP_PROP_FRAME_HEIGHT])
        if prop in (cv2.CAP_PROP_FRAME_WIDTH, cv2.CAP_PROP_FRAME_HEIGHT) and (w, h) not in FakeCapture.modes:
            return 640 if prop == cv2.CAP_PROP_FRAME_WIDTH else 480  # the driver's nearest mode
        return self.props.get(prop, 0.0)

    def read(self) -> tuple[bool, np.ndarray]:
        time.sleep(0.005)
        w, h = int(self.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self.get(cv2.CAP_PROP_FRAME_HEIGHT))
        return True, np.full((h, w, 3), (255, 0, 0), np.uint8)  # blue in BGR

    def release(self) -> None:
        self.released = True


@pytest.fixture
def fake_cv(monkeypatch: pytest.MonkeyPatch) -> type[FakeCapture]:
    FakeCapture.opened, FakeCapture.available = [], set()
    monkeypatch.setattr(camera.cv2, "VideoCapture", FakeCapture)
    return FakeCapture


@pytest.mark.parametrize(("platform", "apis"), [
    ("win32", [cv2.CAP_DSHOW, cv2.CAP_MSMF]), ("darwin", [cv2.CAP_AVFOUNDATION]), ("linux", [cv2.CAP_V4L2]),
])
def test_backend_per_platform(platform: str, apis: list[int]) -> None:
    assert capture_api(0, platform) == apis
    assert capture_api("clip.mp4", platform) == [cv2.CAP_ANY]  # a file as a "camera": OpenCV decides


def test_camera_is_opened_once_with_the_requested_mode(fake_cv: type[FakeCapture],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    fake_cv.available = {(0, cv2.CAP_V4L2)}
    with open_live_source(SourceSpec(camera=0)) as cam:
        assert isinstance(cam, CameraSource)
        assert fake_cv.opened == [(0, cv2.CAP_V4L2)]
        sets = cam._cap.sets  # type: ignore[attr-defined]
        assert sets[0] == (cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))  # format before size
        assert (cv2.CAP_PROP_FRAME_WIDTH, 1280) in sets and (cv2.CAP_PROP_FPS, 30) in sets
        assert cam.size == (1280, 720)
        frame = cam.read(timeout=5)
        assert frame is not None and frame.image.shape == (720, 1280, 3)
        assert tuple(frame.image[0, 0]) == (0, 0, 255)  # RGB out of media
    assert len(fake_cv.opened) == 1


def test_a_mode_the_camera_lacks_gives_its_nearest(fake_cv: type[FakeCapture],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    fake_cv.available = {(1, cv2.CAP_V4L2)}
    cam = open_live_source(SourceSpec(camera=1), CameraMode(1920, 1080, 60))
    assert cam.size == (640, 480)
    cam.close()


def test_windows_falls_back_to_media_foundation(fake_cv: type[FakeCapture],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    fake_cv.available = {(0, cv2.CAP_MSMF)}
    CameraSource(0).close()
    assert fake_cv.opened == [(0, cv2.CAP_DSHOW), (0, cv2.CAP_MSMF)]


def test_mac_failure_names_the_privacy_setting(fake_cv: type[FakeCapture], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(MediaError, match="Privacy & Security → Camera"):
        CameraSource(0)
    assert fake_cv.opened == [(0, cv2.CAP_AVFOUNDATION)]


def test_linux_list_reads_sysfs_names(tmp_path: Path) -> None:
    for node, name, index in (("video0", "Integrated Webcam", "0"), ("video1", "Integrated Webcam", "1"),
                              ("video2", "USB Cam", "0"), ("video10", "", "0")):
        (tmp_path / node).mkdir()
        (tmp_path / node / "name").write_text(name + "\n")
        (tmp_path / node / "index").write_text(index + "\n")
    cams = linux_cameras(tmp_path)
    assert [(c.index, c.name, c.path) for c in cams] == [(0, "Integrated Webcam", "/dev/video0"),
                                                         (2, "USB Cam", "/dev/video2"),
                                                         (10, "video10", "/dev/video10")]


def test_mac_list_uses_system_profiler_and_opens_nothing(fake_cv: type[FakeCapture]) -> None:
    report = {"SPCameraDataType": [{"_name": "FaceTime HD Camera"}, {"_name": "Logitech BRIO"}]}

    def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert cmd[0] == "system_profiler"
        return subprocess.CompletedProcess(cmd, 0, json.dumps(report), "")

    cams = mac_cameras(run)
    assert [(c.index, c.name) for c in cams] == [(0, "FaceTime HD Camera"), (1, "Logitech BRIO")]
    assert fake_cv.opened == []


def test_windows_list_uses_directshow_names(monkeypatch: pytest.MonkeyPatch, fake_cv: type[FakeCapture]) -> None:
    monkeypatch.setattr(camera_list, "_dshow_names", lambda: ["Integrated Camera", "OBS Virtual Camera"])
    assert [(c.index, c.name) for c in list_cameras("win32")] == [(0, "Integrated Camera"),
                                                                  (1, "OBS Virtual Camera")]
    assert fake_cv.opened == []


def test_windows_list_without_pygrabber_probes_directshow(monkeypatch: pytest.MonkeyPatch,
                                                          fake_cv: type[FakeCapture]) -> None:
    monkeypatch.setattr(camera_list, "_dshow_names", lambda: None)
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    fake_cv.available = {(1, cv2.CAP_DSHOW)}
    assert [(c.index, c.name) for c in list_cameras("win32")] == [(1, "Camera 1")]
    assert all(api == cv2.CAP_DSHOW for _, api in fake_cv.opened)


def test_list_failure_is_an_empty_list(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> list[camera_list.CameraInfo]:
        raise OSError("system_profiler not found")

    monkeypatch.setattr(camera_list, "mac_cameras", broken)
    assert list_cameras("darwin") == []
    assert list_cameras("sunos5") == []


@pytest.mark.parametrize(("size", "fps", "ok"), [("1920x1080", 60, True), ("1280×720", None, True),
                                                 ("big", None, False), ("1280x", None, False),
                                                 ("8x8", None, False), ("640x480", 0, False)])
def test_camera_mode_parse(size: str, fps: float | None, ok: bool) -> None:
    if ok:
        mode = CameraMode.parse(size, fps)
        assert (mode.width, mode.height) in ((1920, 1080), (1280, 720))
    else:
        with pytest.raises(ValueError, match="camera"):
            CameraMode.parse(size, fps)


def test_gui_command_refuses_a_bad_camera_size_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from adain_live.cli import main

    assert main(["gui", "--camera-size", "big"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--camera-size" in err[0] and "1280x720" in err[0]
