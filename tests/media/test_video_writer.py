from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import av
import pytest

from adain_live.errors import MediaError
from adain_live.media.synth import pattern
from adain_live.media.video_writer import EncodeSettings, VideoEncoder, check_encoder, encoded_size, mux, open_output


def _write(path: Path, size: tuple[int, int], settings: EncodeSettings, n: int = 3) -> tuple[int, int]:
    out = open_output(path)
    with out:
        enc = VideoEncoder(out, width=size[0], height=size[1], time_base=Fraction(1, 30000),
                           rate=Fraction(30000, 1001), settings=settings)
        for i in range(n):
            mux(out, enc.encode(pattern(*size, i), 1001 * i, 1001), path)
        mux(out, enc.flush(), path)
    with av.open(str(path)) as c:  # decode everything and keep plain values: no frame outlives its file
        sizes = [(f.width, f.height) for f in c.decode(video=0)]
    return sizes[0]


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match="codec"):
        EncodeSettings(codec="divx")
    with pytest.raises(ValueError, match="quality"):
        EncodeSettings(quality=99)
    with pytest.raises(ValueError, match="pix_fmt"):
        EncodeSettings(pix_fmt="rgb24")
    assert EncodeSettings().options()["crf"] == "20"
    assert EncodeSettings(codec="nvenc", quality=30).options()["cq"] == "30"


def test_odd_size_policy() -> None:
    assert encoded_size(641, 361, EncodeSettings()) == (642, 362)
    assert encoded_size(641, 361, EncodeSettings(pix_fmt="yuv444p")) == (641, 361)
    assert encoded_size(641, 361, EncodeSettings(codec="vp9")) == (641, 361)
    assert encoded_size(640, 360, EncodeSettings()) == (640, 360)


@pytest.mark.parametrize(("settings", "suffix", "expected"), [
    (EncodeSettings(), ".mp4", (42, 30)),
    (EncodeSettings(pix_fmt="yuv444p"), ".mp4", (41, 29)),
    (EncodeSettings(codec="vp9"), ".webm", (41, 29)),
])
def test_odd_sizes_encode(tmp_path: Path, settings: EncodeSettings, suffix: str, expected: tuple[int, int]) -> None:
    assert _write(tmp_path / f"odd{suffix}", (41, 29), settings) == expected


def test_h265_odd_size_and_tiny_refused(tmp_path: Path) -> None:
    assert _write(tmp_path / "h265.mp4", (129, 97), EncodeSettings(codec="h265")) == (130, 98)
    with pytest.raises(MediaError, match="use --codec h264"):
        _write(tmp_path / "tiny.mp4", (41, 29), EncodeSettings(codec="h265"))


def test_frame_size_enforced(tmp_path: Path) -> None:
    path = tmp_path / "x.mp4"
    with open_output(path) as out:
        enc = VideoEncoder(out, width=32, height=24, time_base=Fraction(1, 30), rate=Fraction(30),
                           settings=EncodeSettings())
        enc.encode(pattern(32, 24, 0), 0)
        with pytest.raises(MediaError, match="first's size"):
            enc.encode(pattern(30, 24, 1), 1)


def _has_nvidia_gpu() -> bool:
    return shutil.which("nvidia-smi") is not None


@pytest.mark.skipif(_has_nvidia_gpu(), reason="an NVIDIA GPU is present: NVENC may open")
def test_nvenc_without_gpu_is_one_line_error() -> None:
    with pytest.raises(MediaError) as err:
        check_encoder(EncodeSettings(codec="nvenc"))
    assert "--codec h264" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.gpu
@pytest.mark.skipif(not _has_nvidia_gpu(), reason="needs an NVIDIA GPU")
def test_nvenc_opens_with_a_gpu() -> None:
    import av

    if "h264_nvenc" not in av.codecs_available:
        pytest.skip("this PyAV's FFmpeg was built without NVENC")
    check_encoder(EncodeSettings(codec="nvenc"))


def test_unwritable_output(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="cannot write"):
        open_output(tmp_path / "missing_dir" / "x.mp4")
