"""Frame helpers of the pipeline: sizes, the uint8 ↔ tensor boundary, CPU/GPU defaults (threads, dtype, backends).

Split from :mod:`adain_live.engine.pipeline` (which re-exports them) so that module stays about the pipeline.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from adain_live.core.device import resolve_dtype
from adain_live.engine.accel import float_to_u8, u8_to_float


def processing_size(h: int, w: int, size: int) -> tuple[int, int]:
    """(height, width) with the shorter side scaled to ``size`` (0 keeps the native size)."""
    if size <= 0 or min(h, w) == size:
        return h, w
    scale = size / min(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def to_tensor(images: np.ndarray | Sequence[np.ndarray], device: torch.device, dtype: torch.dtype) -> Tensor:
    """Stack RGB uint8 HWC images into an (N, 3, H, W) tensor in [0, 1] on ``device``."""
    t = torch.from_numpy(stack_frames(images))
    if device.type == "cuda":
        t = t.pin_memory().to(device, non_blocking=True)
    return u8_to_float(t, dtype)


def to_uint8(images: Tensor) -> np.ndarray:
    """(N, 3, H, W) in [0, 1] → RGB uint8 (N, H, W, 3), rounding like torchvision's ``save_image``."""
    return float_to_u8(images).contiguous().cpu().numpy()


def stack_frames(images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """Frames as one C-contiguous, writeable (N, H, W, 3) uint8 array (ValueError for anything else)."""
    arr = images if isinstance(images, np.ndarray) and images.ndim == 4 else np.stack(list(images))
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"frames must be RGB uint8 (H, W, 3), got {arr.dtype} {arr.shape[1:]}")
    # torch.from_numpy warns on read-only arrays (e.g. np.asarray of a Pillow image): copy those.
    return np.require(arr, requirements=("C_CONTIGUOUS", "WRITEABLE"))


def recommended_size(device: torch.device, threads: int | None = None) -> int:
    """Processing size (short side) for live video on ``device``: 0 (native) on CUDA, small on the CPU.

    On the CPU one bf16 AdaIN pass costs ~2 µs per pixel on one AVX-512 core (``benchmarks/RESULTS.md``):
    256 px (~0.12 MP at 16:9) keeps a 2-4 core machine at a few frames per second.
    """
    if device.type == "cuda":
        return 0
    n = threads if threads is not None else torch.get_num_threads()
    return 256 if n <= 4 else 384 if n <= 12 else 512


def recommended_threads(cores: int | None = None) -> int:
    """CPU threads for the network in a live app: all cores but one, left for capture, encoding and the GUI.

    On a busy machine OpenMP threads that outnumber free cores spin against each other: measured on 2 shared
    cores, 2 threads were 3-30x *slower* than 1 (see ``benchmarks/RESULTS.md``). Apply with
    ``torch.set_num_threads`` from the entry point.
    """
    n = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, n - 1)


def pick_dtype(device: torch.device, precision: str = "auto") -> torch.dtype:
    """Resolve ``precision`` like :func:`adain_live.core.device.resolve_dtype`, with a faster CPU default.

    ``auto`` on the CPU is bf16 where the CPU has native bf16 (AVX512-BF16/AMX: MicroAST 448x256 on 2 AVX512-BF16
    cores 52 ms vs 84 ms fp32; 32–38 dB from fp32 on photos, not visible in a painted frame), else fp32.
    """
    if precision.strip().lower() == "auto" and device.type == "cpu" and _cpu_has_bf16():
        return torch.bfloat16
    return resolve_dtype(device, precision)


def enable_fast_backends(device: torch.device) -> None:
    """Process-wide settings for fixed-shape video (call from an entry point, never at import).

    cuDNN autotuning picks the fastest convolution per frame shape (shapes repeat every frame).
    """
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True


def _cpu_has_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False
