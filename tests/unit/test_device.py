"""Device and precision choice with mocked availability (CUDA, MPS, Triton, nvidia-smi)."""

from __future__ import annotations

import logging

import pytest
import torch

from adain_live._process import prepare_environment
from adain_live.core import device as dev
from adain_live.errors import DeviceError


@pytest.fixture
def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "mps_available", lambda: False)
    monkeypatch.setattr(dev, "cuda_build_hint", lambda which=None: None)


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch: pytest.MonkeyPatch, no_gpu: None) -> None:
    assert dev.resolve_device("auto").type == "cpu"
    monkeypatch.setattr(dev, "mps_available", lambda: True)
    assert dev.resolve_device("auto").type == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dev.resolve_device("auto").type == "cuda"


def test_mps_is_accepted_when_available(monkeypatch: pytest.MonkeyPatch, no_gpu: None) -> None:
    with pytest.raises(DeviceError, match="Apple Silicon"):
        dev.resolve_device("mps")
    monkeypatch.setattr(dev, "mps_available", lambda: True)
    assert dev.resolve_device("MPS") == torch.device("mps")


def test_unknown_device_names_the_choices(no_gpu: None) -> None:
    with pytest.raises(DeviceError, match="mps"):
        dev.resolve_device("tpu")


@pytest.mark.parametrize(("kind", "auto"), [("cuda", torch.float16), ("mps", torch.float16),
                                            ("cpu", torch.float32)])
def test_half_precision_where_it_works(kind: str, auto: torch.dtype) -> None:
    d = torch.device(kind)
    assert dev.resolve_dtype(d, "auto") == auto
    if kind == "cpu":
        with pytest.raises(DeviceError, match="CUDA and MPS"):
            dev.resolve_dtype(d, "fp16")
    else:
        assert dev.resolve_dtype(d, "fp16") == torch.float16


def test_compile_needs_triton_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dev, "_has_triton", lambda: False)
    assert not dev.compile_available(torch.device("cuda"))
    monkeypatch.setattr(dev, "_has_triton", lambda: True)
    assert dev.compile_available(torch.device("cuda"))
    assert not dev.compile_available(torch.device("mps"))


def test_cpu_torch_with_nvidia_gpu_gets_the_install_command(monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "mps_available", lambda: False)
    monkeypatch.setattr(dev, "_driver_cuda", lambda smi: (12, 8))
    assert dev.cuda_build_hint(which=lambda name: None) is None
    hint = dev.cuda_build_hint(which=lambda name: f"/usr/bin/{name}")
    assert hint is not None and "--index-url https://download.pytorch.org/whl/cu" in hint
    monkeypatch.setattr(dev.shutil, "which", lambda name: f"/usr/bin/{name}")
    with caplog.at_level(logging.WARNING, logger="adain_live.core.device"):
        assert dev.resolve_device("auto").type == "cpu"
    assert "download.pytorch.org" in caplog.text
    with pytest.raises(DeviceError, match="download.pytorch.org"):
        dev.resolve_device("cuda")


def test_cuda_build_hint_is_silent_on_a_cuda_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    assert dev.cuda_build_hint(which=lambda name: f"/usr/bin/{name}") is None


@pytest.mark.parametrize(("version", "driver", "tag"), [
    ("2.7.1+cpu", (12, 8), "cu128"),
    ("2.7.1", (12, 6), "cu126"),
    ("2.7.1", (12, 7), "cu126"),
    ("2.7.1", (11, 0), "cu118"),
    ("2.7.1", None, "cu126"),
    ("2.5.0", (13, 0), "cu124"),
    ("2.99.0", (13, 0), "cu130"),
])
def test_install_command_matches_release_and_driver(version: str, driver: tuple[int, int] | None,
                                                    tag: str) -> None:
    cmd = dev.cuda_install_command(driver, version=version, python="python", platform="linux")
    base = version.split("+")[0]
    assert cmd == (f"python -m pip install --force-reinstall torch=={base} "
                   f"--index-url https://download.pytorch.org/whl/{tag}")


def test_install_command_quotes_a_windows_path_with_spaces() -> None:
    cmd = dev.cuda_install_command((12, 8), version="2.7.0", python=r"C:\Program Files\Python\python.exe",
                                   platform="win32")
    assert cmd.startswith(r'& "C:\Program Files\Python\python.exe" -m pip')


def test_entry_point_environment_per_platform() -> None:
    mac: dict[str, str] = {}
    prepare_environment(mac, "darwin")
    assert mac == {"PYTORCH_ENABLE_MPS_FALLBACK": "1"}
    win = {"OPENCV_VIDEOIO_MSMF_ENABLE_HW_TRANSFORMS": "1"}
    prepare_environment(win, "win32")
    assert win == {"OPENCV_VIDEOIO_MSMF_ENABLE_HW_TRANSFORMS": "1"}  # the user's own setting wins
    linux: dict[str, str] = {}
    prepare_environment(linux, "linux")
    assert linux == {}
