"""Image pools and style augmentation for distillation: random crops, flips, hue/saturation shifts, mixing.

Images are decoded once into uint8 tensors (short side capped) so that sampling a batch costs only crops and
small resizes; a few hundred images at a 256-px short side take ~150 MB.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
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


class ImagePool:
    """Decoded images of a folder (or a list of files) from which random crops are drawn.

    Parameters
    ----------
    paths
        Image files; unreadable ones and ones smaller than ``min_side`` are skipped.
    max_short_side
        Short side the images are shrunk to when decoded.
    min_side
        Smallest usable short side (the crop size).
    """

    def __init__(self, paths: Sequence[Path], max_short_side: int, min_side: int) -> None:
        self.images: list[Tensor] = []
        for path in paths:
            image = load_image(path, max_short_side)
            if image is not None and min(image.shape[-2:]) >= min_side:
                self.images.append(image)
        if not self.images:
            raise ValueError(f"no usable images (short side >= {min_side}) among {len(paths)} files")

    def __len__(self) -> int:
        return len(self.images)

    def to(self, device: torch.device | str) -> ImagePool:
        """Move the decoded images to ``device`` (on a GPU, crops are then cut and resized there)."""
        self.images = [im.to(device) for im in self.images]
        return self

    def crops(
        self, batch: int, crop: int, gen: torch.Generator, scale: tuple[float, float] = (0.5, 1.0)
    ) -> Tensor:
        """``batch`` random crops (float32 (B, 3, crop, crop) in [0, 1]) of random images.

        Each crop covers a random square of ``s`` times the image's short side, ``s`` drawn from ``scale``,
        resized to ``crop`` pixels, and is flipped horizontally half of the time.
        """
        idx = torch.randint(len(self.images), (batch,), generator=gen).tolist()
        return torch.stack([random_crop(self.images[i], crop, gen, scale) for i in idx])


def random_crop(image: Tensor, crop: int, gen: torch.Generator, scale: tuple[float, float]) -> Tensor:
    """Cut a random square of ``image`` (uint8 (3, H, W)), resize it to ``crop`` px, flip it half the time.

    Returns float32 in [0, 1].
    """
    h, w = image.shape[-2:]
    short = min(h, w)
    lo = min(1.0, max(scale[0], crop / short))
    s = lo + (max(scale[1], lo) - lo) * float(torch.rand((), generator=gen))
    side = max(crop, min(short, round(s * short)))
    top = int(torch.randint(h - side + 1, (), generator=gen))
    left = int(torch.randint(w - side + 1, (), generator=gen))
    patch = to_float(image[:, top : top + side, left : left + side])
    if side != crop:
        patch = F.interpolate(patch[None], size=(crop, crop), mode="bilinear", align_corners=False,
                              antialias=True)[0]
    if float(torch.rand((), generator=gen)) < 0.5:
        patch = patch.flip(-1)
    return patch


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

    Horizontal flips and crops are done by :meth:`ImagePool.crops`. The teacher and the student see the same
    augmented style, so any augmentation is a new, consistent training style.
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
