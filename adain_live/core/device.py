"""Device and precision selection (called by entry points, never at import time).

``auto`` picks CUDA, then Apple's MPS, then the CPU. fp16 runs on CUDA and MPS. Two platform gaps are handled
here rather than discovered by users: ``torch.compile`` needs Triton on CUDA (absent on Windows), and PyPI's torch
for Windows is CPU-only even on a machine with an NVIDIA card (:func:`cuda_build_hint` gives the command to fix it).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import re
import shutil
import subprocess
import sys
from collections.abc import Callable

import torch

from adain_live.errors import DeviceError

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
_HALF_DEVICES = ("cuda", "mps")

#: CUDA builds PyTorch publishes per release (download.pytorch.org/whl/<tag>), oldest first; newer releases
#: use the last row.
_CUDA_TAGS: dict[tuple[int, int], tuple[str, ...]] = {
    (2, 4): ("cu118", "cu121", "cu124"),
    (2, 5): ("cu118", "cu121", "cu124"),
    (2, 6): ("cu118", "cu124", "cu126"),
    (2, 7): ("cu118", "cu126", "cu128"),
    (2, 8): ("cu126", "cu128", "cu129"),
    (2, 9): ("cu126", "cu128", "cu130"),
}


def mps_available() -> bool:
    """True when Apple's Metal (MPS) backend can run here (Apple Silicon, macOS 12.3+, an MPS build of torch)."""
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str = "auto") -> torch.device:
    """Turn ``auto``/``cpu``/``cuda``/``cuda:N``/``mps`` into a device; ``auto`` picks CUDA, then MPS, then CPU."""
    name = name.strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            _note_mps()
            return torch.device("mps")
        hint = cuda_build_hint()
        if hint:
            log.warning("%s", hint)
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("--device cuda was asked for but no CUDA GPU is available; "
                              + (cuda_build_hint() or "use --device cpu"))
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"{name} does not exist: this machine has {torch.cuda.device_count()} CUDA "
                              "device(s); use cuda:0")
    elif device.type == "mps":
        if not mps_available():
            raise DeviceError("--device mps needs a Mac with Apple Silicon (macOS 12.3 or later) and a torch build "
                              "with MPS; use --device cpu")
        _note_mps()
        device = torch.device("mps")
    elif device.type != "cpu":
        raise DeviceError(f"device {name!r} is not supported; use auto, cpu, cuda, cuda:N or mps")
    return device


@functools.cache
def _note_mps() -> None:
    # The fallback itself is switched on by the entry point (adain_live._process) before torch is imported.
    log.info("using Apple MPS; operators without an MPS kernel run on the CPU instead (slower, same result)")


def resolve_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """Pick the compute dtype: ``auto`` is fp16 on CUDA and MPS, fp32 on the CPU; fp16 on the CPU is refused."""
    precision = precision.strip().lower()
    if precision not in PRECISIONS:
        raise DeviceError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return torch.float16 if device.type in _HALF_DEVICES else torch.float32
    if precision == "fp16" and device.type not in _HALF_DEVICES:
        raise DeviceError("fp16 is only supported on CUDA and MPS; use --precision fp32 or bf16 on the CPU")
    return _DTYPES[precision]


def dtype_name(dtype: torch.dtype) -> str:
    """Short name (fp32/fp16/bf16) of a dtype."""
    return {v: k for k, v in _DTYPES.items()}[dtype]


def compile_available(device: torch.device) -> bool:
    """Whether ``torch.compile`` can build code for ``device`` here.

    CUDA needs Triton (not available on Windows); the CPU needs a C++ compiler; MPS stays eager. Callers that
    would compile skip it quietly when this is False and keep their other fast paths (CUDA graphs).
    """
    if device.type == "cuda":
        return _has_triton()
    if device.type == "cpu":
        return any(shutil.which(c) for c in (("cl",) if sys.platform == "win32" else ("c++", "g++", "clang++")))
    return False


@functools.cache
def _has_triton() -> bool:
    try:
        from torch.utils._triton import has_triton
    except ImportError:
        return importlib.util.find_spec("triton") is not None
    return bool(has_triton())


def cuda_build_hint(which: Callable[[str], str | None] | None = None) -> str | None:
    """One line with the command that installs a CUDA build of torch; None unless it is needed.

    Needed when this torch is a CPU-only build on a machine with an NVIDIA GPU (``nvidia-smi`` on the PATH).
    """
    if torch.version.cuda is not None or torch.cuda.is_available() or getattr(torch.version, "hip", None):
        return None
    smi = (which or shutil.which)("nvidia-smi")
    if smi is None:
        return None
    return (f"this PyTorch {torch.__version__} is a CPU-only build but an NVIDIA GPU is present; for GPU speed "
            f"install a CUDA build: {cuda_install_command(_driver_cuda(smi))}")


def cuda_install_command(driver_cuda: tuple[int, int] | None = None, version: str | None = None,
                         python: str | None = None, platform: str | None = None) -> str:
    """The pip command that replaces this torch with the CUDA build of the same version.

    ``driver_cuda`` (the highest CUDA version the driver supports, as ``nvidia-smi`` prints it) picks the newest
    build the driver can run; without it the middle one of that release's builds.
    """
    version = (version or torch.__version__).split("+")[0]
    match = re.match(r"(\d+)\.(\d+)", version)
    key = (int(match.group(1)), int(match.group(2))) if match else max(_CUDA_TAGS)
    tags = _CUDA_TAGS.get(max(key, min(_CUDA_TAGS)), _CUDA_TAGS[max(_CUDA_TAGS)])
    tag = tags[len(tags) // 2]
    if driver_cuda is not None:
        fitting = [t for t in tags if _tag_version(t) <= driver_cuda]
        tag = fitting[-1] if fitting else tags[0]
    python = python or sys.executable
    platform = platform or sys.platform
    if " " in python:
        python = f'& "{python}"' if platform == "win32" else f'"{python}"'
    return (f"{python} -m pip install --force-reinstall torch=={version} "
            f"--index-url https://download.pytorch.org/whl/{tag}")


def _tag_version(tag: str) -> tuple[int, int]:
    digits = tag[2:]
    return int(digits[:-1]), int(digits[-1])


def _driver_cuda(smi: str) -> tuple[int, int] | None:
    """The ``CUDA Version: 12.8`` that ``nvidia-smi`` prints (the newest CUDA its driver runs), or None."""
    try:
        out = subprocess.run([smi], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"CUDA Version:\s*(\d+)\.(\d+)", out)
    return (int(found.group(1)), int(found.group(2))) if found else None
