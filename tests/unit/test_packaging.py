"""Packaging: the wheel carries every package and the bundled models, and works when installed without ``-e``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_is_listed() -> None:
    """``packages`` is a hand-written list (the models folder is mapped): a new sub-package must be added to it."""
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for top in ("adain_live", "training")
             for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts}
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert "adain_live.models" in listed


def test_models_map_to_the_repository_folder() -> None:
    tool = _pyproject()["tool"]["setuptools"]
    assert tool["package-dir"]["adain_live.models"] == "models"
    assert "**/*" in tool["package-data"]["adain_live.models"]


def test_gui_entry_is_a_gui_script_outside_the_gui_package() -> None:
    project = _pyproject()["project"]
    assert "adain-live-gui" not in project["scripts"]
    target = project["gui-scripts"]["adain-live-gui"]
    assert not target.startswith("adain_live.gui"), "the GUI script must not make gui import the cli"


def test_runtime_does_not_need_torchvision() -> None:
    deps = _pyproject()["project"]["dependencies"]
    assert not any(d.startswith("torchvision") for d in deps)
    imports = [p for p in (ROOT / "adain_live").rglob("*.py") if "torchvision" in
               "\n".join(line for line in p.read_text().splitlines() if line.lstrip().startswith(("import", "from")))]
    assert imports == []


def _copy_source(dest: Path) -> Path:
    """The files a wheel is built from, copied so the build leaves nothing in the checkout."""
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("adain_live", "training", "models"):
        shutil.copytree(ROOT / name, dest / name, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


def _fresh_venv(path: Path) -> Path:
    """A venv without pip that sees this interpreter's site-packages (torch etc.) through a ``.pth`` line.

    Directories named in a ``.pth`` are appended after the venv's own site-packages and their own ``.pth`` files are
    not run, so a development install of adain-live in this interpreter stays invisible to the new venv.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    outer = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(site) / "_outer_env.pth").write_text("\n".join(sorted(outer)) + "\n")
    return python


@pytest.mark.slow
def test_wheel_installs_and_runs_the_demo_from_another_folder(tmp_path: Path) -> None:
    src = _copy_source(tmp_path / "src")
    dist = tmp_path / "dist"
    drop = ("PYTHONPATH", "ADAIN_LIVE_MODELS", "PIP_REQUIRE_VIRTUALENV")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
                    str(src)], check=True, env=env, cwd=tmp_path)
    wheel = next(dist.glob("adain_live-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in (ROOT / "models").rglob("*"):
        if f.is_file():
            assert f"adain_live/models/{f.relative_to(ROOT / 'models').as_posix()}" in names

    python = _fresh_venv(tmp_path / "venv")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    str(wheel)], check=True, env=env, cwd=tmp_path)
    bindir = python.parent
    assert (bindir / ("adain-live-gui.exe" if os.name == "nt" else "adain-live-gui")).exists()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env["ADAIN_LIVE_HOME"] = str(tmp_path / "home")  # an empty cache: the bundled model is the only one
    env["OMP_NUM_THREADS"] = "1"
    where = subprocess.run([str(python), "-c", "import adain_live.weights as w; print(w.models_dir())"],
                           check=True, capture_output=True, text=True, env=env, cwd=elsewhere).stdout.strip()
    assert Path(where).is_relative_to(tmp_path / "venv"), where
    exe = bindir / ("adain-live.exe" if os.name == "nt" else "adain-live")
    out = elsewhere / "demo.png"
    run = subprocess.run([str(exe), "stylize", "--demo", "--size", "96", "--style-size", "96", "-o", str(out)],
                         capture_output=True, text=True, env=env, cwd=elsewhere, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "microast on" in run.stdout  # the bundled default, loaded from the installed wheel
    with Image.open(out) as im:
        image = np.asarray(im.convert("RGB"))
    assert min(image.shape[:2]) >= 90 and image.std() > 5.0


def test_gui_script_target_gives_one_line_errors(capsys: pytest.CaptureFixture[str]) -> None:
    from adain_live.cli.gui_cmd import main

    assert main(["--size", "-3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--size" in err[0]
