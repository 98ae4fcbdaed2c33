"""``video`` never loses a file and never reports a partial result as success (issue 15)."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from adain_live import weights
from adain_live.cli import main
from adain_live.engine.video_job import restyle_video
from adain_live.errors import MediaError
from adain_live.media.synth import make_test_video, pattern, remux_faststart
from tests.helpers import fail_decoding_at

ROOT = Path(__file__).resolve().parents[2]


class Invert:
    def process_batch(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        shapes = {f.shape for f in frames}
        assert len(shapes) == 1, shapes  # a batch has one shape
        return [255 - f for f in frames]


def _frames(path: Path) -> list[tuple[int, int]]:
    with av.open(str(path)) as c:
        return [(f.width, f.height) for f in c.decode(video=0)]


faststart = remux_faststart


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("rel")
    whole = faststart(make_test_video(d / "v40.mp4", frames=40), d / "fs.mp4")
    data = whole.read_bytes()
    cut = d / "cut60.mp4"
    cut.write_bytes(data[: len(data) * 60 // 100])
    a = make_test_video(d / "a.ts", size=(64, 48), frames=6, audio=())
    b = make_test_video(d / "b.ts", size=(80, 60), frames=6, audio=(), pts=list(range(8, 14)),
                        time_base=Fraction(1001, 30000))
    spliced = d / "spliced.ts"
    spliced.write_bytes(a.read_bytes() + b.read_bytes())
    style = d / "style.png"
    Image.fromarray(pattern(32, 32, 5)).save(style)
    return {"whole": whole, "cut": cut, "spliced": spliced, "style": style}


def _argv(canonical: tuple[Path, Path], style: Path, *rest: str) -> list[str]:
    return ["-q", "video", *rest, "-s", str(style), "--size", "32", "--style-size", "32", "--vgg", str(canonical[0]),
            "--decoder", str(canonical[1]), "--device", "cpu", "--batch", "4"]


def test_truncated_input_keeps_output_says_n_of_m_and_exits_1(
        media: dict[str, Path], canonical_files: tuple[Path, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.mp4"
    assert main(_argv(canonical_files, media["style"], str(media["cut"]), "-o", str(out))) == 1
    err = capsys.readouterr().err.strip().splitlines()
    done = len(_frames(out))  # the output is kept and decodes
    assert 0 < done < 40
    assert len(err) == 1 and f"wrote {done} of 40 frames" in err[0], err


def test_truncated_input_job_result_is_partial(media: dict[str, Path], tmp_path: Path) -> None:
    result = restyle_video(media["cut"], tmp_path / "o.mp4", Invert())
    assert result.partial and result.expected == 40 and result.frames == len(_frames(tmp_path / "o.mp4"))
    whole = restyle_video(media["whole"], tmp_path / "w.mp4", Invert())
    assert not whole.partial and whole.frames == 40


def test_resolution_change_midstream_is_scaled_to_the_first_size(media: dict[str, Path], tmp_path: Path) -> None:
    result = restyle_video(media["spliced"], tmp_path / "o.mp4", Invert(), batch_size=4)
    assert result.frames == 12 and _frames(tmp_path / "o.mp4") == [(64, 48)] * 12


def test_decode_error_midway_ends_the_job_with_what_it_has(media: dict[str, Path], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:

    fail_decoding_at(monkeypatch, 20)
    result = restyle_video(media["whole"], tmp_path / "o.mp4", Invert())
    assert result.partial and result.damage and 0 < result.frames < 40
    assert len(_frames(tmp_path / "o.mp4")) == result.frames


def _no_model(*args: object, **kwargs: object) -> None:
    raise AssertionError("the model was loaded before the output was checked")


@pytest.mark.parametrize("case", ["exists", "unwritable", "parent-is-file"])
def test_output_problems_are_found_before_the_model_loads(
        media: dict[str, Path], canonical_files: tuple[Path, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], case: str) -> None:
    monkeypatch.setattr(weights, "load_model", _no_model)
    out = tmp_path / "o.mp4"
    if case == "exists":
        out.write_bytes(b"keep me")
    elif case == "unwritable":  # a read-only mount or a 555 folder as non-root (we may run as root)
        def refuse(*args: object, **kwargs: object) -> None:
            raise PermissionError(errno.EROFS, "Read-only file system")
        monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    else:
        (tmp_path / "file").write_text("x")
        out = tmp_path / "file" / "sub" / "o.mp4"
    assert main(_argv(canonical_files, media["style"], str(media["whole"]), "-o", str(out))) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("adain-live: error:"), err
    if case == "exists":
        assert out.read_bytes() == b"keep me"


def test_unwritable_folder_at_write_time_is_one_line(media: dict[str, Path], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(MediaError, match="not writable"):
        restyle_video(media["whole"], tmp_path / "o.mp4", Invert())
    assert list(tmp_path.iterdir()) == []


def test_failed_checks_leave_no_empty_output_folder(media: dict[str, Path], canonical_files: tuple[Path, Path],
                                                    tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    out = tmp_path / "outdir"
    assert main(_argv(canonical_files, media["style"], str(media["whole"]), str(bad), "-o", str(out))) == 2
    assert not out.exists()


def test_stale_part_files_of_dead_writers_are_removed(media: dict[str, Path], tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = tmp_path / f".o.mp4.{int(dead.stdout)}.abc123.part.mp4"
    alive = tmp_path / f".o.mp4.{os.getpid()}.def456.part.mp4"  # a writer that is still running
    stale.write_bytes(b"half")
    alive.write_bytes(b"half")
    restyle_video(media["whole"], tmp_path / "o.mp4", Invert())
    assert not stale.exists() and alive.exists()


def test_sigterm_is_handled_like_ctrl_c(canonical_files: tuple[Path, Path], tmp_path: Path) -> None:
    src = make_test_video(tmp_path / "long.mp4", size=(64, 48), frames=600, audio=())
    style = tmp_path / "s.png"
    Image.fromarray(pattern(32, 32, 5)).save(style)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    argv = _argv(canonical_files, style, str(src), "-o", str(out_dir / "o.mp4"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "adain_live", *argv], stderr=subprocess.PIPE, text=True,
                            env=env)
    deadline = time.monotonic() + 120
    while not list(out_dir.iterdir()) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)  # the temporary file appears when encoding starts
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert len(err.strip().splitlines()) == 1 and "SIGTERM" in err
    assert list(out_dir.iterdir()) == []


def test_avi_output_has_the_input_rate_and_ordered_timestamps(media: dict[str, Path], tmp_path: Path) -> None:
    src = make_test_video(tmp_path / "in.mp4", size=(64, 48), frames=12)  # 30000/1001 fps, with B-frames
    restyle_video(src, tmp_path / "o.avi", Invert())
    with av.open(str(tmp_path / "o.avi")) as c:
        rate = c.streams.video[0].average_rate
        pts = [f.pts for f in c.decode(video=0)]
    assert rate == Fraction(30000, 1001)  # not 600 fps
    assert len(pts) == 12 and all(b > a for a, b in zip(pts, pts[1:], strict=False))
