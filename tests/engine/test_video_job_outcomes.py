"""What a video job reports: the result's fields, the partial-result line and the one-line write errors."""

from __future__ import annotations

import dataclasses
import errno
import logging
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adain_live.engine import video_job
from adain_live.engine.video_job import padded, restyle_video
from adain_live.errors import MediaError
from adain_live.media.synth import make_test_video, remux_faststart
from adain_live.media.video_writer import EncodeSettings


class Same:
    def process_batch(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        return list(frames)


class Failing:
    def process_batch(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        raise RuntimeError("the model failed")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("outcomes")
    whole = remux_faststart(make_test_video(d / "v20.mp4", frames=20), d / "whole.mp4")
    cut = d / "cut.mp4"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) * 60 // 100])
    return {"whole": whole, "cut": cut}


def test_result_names_the_output_input_and_timing(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    t0 = time.perf_counter()
    result = restyle_video(clips["whole"], out, Same())
    wall = time.perf_counter() - t0
    assert result.output == out and result.info.path == clips["whole"] and result.frames == 20
    assert 0 < result.seconds <= wall and result.fps == pytest.approx(20 / result.seconds)
    assert not result.partial


def test_partial_line_says_n_of_m_and_why(clips: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "o.mp4"
    result = restyle_video(clips["cut"], out, Same())
    n, src = result.frames, clips["cut"]
    assert result.partial and 0 < n < 20 and result.expected == 20
    assert result.partial_line() == (f"{src} is truncated or damaged: wrote {n} of 20 frames to {out} "
                                     "(the file ends early: truncated?)")
    damaged = dataclasses.replace(result, damage="cannot decode it: Invalid data")
    assert damaged.partial_line() == (f"{src} is truncated or damaged: wrote {n} of 20 frames to {out}: "
                                      "cannot decode it: Invalid data")
    unknown = dataclasses.replace(result, expected=None, damage="bad packet")
    assert unknown.partial_line() == f"{src} is truncated or damaged: wrote {n} frames to {out}: bad packet"


def _refuse_temp_file(monkeypatch: pytest.MonkeyPatch, exc: OSError) -> None:
    """The output folder passes the early check, then refuses the job's temporary file."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(tempfile, "mkstemp", refuse)


@pytest.mark.parametrize(("exc", "line"), [
    (OSError(errno.EIO, "Input/output error"), "cannot write {out}: Input/output error; choose another -o"),
    (OSError("quota exceeded"), "cannot write {out}: quota exceeded; choose another -o"),
    (PermissionError(errno.EACCES, "Permission denied"),
     "cannot write {out}: folder {folder} is not writable (Permission denied); choose another -o"),
    (OSError(errno.ENOSPC, "No space left on device"),
     "disk full while writing {out}: free some space or choose another output location (-o)"),
])
def test_write_errors_are_one_line(clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   exc: OSError, line: str) -> None:
    out = tmp_path / "o.mp4"
    _refuse_temp_file(monkeypatch, exc)
    with pytest.raises(MediaError) as info:
        restyle_video(clips["whole"], out, Same())
    assert str(info.value) == line.format(out=out, folder=tmp_path)


class _Container:
    """An output container whose ``mux`` or ``close`` fails as a full disk or a broken drive would."""

    def __init__(self, real: Any, mux_error: OSError | None = None, close_error: OSError | None = None) -> None:
        self._real, self._mux_error, self._close_error = real, mux_error, close_error
        self.closed = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def mux(self, packets: Any) -> None:
        if self._mux_error is not None:
            raise self._mux_error
        self._real.mux(packets)

    def close(self) -> None:
        self._real.close()
        self.closed = True
        if self._close_error is not None:
            raise self._close_error


def _wrap_output(monkeypatch: pytest.MonkeyPatch, **errors: OSError) -> list[_Container]:
    made: list[_Container] = []
    real_open = video_job.open_output

    def wrapped(path: Path, **kwargs: Any) -> _Container:
        made.append(_Container(real_open(path, **kwargs), **errors))
        return made[-1]

    monkeypatch.setattr(video_job, "open_output", wrapped)
    return made


def test_disk_full_while_muxing_names_the_output(clips: dict[str, Path], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "o.mp4"
    _wrap_output(monkeypatch, mux_error=OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(MediaError) as info:
        restyle_video(clips["whole"], out, Same())
    assert str(info.value) == f"disk full while writing {out}: free some space or choose another output location (-o)"
    assert list(tmp_path.iterdir()) == []


def test_failure_when_finishing_the_file_is_one_line(clips: dict[str, Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "o.mp4"
    _wrap_output(monkeypatch, close_error=OSError(errno.EIO, "Input/output error"))
    with pytest.raises(MediaError) as info:
        restyle_video(clips["whole"], out, Same())
    assert str(info.value) == f"cannot write {out}: Input/output error; choose another -o"
    assert list(tmp_path.iterdir()) == []


def test_a_failed_job_closes_its_output_and_reports_the_first_error(
        clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """The partial file is closed (an open handle keeps it on Windows); a failing close is only logged."""
    made = _wrap_output(monkeypatch, close_error=OSError(errno.EIO, "Input/output error"))
    with caplog.at_level(logging.DEBUG, logger=video_job.__name__), \
            pytest.raises(RuntimeError, match="^the model failed$"):
        restyle_video(clips["whole"], tmp_path / "o.mp4", Failing())
    assert made and made[0].closed
    assert "closing the partial output failed: [Errno 5] Input/output error" in caplog.messages
    assert list(tmp_path.iterdir()) == []


def test_padded_says_when_yuv420p_pads_an_odd_size() -> None:
    assert padded(641, 361, EncodeSettings())
    assert padded(640, 361, EncodeSettings())
    assert not padded(640, 360, EncodeSettings())
    assert not padded(641, 361, EncodeSettings(pix_fmt="yuv444p"))


# --- checks before any work -------------------------------------------------------------------------------
SUFFIXES = ".mp4, .m4v, .mov, .mkv, .webm, .avi"


def test_output_location_problems_are_one_line(clips: dict[str, Path], tmp_path: Path) -> None:
    src = clips["whole"]
    cases = [
        (tmp_path, f"output {tmp_path} is a folder: give a file name ending in {SUFFIXES}"),
        (tmp_path / "o.gif", f"cannot tell the video format from 'o.gif': end it in {SUFFIXES}"),
        (tmp_path / "nope" / "o.mp4", f"cannot write {tmp_path / 'nope' / 'o.mp4'}: folder {tmp_path / 'nope'} "
                                      "does not exist"),
    ]
    for out, line in cases:
        with pytest.raises(MediaError) as info:
            restyle_video(src, out, Same())
        assert str(info.value) == line


def test_an_output_open_in_another_program_is_found_first(clips: dict[str, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows refuses to replace a file a player holds open: say so before encoding for minutes."""
    out = tmp_path / "o.mp4"
    out.write_bytes(b"playing")

    def locked(path: object) -> None:
        if Path(str(path)) == out:
            raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(video_job, "check_replaceable", locked)
    with pytest.raises(MediaError) as info:
        restyle_video(clips["whole"], out, Failing(), overwrite=True)
    assert str(info.value) == (f"cannot replace {out}: it is open in another program or read-only; close it or "
                               "choose another -o")
    assert out.read_bytes() == b"playing"


def test_a_read_only_output_folder_is_found_first(clips: dict[str, Path], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real = tempfile.TemporaryFile

    def read_only_here(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("dir") == tmp_path:
            raise PermissionError(errno.EROFS, "Read-only file system")
        return real(*args, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only_here)
    out = tmp_path / "o.mp4"
    with pytest.raises(MediaError) as info:
        restyle_video(clips["whole"], out, Failing())
    assert str(info.value) == (f"cannot write {out}: folder {tmp_path} is not writable (Read-only file system); "
                               "choose another -o")


@pytest.mark.parametrize(("batch", "queue"), [(0, 16), (4, 0)])
def test_batch_and_queue_sizes_are_validated(clips: dict[str, Path], tmp_path: Path, batch: int, queue: int) -> None:
    with pytest.raises(ValueError, match=rf"^batch_size \({batch}\) and queue_size \({queue}\) must be >= 1$"):
        restyle_video(clips["whole"], tmp_path / "o.mp4", Same(), batch_size=batch, queue_size=queue)


class Counting(Same):
    def __init__(self) -> None:
        self.batches: list[int] = []

    def process_batch(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        self.batches.append(len(frames))
        return list(frames)


def test_default_batch_is_4_and_1_1_is_allowed(clips: dict[str, Path], tmp_path: Path) -> None:
    pipe = Counting()
    restyle_video(clips["whole"], tmp_path / "a.mp4", pipe)
    assert pipe.batches == [4] * 5
    pipe = Counting()
    assert restyle_video(clips["whole"], tmp_path / "b.mp4", pipe, batch_size=1, queue_size=1).frames == 20
    assert pipe.batches == [1] * 20


# --- during and after the job ------------------------------------------------------------------------------
def test_debug_log_sums_the_job_up(clips: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "o.mp4"
    with caplog.at_level(logging.DEBUG, logger=video_job.__name__):
        restyle_video(clips["whole"], out, Same())
    lines = [m for m in caplog.messages if m.startswith(str(out))]
    assert len(lines) == 1
    assert re.fullmatch(rf"{re.escape(str(out))}: 20 frames in \d+\.\d s \(\d+\.\d fps\)", lines[0])


def _wrapped_disk_full() -> BaseException:
    """What a library that wraps the OS error raises (torch.save: RuntimeError from the OSError)."""
    try:
        raise OSError(errno.ENOSPC, "No space left on device")
    except OSError as exc:
        try:
            raise RuntimeError("writing the cache failed") from exc
        except RuntimeError as wrapped:
            return wrapped


@pytest.mark.parametrize("make", [lambda: OSError(errno.ENOSPC, "No space left on device"), _wrapped_disk_full],
                         ids=["oserror", "wrapped"])
def test_a_full_disk_anywhere_in_the_job_is_the_disk_full_line(clips: dict[str, Path], tmp_path: Path,
                                                               make: Any) -> None:
    class Spilling:
        def process_batch(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
            raise make()

    out = tmp_path / "o.mp4"
    with pytest.raises(MediaError) as info:
        restyle_video(clips["whole"], out, Spilling())
    assert str(info.value) == f"disk full while writing {out}: free some space or choose another output location (-o)"
    assert list(tmp_path.iterdir()) == []


def test_damage_reason_reaches_the_result(clips: dict[str, Path], tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from adain_live.media import video_reader

    real = video_reader.VideoReader._raw_items
    why = f"cannot decode {clips['whole']}: Invalid data (truncated or corrupt file?)"

    def failing(self: video_reader.VideoReader) -> Any:
        for n, item in enumerate(real(self)):
            if n == 10:
                raise MediaError(why)
            yield item

    monkeypatch.setattr(video_reader.VideoReader, "_raw_items", failing)
    result = restyle_video(clips["whole"], tmp_path / "o.mp4", Same())
    assert result.damage == why and result.partial_line().endswith(f": {why}")


def test_progress_total_comes_from_duration_when_the_header_has_no_count(tmp_path: Path) -> None:
    src = make_test_video(tmp_path / "in.mkv", frames=15, audio=())  # Matroska stores no frame count
    seen: list[Any] = []
    result = restyle_video(src, tmp_path / "o.mp4", Same(), on_progress=seen.append)
    assert result.expected is None and result.frames == 15
    assert [p.total for p in seen] == [15] * 15 and seen[-1].done == 15
