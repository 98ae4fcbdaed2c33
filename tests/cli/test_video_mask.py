"""``adain-live video --mask``: person masks per frame (bundled segmenter), files, bad arguments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adain_live.assets import STYLES_DIR
from adain_live.cli import main
from adain_live.media.synth import make_test_video
from adain_live.media.video_reader import VideoReader

STYLE = STYLES_DIR / "kandinsky.jpg"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("clip") / "clip.mp4", size=(64, 36), frames=5, audio=())


def _frames(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [f.image for f in reader.frames()]


def test_video_background_region_keeps_the_frame_count(clip: Path, tmp_path: Path, model_args: list[str]) -> None:
    out = tmp_path / "bg.mp4"
    rc = main(["video", str(clip), "-s", str(STYLE), "--mask", "background", "--mask-smoothing", "0.5",
               "--size", "0", "--style-size", "64", *model_args, "-o", str(out)])
    assert rc == 0
    assert len(_frames(out)) == 5


def test_video_mask_file_with_one_style_keeps_the_rest(clip: Path, tmp_path: Path, model_args: list[str]) -> None:
    from PIL import Image

    mask = np.zeros((36, 64), np.uint8)
    mask[:, 40:] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    out = tmp_path / "half.mp4"
    assert main(["video", str(clip), "-s", str(STYLE), "--mask", str(tmp_path / "m.png"), "--size", "0",
                 "--style-size", "64", "--pix-fmt", "yuv444p", "--crf", "0", *model_args, "-o", str(out)]) == 0
    src, got = _frames(clip), _frames(out)
    left = [np.abs(a[:, :30].astype(int) - b[:, :30]).mean() for a, b in zip(src, got, strict=True)]
    right = [np.abs(a[:, 44:].astype(int) - b[:, 44:]).mean() for a, b in zip(src, got, strict=True)]
    assert max(left) < 3 < min(right)


@pytest.mark.parametrize("extra", [["--mask-smoothing", "1"], ["--mask", "person", "--mix", "1,1", "-s",
                                                                 str(STYLE)]])
def test_video_bad_mask_arguments_exit_2(clip: Path, tmp_path: Path, model_args: list[str],
                                         extra: list[str]) -> None:
    args = ["video", str(clip), "-s", str(STYLE), "--mask", "person", *extra, *model_args,
            "-o", str(tmp_path / "x.mp4")]
    assert main(args) == 2
    assert not (tmp_path / "x.mp4").exists()
