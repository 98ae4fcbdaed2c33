from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest
import torch
from PIL import Image

from adain_live.cli import main
from adain_live.core import AdaINModel
from adain_live.engine.pipeline import StylePipeline
from adain_live.engine.video_job import restyle_video
from adain_live.media.synth import make_test_video, pattern

NTSC = Fraction(30000, 1001)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("clip") / "clip.mp4", size=(66, 50), frames=6, rate=NTSC)


@pytest.fixture(scope="module")
def style_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("style") / "style.png"
    Image.fromarray(pattern(40, 40, 17)[:, ::-1].copy()).save(path)
    return path


def test_real_pipeline_random_weights(clip: Path, tmp_path: Path) -> None:
    pipe = StylePipeline(AdaINModel.random(seed=3), torch.device("cpu"), torch.float32, size=32)
    pipe.set_style(pipe.style_stats(pattern(32, 32, 9), style_size=32))
    result = restyle_video(clip, tmp_path / "o.mp4", pipe, batch_size=4)
    with av.open(str(tmp_path / "o.mp4")) as c:
        frames = [(f.pts, f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]
    assert result.frames == len(frames) == 6
    assert [pts for pts, _ in frames] == [1001 * i for i in range(6)]
    assert frames[0][1].shape == (50, 66, 3)  # output size = input size, not --size
    assert frames[0][1].std() > 1  # not a blank frame


def test_cli_video(clip: Path, style_png: Path, canonical_files: tuple[Path, Path], tmp_path: Path,
                   capsys: pytest.CaptureFixture[str]) -> None:
    vgg, dec = canonical_files
    out = tmp_path / "styled.mp4"
    argv = ["video", str(clip), "-o", str(out), "-s", str(style_png), "--size", "32", "--style-size", "32",
            "--vgg", str(vgg), "--decoder", str(dec), "--device", "cpu", "--batch", "2"]
    assert main(argv) == 0
    with av.open(str(out)) as c:
        assert c.streams.video[0].frames == 6 and c.streams.video[0].average_rate == NTSC
        assert [s.codec_context.name for s in c.streams.audio] == ["aac"]
    assert main(argv) == 2  # exists, no --overwrite: one line, non-zero
    assert "--overwrite" in capsys.readouterr().err
    assert main([*argv, "--overwrite", "--codec", "vp9", "-o", str(tmp_path / "dir")]) == 0
    assert (tmp_path / "dir" / "clip_styled.webm").is_file()


def test_cli_bad_input_one_line(tmp_path: Path, style_png: Path, canonical_files: tuple[Path, Path],
                                capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.mp4"
    bad.write_text("hello")
    vgg, dec = canonical_files
    code = main(["video", str(bad), "-o", str(tmp_path / "o.mp4"), "-s", str(style_png), "--vgg", str(vgg),
                 "--decoder", str(dec), "--device", "cpu", "--size", "32"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "notes.mp4" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.mp4"]
