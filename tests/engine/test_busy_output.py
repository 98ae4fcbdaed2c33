"""A video output that another program holds open (Windows) is refused before any encode, in one line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from adain_live import _fs
from adain_live.cli import main
from adain_live.media.synth import make_test_video


def _held_open(monkeypatch: pytest.MonkeyPatch, held: Path) -> None:
    """Behave like Windows with ``held`` open in a video player: opening it for writing is a sharing violation."""
    real_open = open

    def fake_open(path: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        if Path(str(path)) == held and any(c in mode for c in "wa+"):
            raise PermissionError(13, "The process cannot access the file because it is being used", str(path))
        return real_open(path, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(_fs, "open", fake_open, raising=False)


def test_check_replaceable_only_matters_on_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"old")
    _fs.check_replaceable(out, platform="linux")
    _fs.check_replaceable(tmp_path / "missing.mp4", platform="win32")
    _held_open(monkeypatch, out)
    with pytest.raises(PermissionError):
        _fs.check_replaceable(out)


def test_busy_output_is_one_line_before_the_encode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    clip = make_test_video(tmp_path / "clip.mp4", size=(32, 24), frames=2)
    out = tmp_path / "out.mp4"
    out.write_bytes(b"old")
    _held_open(monkeypatch, out)
    code = main(["video", str(clip), "-o", str(out), "--overwrite", "-s", str(clip), "--device", "cpu"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "open in another program" in err[0]
    assert out.read_bytes() == b"old"
