"""Style augmentation for distillation (vertical flips, hue/saturation shifts, mixing) and image reading.

Random-scale crops and horizontal flips are cut by the data streams of :mod:`training.data`.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from adain_live import _fs

log = logging.getLogger(__name__)

def list_images(folder: str | Path) -> list[Path]:
    """Sorted image files directly inside ``folder`` (raises ``FileNotFoundError`` if it is not a folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    return _fs.list_images(folder)


def load_image(path: str | Path, max_short_side: int | None = None) -> Tensor | None:
    """Read ``path`` as an RGB uint8 (3, H, W) tensor, shrunk so its short side is at most ``max_short_side``.

    Returns ``None`` (and logs a warning) for files that cannot be decoded.
    """
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if max_short_side is not None and min(im.size) > max_short_side:
                scale = max_short_side / min(im.size)
                im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BICUBIC)
            array = np.array(im, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        log.warning("skipping unreadable image %s: %s", path, exc)
        return None
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def to_float(image: Tensor) -> Tensor:
    """uint8 (…, 3, H, W) → float32 in [0, 1]."""
    return image.float().div_(255.0)


def hue_saturation(images: Tensor, hue: Tensor, saturation: Tensor) -> Tensor:
    """Rotate hues by ``hue`` radians about the grey axis and scale saturation by ``saturation`` (both (B,)).

    A rotation of RGB about (1, 1, 1) is a cheap, differentiable hue shift; saturation is a blend with the
    luminance. The result is clamped to [0, 1].
    """
    b = images.shape[0]
    cos, sin = torch.cos(hue).view(b, 1, 1), torch.sin(hue).view(b, 1, 1)
    k = torch.full((3, 3), 1.0 / 3.0, dtype=images.dtype, device=images.device)
    cross = torch.tensor([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]], dtype=images.dtype,
                         device=images.device) / math.sqrt(3.0)
    eye = torch.eye(3, dtype=images.dtype, device=images.device)
    rot = cos * (eye - k) + sin * cross + k  # Rodrigues' formula about the unit grey axis
    out = torch.einsum("bij,bjhw->bihw", rot, images)
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=images.dtype, device=images.device)
    lum = (out * weights.view(1, 3, 1, 1)).sum(1, keepdim=True)
    out = lum + saturation.view(b, 1, 1, 1).to(images.dtype) * (out - lum)
    return out.clamp(0.0, 1.0)


def mix_styles(images: Tensor, gen: torch.Generator, prob: float = 0.25) -> Tensor:
    """Mix each style with another of the batch with probability ``prob``.

    Half of the mixed ones are blended (weight in [0.3, 0.7]), the other half are split into two halves,
    left from one style and right from the other, so the network also sees multi-texture styles.
    """
    b = images.shape[0]
    if b < 2:
        return images
    out = images.clone()
    partner = (torch.arange(b) + torch.randint(1, b, (b,), generator=gen)) % b
    for i in range(b):
        if float(torch.rand((), generator=gen)) >= prob:
            continue
        other = images[int(partner[i])]
        if float(torch.rand((), generator=gen)) < 0.5:
            w = 0.3 + 0.4 * float(torch.rand((), generator=gen))
            out[i] = w * images[i] + (1.0 - w) * other
        else:
            half = images.shape[-1] // 2
            out[i, :, :, half:] = other[:, :, half:]
    return out


def augment_styles(
    images: Tensor, gen: torch.Generator, hue_prob: float = 0.5, max_hue: float = math.pi,
    saturation: tuple[float, float] = (0.6, 1.4), mix_prob: float = 0.25,
) -> Tensor:
    """Style augmentation of a batch (B, 3, H, W) in [0, 1]: vertical flips, hue/saturation shifts, mixing.

    Horizontal flips and random-scale crops are cut by :class:`training.data.ImageStream`. The teacher and the
    student see the same augmented style, so any augmentation is a new, consistent training style.
    """
    b = images.shape[0]
    flip = (torch.rand(b, generator=gen) < 0.2).to(images.device)
    out = torch.where(flip.view(b, 1, 1, 1), images.flip(-2), images)
    apply = (torch.rand(b, generator=gen) < hue_prob).float()
    hue = (torch.rand(b, generator=gen) * 2.0 - 1.0) * max_hue * apply
    lo, hi = saturation
    sat = 1.0 + ((lo + (hi - lo) * torch.rand(b, generator=gen)) - 1.0) * apply
    out = hue_saturation(out, hue.to(out.device), sat.to(out.device))
    return mix_styles(out, gen, mix_prob)
