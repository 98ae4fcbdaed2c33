"""``adain-live doctor``: facts, one line per (mocked) problem, the self-test and the exit status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from adain_live.cli import main
from adain_live.engine import doctor
from adain_live.engine import pipeline as pipeline_module
from adain_live.engine.fastpaths import FrameKey, NamedRunner, Runner

TINY = ["--device", "cpu", "--size", "32x24", "--seconds", "0.05"]


@pytest.fixture()
def no_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real inductor compile in unit tests (one short compile test lives in test_pipeline, marked slow)."""
    monkeypatch.setattr(doctor, "resolve_compile", lambda c, d, t=None: None)
    monkeypatch.setattr(doctor, "compile_probe", lambda d="cpu": None)


def _fix(items: list[doctor.Item], label: str) -> str:
    (item,) = [i for i in items if i.label == label]
    assert item.fix is not None, item
    return item.fix


def test_versions_name_qt_without_importing_pyqt6() -> None:
    code = ("import sys, adain_live.engine.doctor as d; items = d.versions(); "
            "print([i.label for i in items]); print('PyQt6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert "'torch'" in out[0] and "'Qt'" in out[0] and "'PyAV'" in out[0]
    assert out[1] == "False"


def test_cuda_build_without_a_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", "12.6")
    monkeypatch.setattr(doctor, "nvidia_smi", lambda: None)
    fix = _fix(doctor.devices(), "cuda")
    assert "CUDA 12.6 build but no NVIDIA driver" in fix and "whl/cpu" in fix and "\n" not in fix


def test_cpu_only_torch_on_a_machine_with_nvidia_smi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(doctor, "nvidia_smi", lambda: "/usr/bin/nvidia-smi")
    fix = _fix(doctor.devices(), "cuda")
    assert "CPU-only build" in fix and "install a CUDA build" in fix and "pip install" in fix


def test_driver_too_old_for_the_cuda_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setattr(doctor, "nvidia_smi", lambda: "/usr/bin/nvidia-smi")
    assert "update the NVIDIA driver" in _fix(doctor.devices(), "cuda")


def test_no_problem_on_a_plain_cpu_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.version, "cuda", None)
    monkeypatch.setattr(doctor, "nvidia_smi", lambda: None)
    assert not [i for i in doctor.devices() if i.fix]


def test_no_compiler_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "compile_available", lambda d: False)
    item = doctor.compile_item(torch.device("cpu"))
    assert item.fix is not None and "C++ compiler" in item.fix
    monkeypatch.setattr(doctor, "compile_available", lambda d: True)
    monkeypatch.setattr(doctor, "compile_probe", lambda d="cpu": "CppCompileError: boom")
    assert "boom" in doctor.compile_item(torch.device("cpu")).value


def test_doctor_cli_reports_and_exits_0(no_compile: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", *TINY]) == 0
    out = capsys.readouterr().out
    for text in ("torch ", "PyAV", "Qt", "cpu ", "torch.compile", "NVENC", "default model", "self-test",
                 "default path: eager"):
        assert text in out, text
    (default,) = [line for line in out.splitlines() if line.startswith("default model")]
    assert "(adain-vgg19 not installed)" in default  # the canonical pair is preferred; not in this test's cache
    eager = [line for line in out.splitlines() if line.strip().startswith("eager ")]
    assert len(eager) == 1 and " ok " in eager[0] and "ms/frame" in eager[0]
    (compiled,) = [line for line in out.splitlines() if line.strip().startswith("compiled ")]
    assert "not used:" in compiled and " ok " in compiled  # not a problem: the policy left it off


def test_doctor_exits_2_without_a_model(no_compile: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ADAIN_LIVE_MODELS", str(tmp_path / "empty"))
    assert main(["doctor", *TINY]) == 2
    out = capsys.readouterr().out
    assert "NOT WORKING" in out and "problem: no model is available" in out


def test_doctor_exits_2_when_eager_fails(no_compile: None, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("device lost")

    monkeypatch.setattr(doctor, "_time_frames", broken)
    assert main(["doctor", *TINY]) == 2
    assert "problem: eager: eager failed: RuntimeError: device lost" in capsys.readouterr().out


def test_a_dropped_fast_path_is_a_problem_but_the_default_still_works(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def wrong(net: object, params: object, key: FrameKey, *args: object, **kwargs: object) -> Runner:
        return NamedRunner(lambda u8: torch.zeros((key.shape[0], *key.out, 3), dtype=torch.uint8), "compiled")

    monkeypatch.setattr(pipeline_module, "make_runner", wrong)
    monkeypatch.setattr(doctor, "resolve_compile", lambda c, d, t=None: "default")
    monkeypatch.setattr(doctor, "compile_probe", lambda d="cpu": None)
    assert main(["doctor", *TINY]) == 0
    out = capsys.readouterr().out
    assert "default path: eager (compiled dropped)" in out
    assert "problem: compiled: dropped, frames run eagerly: it agrees with eager at" in out


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_doctor_on_a_missing_cuda_device_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--device", "cuda"]) == 2
    out = capsys.readouterr().out
    assert "problem: --device cuda was asked for but no CUDA GPU is available" in out


def test_bad_arguments_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--size", "big"]) == 2
    assert main(["doctor", "--seconds", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("adain-live: error:") for line in err)
