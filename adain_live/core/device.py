"""Device and precision selection (called by entry points, never at import time)."""

from __future__ import annotations

import torch

from adain_live.errors import DeviceError

PRECISIONS = ("auto", "fp32", "fp16", "bf16")
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def resolve_device(name: str = "auto") -> torch.device:
    """Turn ``auto``/``cpu``/``cuda``/``cuda:N`` into a device; ``auto`` picks CUDA when present."""
    name = name.strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DeviceError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("--device cuda was asked for but no CUDA GPU is available; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"{name} does not exist: this machine has {torch.cuda.device_count()} CUDA "
                              "device(s); use cuda:0")
    elif device.type != "cpu":
        raise DeviceError(f"device {name!r} is not supported; use auto, cpu or cuda")
    return device


def resolve_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """Pick the compute dtype: ``auto`` is fp16 on CUDA and fp32 on CPU; fp16 on CPU is refused."""
    precision = precision.strip().lower()
    if precision not in PRECISIONS:
        raise DeviceError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if precision == "fp16" and device.type != "cuda":
        raise DeviceError("fp16 is only supported on CUDA; use --precision fp32 or bf16 on the CPU")
    return _DTYPES[precision]


def dtype_name(dtype: torch.dtype) -> str:
    """Short name (fp32/fp16/bf16) of a dtype."""
    return {v: k for k, v in _DTYPES.items()}[dtype]
