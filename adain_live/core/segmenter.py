"""Person segmenter: MediaPipe's selfie segmentation network rebuilt in torch.

The network (Apache-2.0, Google; from the ``mediapipe==0.10.21`` wheel, converted once by
``scripts/convert_selfie_segmentation.py``) is a MobileNetV3-small-style encoder down to 1/16 resolution with
squeeze-and-excitation, an LR-ASPP-like head and a three-stage decoder with attention-gated skips, ending in a
2×2 transposed convolution and a sigmoid. Two weight sets share it: ``general`` (input 256×256) and
``landscape`` (input 144×256, for 16:9 frames).

:class:`PersonSegmenter` takes (N, 3, H, W) RGB in [0, 1] of any size, squeezes it to the network's input
(aspect not kept; sampled as MediaPipe's input warp samples) and returns the soft person mask (N, 1, H, W) in
[0, 1] at the input's size (bilinear, as MediaPipe resizes its mask).
Convolutions follow TensorFlow's ``SAME`` padding (asymmetric for stride 2), so the port agrees with the
original graph.
"""

from __future__ import annotations

import os
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adain_live.core.checkpoint import read_state_dict, validate_state

#: Network input (height, width) of each variant.
VARIANTS: dict[str, tuple[int, int]] = {"general": (256, 256), "landscape": (144, 256)}


def _same_pad(x: Tensor, k: int, s: int) -> Tensor:
    """TensorFlow ``SAME`` padding for a k×k kernel with stride s (extra pixel at the bottom/right)."""
    h, w = x.shape[-2:]
    ph = max((-(-h // s) - 1) * s + k - h, 0)
    pw = max((-(-w // s) - 1) * s + k - w, 0)
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))


class _Conv(nn.Conv2d):
    """Conv with TF SAME padding; stride 1 uses symmetric padding inside the convolution (same result)."""

    def __init__(self, cin: int, cout: int, k: int = 1, stride: int = 1, groups: int = 1) -> None:
        super().__init__(cin, cout, k, stride, padding=k // 2 if stride == 1 else 0, groups=groups)

    def forward(self, x: Tensor) -> Tensor:
        if self.stride[0] != 1:
            x = _same_pad(x, self.kernel_size[0], self.stride[0])
        return super().forward(x)


def _gap(x: Tensor) -> Tensor:
    """Global average pool in fp32 (the mean of a large map in half precision loses digits)."""
    return x.float().mean(dim=(2, 3), keepdim=True).to(x.dtype)


class _SqueezeExcite(nn.Module):
    def __init__(self, ch: int, mid: int) -> None:
        super().__init__()
        self.reduce = _Conv(ch, mid)
        self.expand = _Conv(mid, ch)

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(self.expand(F.relu(self.reduce(_gap(x)))))


class _Bottleneck(nn.Module):
    """MobileNetV3 inverted residual: 1×1 expand, k×k depthwise, optional SE, 1×1 linear projection."""

    def __init__(self, cin: int, mid: int, cout: int, k: int, stride: int, hswish: bool, se: int = 0) -> None:
        super().__init__()
        self.expand = _Conv(cin, mid)
        self.dw = _Conv(mid, mid, k, stride, groups=mid)
        self.se = _SqueezeExcite(mid, se) if se else None
        self.project = _Conv(mid, cout)
        self.act = nn.Hardswish() if hswish else nn.ReLU()
        self.residual = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        y = self.act(self.dw(self.act(self.expand(x))))
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return x + y if self.residual else y


class _Head(nn.Module):
    """LR-ASPP-like head at 1/16: a ReLU branch gated by a global-context sigmoid."""

    def __init__(self, cin: int, mid: int) -> None:
        super().__init__()
        self.conv = _Conv(cin, mid)
        self.gate = _Conv(cin, mid)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.conv(x)) * torch.sigmoid(self.gate(_gap(x)))


class _Fuse(nn.Module):
    """Decoder stage: skip gated by the global context of skip + up, plus up, then 1×1 and a depthwise residual."""

    def __init__(self, ch: int) -> None:
        super().__init__()
        self.att = _SqueezeExcite(ch, ch)
        self.conv = _Conv(ch, ch)
        self.dw = _Conv(ch, ch, 3, groups=ch)

    def forward(self, skip: Tensor, up: Tensor) -> Tensor:
        s = skip + up
        gate = torch.sigmoid(self.att.expand(F.relu(self.att.reduce(_gap(s)))))
        y = F.relu(self.conv(skip * gate + up))
        return y + F.relu(self.dw(y))


def _up(x: Tensor, like: Tensor) -> Tensor:
    """Bilinear upsampling with half-pixel centres (TF ``RESIZE_BILINEAR``, half_pixel_centers=True)."""
    return F.interpolate(x, size=like.shape[-2:], mode="bilinear", align_corners=False)


class SelfieSegmentationNet(nn.Module):
    """The bare network: (N, 3, h, w) RGB in [0, 1] at the variant's input size → person logits (N, 1, h, w)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = _Conv(3, 16, 3, 2)
        self.blocks = nn.ModuleList([
            _Bottleneck(16, 16, 16, 3, 2, hswish=False, se=8),     # 1/4, skip
            _Bottleneck(16, 72, 24, 3, 2, hswish=False),
            _Bottleneck(24, 88, 24, 3, 1, hswish=False),           # 1/8, skip
            _Bottleneck(24, 96, 32, 5, 2, hswish=True, se=24),
            _Bottleneck(32, 128, 32, 5, 1, hswish=True, se=32),
            _Bottleneck(32, 128, 32, 5, 1, hswish=True, se=32),
            _Bottleneck(32, 96, 32, 5, 1, hswish=True, se=24),
            _Bottleneck(32, 96, 32, 5, 1, hswish=True, se=24),     # 1/16
        ])
        self.head = _Head(32, 128)
        self.up8 = _Conv(128, 24)
        self.fuse8 = _Fuse(24)
        self.up4 = _Conv(24, 16)
        self.fuse4 = _Fuse(16)
        self.up2 = _Conv(16, 16)
        self.fuse2 = _Fuse(16)
        self.out = nn.ConvTranspose2d(16, 1, 2, 2)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (N, 1, h, w) of ``x`` (N, 3, h, w) in [0, 1]."""
        s2 = F.hardswish(self.stem(x))
        y = s2
        skips = []
        for i, block in enumerate(self.blocks):
            y = block(y)
            if i in (0, 2):
                skips.append(y)
        s4, s8 = skips
        # A 1×1 convolution commutes with bilinear resizing (weights sum to one), so it runs before the
        # upsampling, on 4× fewer pixels than in the original graph.
        y = self.fuse8(s8, _up(self.up8(self.head(y)), s8))
        y = self.fuse4(s4, _up(self.up4(y), s4))
        y = self.fuse2(s2, _up(self.up2(y), s2))
        return self.out(y)


class PersonSegmenter(nn.Module):
    """Soft person mask of frames of any size, with the weights of one MediaPipe variant.

    ``forward`` takes (N, 3, H, W) RGB in [0, 1] (any float dtype) and returns (N, 1, H, W) in [0, 1] in the
    segmenter's dtype, the network run at :attr:`input_size` in between.
    """

    family: ClassVar[str] = "selfie-segmentation"

    def __init__(self, variant: str = "landscape") -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        self.variant = variant
        self.input_size = VARIANTS[variant]
        self.net = SelfieSegmentationNet()
        self._grids: dict[tuple[int, int, torch.device, torch.dtype], Tensor] = {}

    @classmethod
    def random(cls, variant: str = "landscape", seed: int = 0) -> PersonSegmenter:
        """A segmenter with seeded random weights of the real shapes (tests, benchmarks)."""
        gen = torch.Generator().manual_seed(seed)
        seg = cls(variant).eval()
        with torch.no_grad():
            for p in seg.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
        return seg

    @property
    def dtype(self) -> torch.dtype:
        """Dtype of the weights."""
        return next(self.parameters()).dtype

    def forward(self, images: Tensor) -> Tensor:
        """Soft person mask (N, 1, H, W) in [0, 1] of ``images`` (N, 3, H, W) RGB in [0, 1]."""
        mask = self.net_mask(images)
        h, w = images.shape[-2:]
        if (h, w) != self.input_size:
            mask = F.interpolate(mask, size=(h, w), mode="bilinear", align_corners=False).clamp(0.0, 1.0)
        return mask

    def net_mask(self, images: Tensor) -> Tensor:
        """The mask at the network's resolution (N, 1, *input_size) (callers smooth it there, then resize)."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be (N, 3, H, W), got {tuple(images.shape)}")
        h, w = int(images.shape[-2]), int(images.shape[-1])
        x = images.to(self.dtype)
        if (h, w) != self.input_size:
            x = F.grid_sample(x, self._grid(h, w, x), mode="bilinear", padding_mode="zeros", align_corners=False)
        return torch.sigmoid(self.net(x))

    def _grid(self, h: int, w: int, like: Tensor) -> Tensor:
        """Sampling grid of MediaPipe's input warp: output pixel x reads input x·W/w (corners map to corners).

        MediaPipe squeezes the frame with OpenCV's perspective warp of the frame's corners onto the tensor's
        corners; that samples at ``x * W / w``, half a source pixel off half-pixel-centred resizing, and the
        masks near 0.5 are sensitive to it (IoU against MediaPipe 0.82 with ``F.interpolate``, 0.99 with this).
        """
        key = (h, w, like.device, like.dtype)
        grid = self._grids.get(key)
        if grid is None:
            ih, iw = self.input_size
            sy = torch.arange(ih, dtype=torch.float64) * (h / ih)
            sx = torch.arange(iw, dtype=torch.float64) * (w / iw)
            gy, gx = torch.meshgrid((2 * sy + 1) / h - 1, (2 * sx + 1) / w - 1, indexing="ij")
            grid = torch.stack((gx, gy), dim=-1)[None].to(device=like.device, dtype=like.dtype)
            self._grids[key] = grid
        return grid.expand(like.shape[0], -1, -1, -1)


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of the network (what a weights file must hold)."""
    return {k: tuple(v.shape) for k, v in SelfieSegmentationNet().state_dict().items()}


def load_segmenter(path: str | os.PathLike[str], variant: str) -> PersonSegmenter:
    """Load converted weights (safetensors; names of :class:`SelfieSegmentationNet`) as an fp32 segmenter."""
    state = read_state_dict(path)
    validate_state(state, expected_shapes(), "selfie segmenter", path)
    seg = PersonSegmenter(variant)
    seg.net.load_state_dict({k: v.float() for k, v in state.items()})
    return seg.eval()

