"""``stylize`` never replaces an input or an existing file, refuses unknown extensions, checks --mix (issue 15)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adain_live import weights
from adain_live.cli import main


def _png(path: Path, seed: int = 0, size: tuple[int, int] = (40, 32)) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    return {"content": _png(tmp_path / "content.png", 1), "style": _png(tmp_path / "style.png", 2),
            "style2": _png(tmp_path / "style2.png", 3), "mask": _png(tmp_path / "mask.png", 4)}


def _argv(model_args: list[str], *rest: str) -> list[str]:
    return ["stylize", *rest, "--size", "32", "--style-size", "32", *model_args]


def _one_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adain-live: error:"), captured
    return lines[0]


@pytest.mark.parametrize("target", ["content", "style", "mask"])
def test_output_never_replaces_an_input(images: dict[str, Path], model_args: list[str], target: str,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    before = images[target].read_bytes()
    argv = _argv(model_args, str(images["content"]), "-s", str(images["style"]), "-o", str(images[target]),
                 "--overwrite")
    if target == "mask":
        argv += ["-s", str(images["style2"]), "--mask", str(images["mask"])]
    assert main(argv) == 2
    assert "is the input image" in _one_error(capsys)
    assert images[target].read_bytes() == before


def test_existing_output_needs_overwrite(images: dict[str, Path], model_args: list[str], tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "old.png"
    out.write_bytes(b"keep me")
    argv = _argv(model_args, str(images["content"]), "-s", str(images["style"]), "-o", str(out))
    real_load = weights.load_model
    monkeypatch.setattr(weights, "load_model", lambda *a, **k: pytest.fail("model loaded before the check"))
    assert main(argv) == 2
    assert "--overwrite" in _one_error(capsys) and out.read_bytes() == b"keep me"
    monkeypatch.setattr(weights, "load_model", real_load)
    assert main([*argv, "--overwrite"]) == 0
    assert Image.open(out).size == (40, 32)


@pytest.mark.parametrize("name", ["out.xyz", "x.gif"])
def test_unknown_output_extension_is_refused(images: dict[str, Path], model_args: list[str], tmp_path: Path,
                                             name: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / name
    assert main(_argv(model_args, str(images["content"]), "-s", str(images["style"]), "-o", str(out))) == 2
    assert "not an image format" in _one_error(capsys)
    assert not out.exists()


@pytest.mark.parametrize("mix", ["nan,1", "inf,1", "1e308,1e308", "1,-inf"])
def test_non_finite_mix_is_refused(images: dict[str, Path], model_args: list[str], tmp_path: Path, mix: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.png"
    assert main(_argv(model_args, str(images["content"]), "-s", str(images["style"]), "-s",
                      str(images["style2"]), "--mix", mix, "-o", str(out))) == 2
    assert "mix weights" in _one_error(capsys) and not out.exists()


def test_mix_with_mask_is_refused(images: dict[str, Path], model_args: list[str], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_argv(model_args, str(images["content"]), "-s", str(images["style"]), "-s", str(images["style2"]),
                      "--mask", str(images["mask"]), "--mix", "0.3,0.7", "-o", str(tmp_path / "o.png"))) == 2
    assert "--mix and --mask" in _one_error(capsys)


def test_folder_job_errors_go_to_stderr(images: dict[str, Path], model_args: list[str], tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    _png(folder / "a.png", 5)
    (folder / "b.png").write_bytes(b"not a png")
    assert main(_argv(model_args, str(folder), "-s", str(images["style"]), "-o", str(tmp_path / "out"))) == 2
    captured = capsys.readouterr()
    assert "b.png" not in captured.out and "b.png" in captured.err
    assert (tmp_path / "out" / "a_stylized_style.png").is_file()


def test_failed_checks_leave_no_empty_folder(images: dict[str, Path], model_args: list[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    out = tmp_path / "results"
    assert main(_argv(model_args, str(bad), str(tmp_path / "bad.png"), "-s", str(images["style"]),
                      "-o", str(out))) == 2  # same name twice: refused before anything is made
    assert not out.exists()
    other = tmp_path / "sub"
    other.mkdir()
    (other / "bad.png").write_bytes(b"not a png either")
    assert main(_argv(model_args, str(bad), str(other / "bad.png"), "-s", str(images["style"]), "-o",
                      str(out))) == 2
    assert not out.exists()
    copy = tmp_path / "bad2.png"
    copy.write_bytes(b"still not a png")
    assert main(_argv(model_args, str(bad), str(copy), "-s", str(images["style"]), "-o", str(out))) == 2
    assert not out.exists()  # every image failed: the folder made for them is gone again


def test_demo_output_is_replaced_on_every_run(tmp_path: Path, model_args: list[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["stylize", "--demo", "--size", "32", "--style-size", "32", *model_args]) == 0
    assert main(["stylize", "--demo", "--size", "32", "--style-size", "32", *model_args]) == 0
