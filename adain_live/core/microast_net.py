"""MicroAST's layers (Wang et al., AAAI 2023), written from the description of its weight files.

Four parts, each a plain ``state_dict`` upstream (EndyWon/MicroAST, MIT): two identical encoders (content and
style), a modulator and a decoder. Every convolution is a :class:`ConvLayer` (reflection padding ``k // 2``,
then a conv stored as ``conv_layer``) so the upstream keys load unchanged. Images are RGB in [0, 1] without
normalisation. No upstream code is carried: only the layout needed to load the files.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adain_live.core.polyphase import polyphase_conv2d
from adain_live.core.stats import ContentStatsHook, hooked, masked_mean_std, mean_std

#: Downsampling factor of the encoders (two stride-2 convs); the decoder upsamples by the same.
STRIDE = 4
#: Channels of the encoder features and of every code vector.
CHANNELS = 64


class ConvLayer(nn.Module):
    """Reflection padding of ``k // 2`` then a convolution stored as ``conv_layer``.

    ``phases`` > 1: on the CPU the convolution runs on that many phases per side
    (:func:`~adain_live.core.polyphase.polyphase_conv2d`, faster there for the last, 16 → 3 layer).
    """

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, phases: int = 1) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(k // 2)
        self.conv_layer = nn.Conv2d(cin, cout, k, stride, groups=groups)
        self.phases = phases

    def forward(self, x: Tensor) -> Tensor:
        """Pad and convolve."""
        if self.phases > 1 and x.device.type == "cpu":
            return polyphase_conv2d(self.pad(x), self.conv_layer.weight, self.conv_layer.bias, self.phases)
        return self.conv_layer(self.pad(x))


class ResidualBlock(nn.Module):
    """64-channel residual block, plain or modulated by per-channel ``w``/``b``."""

    def __init__(self, channels: int = CHANNELS) -> None:
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3)
        self.conv2 = ConvLayer(channels, channels, 3)

    def forward(self, x: Tensor, w: Tensor | None = None, b: Tensor | None = None) -> Tensor:
        """``x + conv2(relu(conv1(x)))``, or ``x + (w*h3 + b*h2)`` with ``h2 = relu(w*conv1(x) + b*x)``.

        ``w``/``b`` broadcast against ``x``: (N or 1, C, 1, 1) vectors, or (N, C, H, W) maps (masks).
        """
        if w is None or b is None:
            return x + self.conv2(F.relu(self.conv1(x)))
        h1 = self.conv1(x)
        h2 = F.relu(w * h1 + b * x)
        h3 = self.conv2(h2)
        return x + (w * h3 + b * h2)


class Encoder(nn.Module):
    """MicroAST encoder: returns ``[f1, f2]``, 64 channels at 1/4 resolution (``ceil(H/4)``)."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(
            ConvLayer(3, 16, 9), nn.ReLU(),
            ConvLayer(16, 32, 3, 2, groups=16), nn.ReLU(),
            ConvLayer(32, 32, 1), nn.ReLU(),
            ConvLayer(32, 64, 3, 2, groups=32), nn.ReLU(),
            ConvLayer(64, 64, 1), nn.ReLU(),
            ResidualBlock(),
        )  # fmt: skip
        self.enc2 = nn.Sequential(ResidualBlock())

    def forward(self, x: Tensor) -> list[Tensor]:
        """Features ``[f1, f2]`` of an image batch."""
        f1 = self.enc1(x)
        return [f1, self.enc2(f1)]


class Modulator(nn.Module):
    """Per-channel modulation weights and biases from the style features."""

    def __init__(self) -> None:
        super().__init__()
        self.weight1 = self._branch()
        self.bias1 = self._branch()
        self.weight2 = self._branch()
        self.bias2 = self._branch()

    @staticmethod
    def _branch() -> nn.Sequential:
        return nn.Sequential(ConvLayer(CHANNELS, CHANNELS, 3, groups=CHANNELS), nn.AdaptiveAvgPool2d(1))

    def forward(self, feats: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """Return ``w = [weight1(s1), weight2(s2)]`` and ``b = [bias1(s1), bias2(s2)]``, each (N, 64, 1, 1)."""
        s1, s2 = feats
        return [self.weight1(s1), self.weight2(s2)], [self.bias1(s1), self.bias2(s2)]


#: The code vectors as (N or 1, 64, 1, 1) tensors, in :class:`~adain_live.core.microast.MicroASTCode` order:
#: s1 mean, s1 std, s2 mean, s2 std, w1, b1, w2, b2.
Code4d = tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]


class Decoder(nn.Module):
    """MicroAST decoder: AdaIN + modulated residual block at two levels, then upsampling ×4 to RGB."""

    def __init__(self) -> None:
        super().__init__()
        self.dec1 = ResidualBlock()
        self.dec2 = ResidualBlock()
        self.dec3 = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            ConvLayer(64, 32, 3, groups=32), nn.ReLU(),
            ConvLayer(32, 32, 1), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            ConvLayer(32, 16, 3, groups=16), nn.ReLU(),
            ConvLayer(16, 16, 1), nn.ReLU(),
            ConvLayer(16, 3, 9, phases=2),
        )  # fmt: skip

    def decode(self, c2: Tensor, code: Code4d, alpha: Tensor, mask: Tensor | None = None,
               background: Code4d | None = None, hook: ContentStatsHook | None = None) -> Tensor:
        """Decode content features ``c2`` with a style code (not clamped; 4x the features' size).

        ``t = adain(c2, s2)`` blended by α with ``c2``, then ``dec1`` modulated by (w2, b2); ``v = adain(u, s1)``
        blended by α with ``u``, then ``dec2`` modulated by (w1, b1); then ``dec3``. AdaIN runs in fp32.
        With ``mask`` (N, 1, h, w) at the features' size, each region is normalised with its own statistics
        and the two codes' targets and modulation vectors are blended by the mask. ``hook`` sees the content
        statistics at sites ``microast/level2`` and ``microast/level1`` (``/fg``, ``/bg`` with a mask).
        """
        s1m, s1s, s2m, s2s, w1, b1, w2, b2 = code
        dt = c2.dtype
        bg = background if mask is not None else None
        if bg is not None and mask is not None:
            w1, b1, w2, b2 = (mask * f + (1.0 - mask) * g for f, g in zip((w1, b1, w2, b2), bg[4:], strict=True))
        t = _blend(_adain(c2, s2m, s2s, mask, bg[2:4] if bg else None, hook, "microast/level2"), c2, alpha).to(dt)
        u = self.dec1(t, w2.to(dt), b2.to(dt))
        v = _blend(_adain(u, s1m, s1s, mask, bg[0:2] if bg else None, hook, "microast/level1"), u, alpha).to(dt)
        y = self.dec2(v, w1.to(dt), b1.to(dt))
        return self.dec3(y)

    def forward(self, content: list[Tensor], style: list[Tensor], w: list[Tensor], b: list[Tensor],
                alpha: Tensor | float) -> Tensor:
        """The upstream form: features ``[c1, c2]``, style features ``[s1, s2]``, ``w``, ``b`` lists, α."""
        s1m, s1s = mean_std(style[0])
        s2m, s2s = mean_std(style[1])
        a = torch.as_tensor(alpha, dtype=torch.float32, device=content[1].device)
        a = a.reshape(-1, 1, 1, 1) if a.dim() else a
        return self.decode(content[1], (s1m, s1s, s2m, s2s, w[0], b[0], w[1], b[1]), a)


def _adain(feat: Tensor, mean: Tensor, std: Tensor, mask: Tensor | None, background: tuple[Tensor, ...] | None,
           hook: ContentStatsHook | None, site: str) -> Tensor:
    """AdaIN of ``feat`` to (mean, std) in fp32; with a mask, per region (foreground code / background code)."""
    f = feat.float()
    if mask is None or background is None:
        c_mean, c_std = hooked(hook, site, *mean_std(f))
        return (f - c_mean) / c_std * std + mean
    hard = (mask >= 0.5).float()
    fg_mean, fg_std = hooked(hook, f"{site}/fg", *masked_mean_std(f, hard))
    bg_mean, bg_std = hooked(hook, f"{site}/bg", *masked_mean_std(f, 1.0 - hard))
    fg = (f - fg_mean) / fg_std * std + mean
    bgt = (f - bg_mean) / bg_std * background[1] + background[0]
    return mask * fg + (1.0 - mask) * bgt


def _blend(target: Tensor, feat: Tensor, alpha: Tensor) -> Tensor:
    """``α t + (1 - α) f`` in fp32 (not lerp: α = 1 must give the target exactly, as upstream)."""
    a = alpha.float()
    return a * target + (1.0 - a) * feat.float()
