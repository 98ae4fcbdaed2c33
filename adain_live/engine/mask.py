"""Regions of a frame: which part gets the style (everything, the person, the background, or two styles).

A *mask source* turns a content batch (N, 3, H, W) in [0, 1] into soft masks (N, 1, h, w) in [0, 1] (1 = the
person, or the white of a mask file):

* :class:`PersonMasker` — the bundled segmenter (:mod:`adain_live.core.segmenter`) on the style network's
  device, its mask smoothed over time (an exponential moving average of the soft mask, so the edge does not
  flicker) and feathered (a small Gaussian blur at the network's resolution, so the edge is soft);
* :class:`StaticMask` — a fixed mask image (``--mask FILE``), resized to each frame.

:func:`composite` blends a stylization with the original frame under a mask (one style: only the region is
stylized); two styles go through the model's own mask path (one pass, the mask steering the style statistics).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from adain_live.core.codes import StyleCode
from adain_live.core.segmenter import VARIANTS, PersonSegmenter
from adain_live.engine.accel import float_to_u8, resize, u8_to_float

log = logging.getLogger(__name__)

#: What gets the style. ``person + background`` takes two styles (person first).
REGIONS = ("everything", "person", "background", "person+background")
#: Frames at least this wide for their height use the landscape network (144×256), others the square one.
_LANDSCAPE_ASPECT = math.sqrt(VARIANTS["landscape"][1] / VARIANTS["landscape"][0])


def check_region(region: str) -> str:
    """``region`` normalised (``person + background`` → ``person+background``); ValueError when unknown."""
    r = region.replace(" ", "").lower()
    if r not in REGIONS:
        raise ValueError(f"region must be one of {', '.join(REGIONS)}; got {region!r}")
    return r


class MaskSource(Protocol):
    """Anything that gives soft masks for a content batch."""

    def __call__(self, images: Tensor, size: tuple[int, int]) -> Tensor:
        """(N, 3, H, W) in [0, 1] → (N, 1, *size) float32 in [0, 1] on the images' device."""
        ...

    def reset(self) -> None:
        """Forget the previous frames (a new video, a seek, a new camera)."""
        ...


@dataclass(frozen=True)
class MaskSettings:
    """How a person mask is cleaned up.

    smoothing
        Weight of the previous frame's mask in the moving average, in [0, 1): 0 = none; 0.5 halves a
        one-frame flicker; higher values lag behind fast motion.
    feather
        Standard deviation of the edge blur in pixels of the network's mask (144 or 256 px tall): 1.0 is
        about 2.5 px of a 360p frame; 0 = a hard-ish edge.
    """

    smoothing: float = 0.5
    feather: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {self.smoothing}")
        if not 0.0 <= self.feather <= 8.0:
            raise ValueError(f"feather must be in [0, 8] pixels, got {self.feather}")


def _gauss_kernel(sigma: float) -> Tensor:
    radius = max(1, math.ceil(2.5 * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def feather(mask: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of (N, 1, H, W) masks, edges replicated (the frame's border is not an edge)."""
    if sigma <= 0:
        return mask
    k = _gauss_kernel(sigma).to(mask.device)
    r = k.numel() // 2
    m = F.pad(mask, (r, r, 0, 0), mode="replicate")
    m = F.conv2d(m, k.view(1, 1, 1, -1))
    m = F.pad(m, (0, 0, r, r), mode="replicate")
    return F.conv2d(m, k.view(1, 1, -1, 1))


class PersonMasker:
    """Person masks of consecutive frames from the bundled segmenter, smoothed over time and feathered.

    Parameters
    ----------
    segmenters
        ``{"general": ..., "landscape": ...}`` (at least one); the one whose input shape is closer to the
        frame's is used. They are moved to ``device`` in fp32 (the network is tiny).
    device
        The style network's device.
    settings
        Smoothing and feathering.
    """

    def __init__(self, segmenters: Mapping[str, PersonSegmenter], device: torch.device,
                 settings: MaskSettings | None = None) -> None:
        if not segmenters:
            raise ValueError("PersonMasker needs at least one segmenter")
        self.segmenters = {k: s.to(device=device, dtype=torch.float32).eval() for k, s in segmenters.items()}
        self.device = device
        self.settings = settings or MaskSettings()
        self._prev: Tensor | None = None

    def variant(self, h: int, w: int) -> str:
        """Which network a frame of (h, w) uses."""
        want = "landscape" if w >= _LANDSCAPE_ASPECT * h else "general"
        return want if want in self.segmenters else next(iter(self.segmenters))

    def reset(self) -> None:
        """Forget the previous frame (the next mask is not averaged with anything)."""
        self._prev = None

    @torch.inference_mode()
    def __call__(self, images: Tensor, size: tuple[int, int]) -> Tensor:
        """Masks (N, 1, *size) of a batch of consecutive frames (N, 3, H, W), averaged in order with the past."""
        h, w = int(images.shape[-2]), int(images.shape[-1])
        seg = self.segmenters[self.variant(h, w)]
        small = feather(seg.net_mask(images.to(self.device, torch.float32)), self.settings.feather)
        s = self.settings.smoothing
        prev = self._prev
        if s > 0:
            frames = []
            for cur in small.split(1):
                if prev is not None and prev.shape == cur.shape:
                    cur = s * prev + (1.0 - s) * cur
                frames.append(cur)
                prev = cur
            small = torch.cat(frames)
        self._prev = small[-1:].clone()
        return F.interpolate(small, size=size, mode="bilinear", align_corners=False).clamp(0.0, 1.0)


class StaticMask:
    """A fixed mask (H, W) — uint8 0–255, float 0–1, or RGB (averaged) — resized to every frame."""

    def __init__(self, mask: np.ndarray, device: torch.device) -> None:
        m = np.asarray(mask, dtype=np.float32)
        if m.ndim == 3:
            m = m[..., :3].mean(axis=-1)
        if m.ndim != 2:
            raise ValueError(f"a mask must be a (H, W) image, got shape {np.shape(mask)}")
        if np.asarray(mask).dtype == np.uint8:
            m = m / 255.0
        self._mask = torch.from_numpy(np.ascontiguousarray(m.clip(0.0, 1.0)))[None, None].to(device)

    def reset(self) -> None:
        """Nothing to forget."""

    def __call__(self, images: Tensor, size: tuple[int, int]) -> Tensor:
        """The mask at ``size``, once per image of the batch."""
        down = size[0] < self._mask.shape[-2] or size[1] < self._mask.shape[-1]
        m = F.interpolate(self._mask, size=size, mode="bilinear", align_corners=False, antialias=down)
        return m.clamp(0.0, 1.0).expand(images.shape[0], -1, -1, -1).to(images.device)


def region_weight(mask: Tensor, region: str) -> Tensor:
    """Where a single style applies: the mask for ``person``, its complement for ``background``."""
    if region == "person":
        return mask
    if region == "background":
        return 1.0 - mask
    raise ValueError(f"region {region!r} has no single-style weight (use person or background)")


def composite(stylized: Tensor, content: Tensor, weight: Tensor) -> Tensor:
    """``content + weight · (stylized − content)`` in fp32: weight 1 shows the stylization, 0 the original.

    ``stylized`` and ``content`` are (N, 3, H, W) (or uint8 NHWC, then the result is uint8 NHWC), ``weight``
    (N, 1, H, W).
    """
    if stylized.dtype == torch.uint8:
        s = stylized.permute(0, 3, 1, 2).float()
        c = content.permute(0, 3, 1, 2).float()
        out = c + weight.to(s.device) * (s - c)
        return (out + 0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    c = content.float()
    return (c + weight.float() * (stylized.float() - c)).to(stylized.dtype)


@dataclass(frozen=True)
class Region:
    """A region setting of a pipeline: what is styled, the mask source and (two styles) the background's code."""

    name: str
    masks: MaskSource
    background: StyleCode | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", check_region(self.name))
        if self.name == "everything":
            raise ValueError("'everything' needs no Region (remove the region instead)")
        if (self.name == "person+background") != (self.background is not None):
            raise ValueError("person+background takes a background style; person or background take none")

    def to(self, device: torch.device) -> Region:
        """The same setting with the background's code on ``device`` and the mask source's history cleared."""
        self.masks.reset()
        bg = self.background.to(device) if self.background is not None else None
        return Region(self.name, self.masks, bg)


def apply_region(region: Region, u8: Tensor, proc: tuple[int, int], out: tuple[int, int], dtype: torch.dtype,
                 stylize_u8: Callable[[Tensor], Tensor], stylize_masked: Callable[[Tensor, Tensor], Tensor]
                 ) -> Tensor:
    """Stylize a uint8 NHWC batch (on the device) in ``region``; uint8 NHWC at ``out`` comes back.

    ``stylize_u8`` is the pipeline's ordinary frame function (uint8 in, uint8 at ``out``); ``stylize_masked``
    takes the content at ``proc`` and a mask there and runs the model's two-style mask path.
    """
    x = u8_to_float(u8, torch.float32)
    if region.name == "person+background":
        mask = region.masks(x, proc)
        return float_to_u8(resize(stylize_masked(resize(x, proc).to(dtype), mask), out))
    mask = region.masks(x, out)
    content = u8 if tuple(u8.shape[1:3]) == tuple(out) else float_to_u8(resize(x, out))
    return composite(stylize_u8(u8), content, region_weight(mask, region.name))


def bundled_masker(device: torch.device, settings: MaskSettings | None = None) -> PersonMasker:
    """A :class:`PersonMasker` with both bundled segmenter variants (weights checked against their manifest)."""
    from adain_live.weights import load_segmenter

    return PersonMasker({v: load_segmenter(v) for v in VARIANTS}, device, settings)
