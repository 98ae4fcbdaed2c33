"""The frame pipeline: uint8 RGB frames in host memory → stylized uint8 RGB frames in host memory.

Per-style work happens once in :meth:`StylePipeline.set_style` (statistics computed in fp32 and cached on the
device); the per-frame call only runs the content path under ``torch.inference_mode()``. This module is the
one colour/dtype boundary: media hands us RGB uint8 HWC, we return RGB uint8 HWC of the same size.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from adain_live.core.device import dtype_name
from adain_live.core.model import AdaINModel
from adain_live.core.stats import StyleStats, mix_stats
from adain_live.errors import UserError

log = logging.getLogger(__name__)

#: Rough peak bytes per processed pixel and per byte of dtype (several 64-channel full-resolution maps).
_ACTIVATION_FACTOR = 4 * 64


def processing_size(h: int, w: int, size: int) -> tuple[int, int]:
    """(height, width) with the shorter side scaled to ``size`` (0 keeps the native size)."""
    if size <= 0 or min(h, w) == size:
        return h, w
    scale = size / min(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def to_tensor(images: np.ndarray | Sequence[np.ndarray], device: torch.device, dtype: torch.dtype) -> Tensor:
    """Stack RGB uint8 HWC images into an (N, 3, H, W) tensor in [0, 1] on ``device``."""
    arr = images if isinstance(images, np.ndarray) and images.ndim == 4 else np.stack(list(images))
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise ValueError(f"frames must be RGB uint8 (H, W, 3), got {arr.dtype} {arr.shape[1:]}")
    t = torch.from_numpy(np.ascontiguousarray(arr))
    if device.type == "cuda":
        t = t.pin_memory().to(device, non_blocking=True)
    # Divide in fp32 (exact x/255 like torchvision's ToTensor), then cast to the compute dtype.
    return (t.permute(0, 3, 1, 2).float() / 255.0).to(dtype)


def to_uint8(images: Tensor) -> np.ndarray:
    """(N, 3, H, W) in [0, 1] → RGB uint8 (N, H, W, 3), rounding like torchvision's ``save_image``."""
    u8 = (images.float() * 255.0 + 0.5).clamp(0, 255).to(torch.uint8)
    return u8.permute(0, 2, 3, 1).contiguous().cpu().numpy()


def resize(images: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize (N, C, H, W) to ``size`` = (h, w): antialiased bilinear down, bilinear up."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    down = size[0] < images.shape[-2] or size[1] < images.shape[-1]
    out = F.interpolate(images.float(), size=size, mode="bilinear", align_corners=False, antialias=down)
    return out.clamp(0, 1).to(images.dtype)


class StylePipeline:
    """Stylize frames with cached style statistics.

    Parameters
    ----------
    model
        The AdaIN model (moved to ``device``/``dtype`` here).
    device, dtype
        Where and in which precision the network runs.
    size
        Processing size of the frame's shorter side (0 = native). Outputs always have the input's size
        unless ``output_size="processing"``.
    """

    def __init__(self, model: AdaINModel, device: torch.device, dtype: torch.dtype = torch.float32, *,
                 size: int = 0, output_size: str = "input", channels_last: bool | None = None) -> None:
        if output_size not in ("input", "processing"):
            raise ValueError(f"output_size must be 'input' or 'processing', got {output_size!r}")
        self.device, self.dtype = device, dtype
        self.size, self.output_size = size, output_size
        if channels_last is None:
            channels_last = device.type == "cuda"
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(device=device, dtype=dtype, memory_format=fmt).eval()
        self.memory_format = fmt
        self.alpha = 1.0
        self.preserve_color = False
        self._style: StyleStats | None = None
        self._mask: Tensor | None = None
        self._background: StyleStats | None = None
        self.last_ms: float | None = None

    def describe(self) -> str:
        """One line: device, precision and processing size."""
        size = "native" if self.size == 0 else f"{self.size}px short side"
        return f"{self.device} {dtype_name(self.dtype)}, processing {size}"

    # --- per-style work (once) -------------------------------------------------------------------------
    @torch.inference_mode()
    def style_stats(self, image: np.ndarray, style_size: int = 512) -> StyleStats:
        """Statistics of one RGB uint8 style image, resized so its shorter side is ``style_size`` (0 = native)."""
        t = to_tensor(image[None], self.device, self.dtype)
        t = resize(t, processing_size(*t.shape[-2:], style_size))
        self._check_memory(*t.shape[-2:])
        return self.model.style_stats(t.contiguous(memory_format=self.memory_format))

    def set_style(self, styles: StyleStats | Sequence[StyleStats], weights: Sequence[float] | None = None) -> None:
        """Use one style, or a weighted mix of several, for all following frames."""
        seq = [styles] if isinstance(styles, StyleStats) else list(styles)
        self._style = mix_stats(seq, weights).to(self.device)

    @property
    def style(self) -> StyleStats | None:
        """The current (mixed) style statistics."""
        return self._style

    def set_mask(self, mask: np.ndarray | None, background: StyleStats | None = None) -> None:
        """Spatial control: where ``mask`` (H, W; uint8 0–255 or float 0–1) is high, the current style is
        used; elsewhere ``background``. ``None`` removes the mask. The mask is resized to each frame."""
        if mask is None:
            self._mask, self._background = None, None
            return
        if background is None:
            raise ValueError("a mask needs a background style")
        m = np.asarray(mask, dtype=np.float32)
        if m.ndim == 3:
            m = m[..., :3].mean(axis=-1)
        if mask.dtype == np.uint8:
            m = m / 255.0
        self._mask = torch.from_numpy(np.ascontiguousarray(m))[None, None].to(self.device)
        self._background = background.to(self.device)

    # --- per-frame work --------------------------------------------------------------------------------
    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Stylize one RGB uint8 HWC frame."""
        return self.process_batch(frame[None])[0]

    @torch.inference_mode()
    def process_batch(self, frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Stylize frames of one size: (N, H, W, 3) uint8 → (N, H', W', 3) uint8."""
        if self._style is None:
            raise UserError("no style is set; choose a style image first")
        start = time.perf_counter()
        x = to_tensor(frames, self.device, self.dtype)
        h, w = x.shape[-2:]
        ph, pw = processing_size(h, w, self.size)
        self._check_memory(ph, pw, batch=x.shape[0])
        content = resize(x, (ph, pw)).contiguous(memory_format=self.memory_format)
        mask = None if self._mask is None else resize(self._mask, (ph, pw))
        out = self.model.stylize(content, self._style, self.alpha, mask=mask, background=self._background,
                                 preserve_color=self.preserve_color)
        if self.output_size == "input":
            out = resize(out, (h, w))
        result = to_uint8(out)
        self.last_ms = (time.perf_counter() - start) * 1000.0
        return result

    def _check_memory(self, h: int, w: int, batch: int = 1) -> None:
        """Refuse (with the memory it would need) a size that cannot fit, instead of crashing mid-way."""
        need = batch * h * w * _ACTIVATION_FACTOR * torch.finfo(self.dtype).bits // 8
        free = _free_memory(self.device)
        if free is not None and need > free:
            raise UserError(
                f"a {w}x{h} frame needs about {need / 2**30:.1f} GiB on {self.device} at "
                f"{dtype_name(self.dtype)} but only {free / 2**30:.1f} GiB is free; use a smaller --size "
                "(e.g. --size 1024) or a lower precision")


def _free_memory(device: torch.device) -> int | None:
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None
