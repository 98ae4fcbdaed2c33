"""``adain-live flicker`` on synthetic clips with known motion."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adain_live.cli import main
from adain_live.engine.temporal import measure_flicker
from adain_live.errors import MediaError
from adain_live.media.motion import motion_clip, textured_image, write_clip


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("flicker")
    frames = motion_clip(textured_image(160, 120, seed=2), 6, (96, 72), pan=(2.0, 0.0))
    rng = np.random.default_rng(0)
    noisy = [np.clip(f + rng.normal(0, 8, f.shape), 0, 255).astype(np.uint8) for f in frames]
    return {"orig": write_clip(d / "orig.mp4", frames), "noisy": write_clip(d / "noisy.mp4", noisy),
            "short": write_clip(d / "short.mp4", frames[:4]),
            "other": write_clip(d / "other.mp4", [f[:40, :50] for f in frames])}


def test_flicker_of_consistent_and_noisy_outputs(clips: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flicker", str(clips["orig"]), str(clips["orig"]), "--json"]) == 0
    clean = json.loads(capsys.readouterr().out)
    assert main(["flicker", str(clips["orig"]), str(clips["noisy"]), "--json", "--size", "0"]) == 0
    noisy = json.loads(capsys.readouterr().out)
    assert clean["pairs"] == noisy["pairs"] == 5 and clean["frames"] == 6
    assert clean["warping_error"] < 1e-4 < 0.001 < noisy["warping_error"]
    assert main(["flicker", str(clips["orig"]), str(clips["noisy"]), "--frames", "3"]) == 0
    assert "over 2 frame pairs" in capsys.readouterr().out


@pytest.mark.parametrize(("other", "words"), [("short", "more frames"), ("other", "50x40")])
def test_mismatched_videos_one_line(clips: dict[str, Path], other: str, words: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flicker", str(clips["orig"]), str(clips[other])]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and words in err
    with pytest.raises(MediaError):
        measure_flicker(clips["orig"], clips[other])


def test_bad_arguments_one_line(clips: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flicker", str(tmp_path / "missing.mp4"), str(clips["orig"])]) == 2
    assert "missing.mp4" in capsys.readouterr().err
    assert main(["flicker", str(clips["orig"]), str(clips["orig"]), "--size", "-1"]) == 2
    assert "--size" in capsys.readouterr().err


def test_video_stabilize_and_flicker_summary(clips: dict[str, Path], model_args: list[str], tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    style = tmp_path / "style.png"
    Image.fromarray(textured_image(40, 40, seed=5)).save(style)
    out = tmp_path / "o.mp4"
    argv = ["video", str(clips["orig"]), "-o", str(out), "-s", str(style), "--size", "32", "--style-size", "32",
            *model_args, "--stabilize", "flow", "--flicker"]
    with caplog.at_level(logging.INFO):
        assert main(argv) == 0
    assert "flicker (warping error)" in caplog.text
    assert measure_flicker(clips["orig"], out).frames == 6


def test_video_bad_stabilize_blend_one_line(clips: dict[str, Path], model_args: list[str], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["video", str(clips["orig"]), "-o", str(tmp_path / "o.mp4"), "-s", str(clips["orig"]), *model_args,
            "--stabilize", "flow", "--stabilize-blend", "1.5"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "blend" in err and not (tmp_path / "o.mp4").exists()
