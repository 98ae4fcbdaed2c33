from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from adain_live.errors import MediaError
from adain_live.media import CameraSource, FileSource, FrameSource, list_cameras, open_source
from adain_live.media.camera_list import linux_cameras as _linux_cameras
from adain_live.media.synth import pattern


def test_file_source_every_frame_in_order(small: Path) -> None:
    with FileSource(small, queue_size=2) as src:
        assert src.size == (64, 48) and abs(src.fps - 29.97) < 0.01
        frames = []
        while (f := src.read(timeout=10)) is not None:
            frames.append(f)
        assert src.read() is None  # stays at the end
    assert [f.index for f in frames] == list(range(10))
    assert [round(f.timestamp * 30000) for f in frames] == [1001 * i for i in range(10)]
    assert frames[0].image.dtype == np.uint8 and frames[0].image.shape == (48, 64, 3)
    assert np.median(np.abs(frames[2].image.astype(int) - pattern(64, 48, 2).astype(int))) < 10


def _wait_for(cond: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def test_file_source_back_pressure(small: Path) -> None:
    src = FileSource(small, queue_size=2)
    pulled: list[object] = []
    decode = src._reader.frames  # type: ignore[union-attr]

    def counting() -> object:
        for f in decode():
            pulled.append(f)
            yield f

    src._reader.frames = counting  # type: ignore[union-attr, method-assign]
    src.start()
    _wait_for(src._queue.full)
    time.sleep(0.3)  # time in which a decoder that drops (instead of waiting) would run through the file
    assert len(pulled) <= 3  # 2 queued + 1 waiting to be put: the decoder waits for the reader
    frames = list(iter(lambda: src.read(timeout=10), None))
    assert [f.index for f in frames] == list(range(10))  # nothing dropped
    src.close()
    src.close()


def test_close_wakes_a_read_waiting_for_the_first_frame(small: Path) -> None:
    """A live capture thread blocks in read() until the first frame is decoded; closing the source (the app's
    window closed while starting) must end that read, or the capture thread outlives the window."""
    import threading

    src = FileSource(small)

    def busy_decoder() -> object:
        src._stop.wait()  # still decoding the first frame when the source is closed
        return iter(())

    src._reader.frames = busy_decoder  # type: ignore[union-attr, method-assign]
    got: list[object] = []
    consumer = threading.Thread(target=lambda: got.append(src.read()), name="FileSource-consumer", daemon=True)
    consumer.start()
    _wait_for(lambda: src._thread is not None and src._thread.is_alive())
    src.close()
    consumer.join(5)
    assert not consumer.is_alive(), "read() still blocks after close()"
    assert got == [None]


def test_file_source_loop_keeps_time_growing(small: Path) -> None:
    with FileSource(small, loop=True) as src:
        frames = [src.read(timeout=10) for _ in range(25)]
    assert all(f is not None for f in frames)
    stamps = [f.timestamp for f in frames if f is not None]
    assert all(b > a for a, b in zip(stamps, stamps[1:], strict=False))
    assert abs(stamps[10] - 10 * 1001 / 30000) < 1e-6  # the first frame of loop 2 follows the last of loop 1


def test_file_source_realtime_pacing(small: Path) -> None:
    with FileSource(small, realtime=True) as src:
        t0 = time.monotonic()
        n = sum(1 for _ in iter(lambda: src.read(timeout=10), None))
        took = time.monotonic() - t0
    assert n == 10 and took >= 9 * 1001 / 30000 * 0.9


def test_file_source_close_while_blocked(small: Path) -> None:
    src = FileSource(small, loop=True, queue_size=1).start()
    src.read(timeout=10)
    src.close()  # the decoder thread is blocked on a full queue: close must still return
    assert src.read() is None


def test_file_source_fails_fast(truncated: Path, text_mp4: Path) -> None:
    for bad in (truncated, text_mp4):
        with pytest.raises(MediaError):
            FileSource(bad)


def test_missing_camera_fails_fast() -> None:
    t0 = time.monotonic()
    with pytest.raises(MediaError, match="no camera at index 7"):
        CameraSource(7)
    assert time.monotonic() - t0 < 5


def test_camera_source_newest_frame_wins(small: Path) -> None:
    # OpenCV opens a file like a device: frames arrive faster than we read, so stale ones are dropped.
    cam = CameraSource(str(small)).start()
    assert cam.size == (64, 48)
    _wait_for(lambda: cam.dropped > 0)  # frames arrive while nobody reads
    first = cam.read(timeout=5)
    assert first is not None and first.image.shape == (48, 64, 3) and first.image.flags.c_contiguous
    assert first.index > 0 and cam.dropped > 0  # earlier frames were replaced, not queued
    with pytest.raises(MediaError, match="stopped delivering"):  # the "device" ran dry (unplugged)
        while cam.read(timeout=5) is not None:
            pass
    cam.close()
    cam.close()
    assert cam.read(timeout=1) is None


def test_open_source(small: Path) -> None:
    src = open_source(str(small))
    assert isinstance(src, FileSource) and isinstance(src, FrameSource)
    src.close()
    with pytest.raises(MediaError, match="no camera"):
        open_source("9")
    with pytest.raises(MediaError, match="neither a camera"):
        open_source("nope.mp4")


def test_list_cameras_reads_sysfs(tmp_path: Path) -> None:
    for node, name, index in (("video0", "Integrated Webcam", "0"), ("video1", "Integrated Webcam", "1"),
                              ("video2", "USB Cam", "0")):
        (tmp_path / node).mkdir()
        (tmp_path / node / "name").write_text(name + "\n")
        (tmp_path / node / "index").write_text(index + "\n")
    cams = _linux_cameras(tmp_path)
    assert [(c.index, c.name, c.path) for c in cams] == [(0, "Integrated Webcam", "/dev/video0"),
                                                         (2, "USB Cam", "/dev/video2")]
    assert isinstance(list_cameras(), list)
