"""End-to-end tests of ``adain-live stylize`` with a random-weight canonical pair."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from adain_live.assets import DEMO_CONTENT, STYLES_DIR
from adain_live.cli import main

STYLE = STYLES_DIR / "kandinsky.jpg"


def _rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), (x + y) % 256], axis=-1)
    return np.clip(base + rng.integers(-20, 20, (h, w, 3)), 0, 255).astype(np.uint8)


def _run_cli(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return subprocess.run([sys.executable, "-m", "adain_live", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_one_image_with_size(tmp_path: Path, model_args: list[str]) -> None:
    out = tmp_path / "out.png"
    assert main(["stylize", str(DEMO_CONTENT), "-s", str(STYLE), "--size", "64", *model_args, "-o", str(out)]) == 0
    img = Image.open(out)
    assert min(img.size) == 64  # processed and written at the processing size


def test_folder_with_two_styles_gives_one_output_per_style(tmp_path: Path, model_args: list[str]) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        Image.fromarray(_rgb(40, 56, i)).save(src / f"img{i}.png")
    (src / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    rc = main(["stylize", str(src), "-s", str(STYLE), "-s", str(STYLES_DIR / "autumn.jpg"), "--size", "0",
               "--style-size", "64", *model_args, "-o", str(out)])
    assert rc == 0
    assert len(list(out.glob("*_stylized_kandinsky.png"))) == 3
    assert len(list(out.glob("*_stylized_autumn.png"))) == 3


def test_mix_and_alpha_change_the_result(tmp_path: Path, model_args: list[str]) -> None:
    content = tmp_path / "c.png"
    Image.fromarray(_rgb(48, 48)).save(content)
    outs = {}
    runs = {"a": ["--mix", "1,0"], "b": ["--mix", "0.5,0.5"], "c": ["--mix", "1,0", "--alpha", "0.3"]}
    for name, extra in runs.items():
        out = tmp_path / f"out_{name}.png"
        assert main(["stylize", str(content), "-s", str(STYLE), "-s", str(STYLES_DIR / "autumn.jpg"), "--size", "0",
                     "--style-size", "64", *extra, *model_args, "-o", str(out)]) == 0
        outs[name] = np.asarray(Image.open(out)).astype(int)
    single = tmp_path / "single.png"
    assert main(["stylize", str(content), "-s", str(STYLE), "--size", "0", "--style-size", "64", *model_args,
                 "-o", str(single)]) == 0
    assert np.abs(outs["a"] - np.asarray(Image.open(single)).astype(int)).max() <= 1  # weight 1,0 == first style
    assert np.abs(outs["a"] - outs["b"]).mean() > 0.5
    assert np.abs(outs["a"] - outs["c"]).mean() > 0.5


def _cbcr(rgb: np.ndarray) -> np.ndarray:
    """BT.601 (Cb, Cr) of an RGB image, in 0–255 units around 0."""
    r, g, b = (rgb[..., i].astype(float) for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return np.stack([(b - y) * 0.564, (r - y) * 0.713], axis=-1)


def test_mask_and_preserve_color(tmp_path: Path, model_args: list[str]) -> None:
    photo = _rgb(48, 64)
    content = tmp_path / "c.png"
    Image.fromarray(photo).save(content)
    mask = np.zeros((48, 64), np.uint8)
    mask[:, 32:] = 255
    Image.fromarray(mask).save(tmp_path / "m.png")
    left, right = np.s_[:, :31], np.s_[:, 33:]  # the halves, off the mask edge

    # One style: only the white half is styled, the black half stays the photo.
    one = tmp_path / "one.png"
    assert main(["stylize", str(content), "-s", str(STYLE), "--mask", str(tmp_path / "m.png"), "--size", "0",
                 "--style-size", "64", *model_args, "-o", str(one)]) == 0
    got = np.asarray(Image.open(one).convert("RGB")).astype(int)
    assert np.array_equal(got[left], photo[left])
    assert np.abs(got[right] - photo[right]).mean() > 5
    # Without --preserve-color the styled half takes other colours (measured: mean |ΔCbCr| ~37) ...
    assert np.abs(_cbcr(got[right]) - _cbcr(photo[right])).mean() > 10

    # ... with it, both halves (fg style / bg style) are restyled in luminance but keep the photo's chroma
    # (measured: mean |ΔCbCr| ≤ 0.7, mean Cb/Cr within 0.7 of the photo's).
    kept = tmp_path / "masked.png"
    rc = main(["stylize", str(content), "-s", str(STYLE), "-s", str(STYLES_DIR / "autumn.jpg"), "--mask",
               str(tmp_path / "m.png"), "--size", "0", "--style-size", "64", "--preserve-color", *model_args,
               "-o", str(kept)])
    assert rc == 0 and Image.open(kept).size == (64, 48)
    got = np.asarray(Image.open(kept).convert("RGB")).astype(int)
    for half in (left, right):
        assert np.abs(got[half] - photo[half]).mean() > 5  # styled (luminance changed)
        assert np.abs(_cbcr(got[half]) - _cbcr(photo[half])).mean() < 3
        np.testing.assert_allclose(_cbcr(got[half]).mean(axis=(0, 1)), _cbcr(photo[half]).mean(axis=(0, 1)), atol=2)


def _write_unusual(kind: str, path: Path) -> None:
    rgb = _rgb(33, 47)
    if kind == "png16":
        import cv2

        cv2.imwrite(str(path), rgb[..., ::-1].astype(np.uint16) * 257)  # 16-bit RGB PNG
    elif kind == "cmyk":
        Image.fromarray(rgb).convert("CMYK").save(path, "JPEG")
    elif kind == "gray":
        Image.fromarray(rgb).convert("L").save(path)
    elif kind == "palette":
        Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE).save(path)
    elif kind == "rgba":
        rgba = np.dstack([rgb, np.tile(np.linspace(0, 255, 47, dtype=np.uint8), (33, 1))])
        Image.fromarray(rgba, "RGBA").save(path)
    elif kind == "exif":
        img = Image.fromarray(rgb)
        exif = img.getexif()
        exif[0x0112] = 6  # rotate 90° clockwise on display
        img.save(path, "JPEG", exif=exif)
    elif kind == "tiny":
        Image.fromarray(rgb[:1, :1]).save(path)


@pytest.mark.parametrize(("kind", "suffix"), [("png16", ".png"), ("cmyk", ".jpg"), ("gray", ".png"),
                                              ("palette", ".png"), ("rgba", ".png"), ("exif", ".jpg"),
                                              ("tiny", ".png")])
def test_unusual_but_valid_images(tmp_path: Path, model_args: list[str], kind: str, suffix: str) -> None:
    src = tmp_path / f"in{suffix}"
    _write_unusual(kind, src)
    out = tmp_path / "out.png"
    assert main(["stylize", str(src), "-s", str(STYLE), "--size", "0", "--style-size", "64", *model_args,
                 "-o", str(out)]) == 0
    img = Image.open(out)
    expected = {"exif": (33, 47), "tiny": (1, 1)}.get(kind, (47, 33))
    assert img.size == expected
    if kind == "rgba":
        assert img.mode == "RGBA"
        alpha = np.asarray(img)[..., 3]
        assert alpha[:, 0].max() < 10 and alpha[:, -1].min() > 245  # alpha carried over unchanged


@pytest.mark.parametrize("case", ["missing", "corrupt", "empty", "text"])
def test_bad_images_give_one_line_and_no_output(tmp_path: Path, model_args: list[str], case: str) -> None:
    src = tmp_path / "in.jpg"
    if case == "corrupt":
        src.write_bytes(DEMO_CONTENT.read_bytes()[:300])
    elif case == "empty":
        src.write_bytes(b"")
    elif case == "text":
        src.write_text("hello")
    out = tmp_path / "out.png"
    res = _run_cli(["stylize", str(src), "-s", str(STYLE), *model_args, "-o", str(out)])
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adain-live: error:"), res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".out*"))  # no temporary leftovers


@pytest.mark.parametrize("case", ["missing", "wrong-arch", "evil", "garbage"])
def test_bad_weights_give_one_line(tmp_path: Path, canonical_files: tuple[Path, Path], case: str) -> None:
    vgg, dec = canonical_files
    if case == "missing":
        dec = tmp_path / "nope.pth"
    elif case == "wrong-arch":
        dec = vgg
    elif case == "evil":
        dec = tmp_path / "evil.pth"
        dec.write_bytes(_evil_pickle(tmp_path / "pwned"))
    elif case == "garbage":
        dec = tmp_path / "garbage.pth"
        dec.write_bytes(os.urandom(4096))
    out = tmp_path / "out.png"
    res = _run_cli(["stylize", str(DEMO_CONTENT), "-s", str(STYLE), "--vgg", str(vgg), "--decoder", str(dec),
                    "--device", "cpu", "-o", str(out)])
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr, res.stderr
    assert not out.exists() and not (tmp_path / "pwned").exists()


def _evil_pickle(marker: Path) -> bytes:
    import io
    import pickle

    class Evil:
        def __reduce__(self):  # noqa: ANN204
            return (os.system, (f"touch {marker}",))

    buf = io.BytesIO()
    torch.save({"1.weight": Evil()}, buf, pickle_module=pickle)
    return buf.getvalue()


def test_debug_shows_the_traceback(tmp_path: Path, model_args: list[str]) -> None:
    res = _run_cli(["--debug", "stylize", str(tmp_path / "missing.jpg"), "-s", str(STYLE), *model_args,
                    "-o", str(tmp_path / "o.png")])
    assert res.returncode != 0 and "Traceback" in res.stderr


def test_huge_image_is_refused_with_the_memory_needed(tmp_path: Path, model_args: list[str]) -> None:
    src = tmp_path / "huge.png"
    Image.new("RGB", (20000, 20000), (10, 20, 30)).save(src, compress_level=1)
    out = tmp_path / "out.png"
    res = _run_cli(["stylize", str(src), "-s", str(STYLE), "--size", "0", *model_args, "-o", str(out)])
    assert res.returncode == 2, res.stderr
    assert "GiB" in res.stderr and "needs about" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_style_and_output_are_required(tmp_path: Path, model_args: list[str]) -> None:
    assert main(["stylize", str(DEMO_CONTENT), *model_args, "-o", str(tmp_path / "o.png")]) == 2
    assert main(["stylize", str(DEMO_CONTENT), "-s", str(STYLE), *model_args]) == 2
    assert main(["stylize", str(DEMO_CONTENT), "-s", str(STYLE), "--alpha", "2", *model_args, "-o", "x.png"]) == 2


def test_gui_without_a_display_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert main(["gui"]) == 2
    assert "no display" in capsys.readouterr().err


def test_mask_person_with_the_bundled_segmenter(tmp_path: Path, model_args: list[str]) -> None:
    photo = Path(__file__).resolve().parents[1] / "data" / "astronaut.jpg"
    rgb = np.asarray(Image.open(photo).convert("RGB")).astype(int)
    outs = {}
    for region in ("person", "background"):
        outs[region] = tmp_path / f"{region}.png"
        assert main(["stylize", str(photo), "-s", str(STYLE), "--mask", region, "--size", "0", "--style-size", "64",
                     *model_args, "-o", str(outs[region])]) == 0
    person = np.asarray(Image.open(outs["person"]).convert("RGB")).astype(int)
    background = np.asarray(Image.open(outs["background"]).convert("RGB")).astype(int)
    assert person.shape == rgb.shape
    face, corner = (slice(25, 33), slice(92, 100)), (slice(0, 8), slice(0, 8))
    assert np.abs(person[corner] - rgb[corner]).mean() < 1.5 and np.abs(person[face] - rgb[face]).mean() > 5
    assert np.abs(background[face] - rgb[face]).mean() < 1.5 and np.abs(background[corner] - rgb[corner]).mean() > 5


@pytest.mark.parametrize("extra", [["--mask", "nosuch.png"], ["--mask", "person", "-s", "x.jpg", "-s", "y.jpg"],
                                   ["--mask", "person", "--feather", "-1"]])
def test_bad_mask_arguments_exit_2(tmp_path: Path, model_args: list[str], extra: list[str]) -> None:
    assert main(["stylize", str(DEMO_CONTENT), "-s", str(STYLE), *extra, *model_args,
                 "-o", str(tmp_path / "o.png")]) == 2
