"""Cheap validation during distillation: student vs teacher PSNR on held-out training images.

The eval pairs of ``../shared/data/eval`` are kept for the final report (``training.evaluate``); choosing the
best checkpoint on them would make those figures optimistic.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adain_live.core import AdaINModel, adain, mean_std
from training.augment import load_image, to_float


def center_square(image: Tensor, size: int) -> Tensor:
    """Resize a uint8 (3, H, W) image so its short side is ``size``, then take the central square (float)."""
    h, w = image.shape[-2:]
    scale = size / min(h, w)
    x = F.interpolate(to_float(image)[None], size=(max(size, round(h * scale)), max(size, round(w * scale))),
                      mode="bilinear", align_corners=False, antialias=True)[0]
    top, left = (x.shape[-2] - size) // 2, (x.shape[-1] - size) // 2
    return x[:, top : top + size, left : left + size]


def psnr(a: Tensor, b: Tensor) -> Tensor:
    """Per-image PSNR (dB) of two (N, 3, H, W) batches in [0, 1]."""
    mse = (a.float() - b.float()).pow(2).mean(dim=(1, 2, 3)).clamp(min=1e-10)
    return 10.0 * torch.log10(1.0 / mse)


def _squares(paths: Sequence[Path], size: int) -> Tensor | None:
    """Stack the central squares of the readable images among ``paths``; ``None`` if there are none."""
    images = [load_image(p) for p in paths]
    squares = [center_square(x, size) for x in images if x is not None]
    return torch.stack(squares) if squares else None


class ValidationSet:
    """All (content, style) pairs of a few held-out images as central squares, with the teacher's outputs."""

    def __init__(self, contents: Sequence[Path], styles: Sequence[Path], teacher: nn.Module,
                 device: torch.device, size: int = 192) -> None:
        self.contents = _squares(contents, size)
        self.styles = _squares(styles, size)
        self.device = device
        self.targets: Tensor | None = None
        if self.contents is not None and self.styles is not None:
            self.contents, self.styles = self.contents.to(device), self.styles.to(device)
            with torch.no_grad():
                self.targets = torch.stack([teacher(self.contents, s[None].expand_as(self.contents), 1.0)
                                            for s in self.styles], dim=1).float()

    @torch.no_grad()
    def psnr(self, model: AdaINModel) -> float:
        """Mean PSNR (dB) of the student's alpha = 1 outputs against the teacher's; NaN without images."""
        if self.targets is None or self.contents is None or self.styles is None:
            return float("nan")
        dtype = next(model.parameters()).dtype
        fc = model.encoder(self.contents.to(dtype))
        s_mean, s_std = mean_std(model.encoder(self.styles.to(dtype)))
        scores = []
        for j in range(self.styles.shape[0]):
            out = model.decoder(adain(fc, s_mean[j : j + 1], s_std[j : j + 1]).to(dtype)).clamp(0, 1)
            scores.append(psnr(out[..., : self.contents.shape[-2], : self.contents.shape[-1]],
                               self.targets[:, j]))
        return float(torch.cat(scores).mean())
