"""Channel statistics and the AdaIN operation, always computed in fp32.

``mean_std`` reproduces pytorch-AdaIN's ``calc_mean_std``: per-channel mean, and std as the square root of the
*unbiased* variance plus ``eps`` (1e-5). Statistics are computed in fp32 even inside an fp16/bf16 pipeline,
because variances of large relu4_1 maps lose precision (and can overflow) in half precision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from adain_live.core.codes import StyleCode, mix_codes

EPS = 1e-5


def mean_std(feat: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """Return per-channel mean and std of ``feat`` (N, C, H, W) as fp32 tensors of shape (N, C, 1, 1).

    The variance is unbiased (divides by H*W - 1), like the reference; for a single spatial position, where
    that is undefined, the variance is taken as 0 instead of NaN.
    """
    n, c = feat.shape[:2]
    flat = feat.reshape(n, c, -1).float()
    correction = 1 if flat.shape[-1] > 1 else 0
    var = flat.var(dim=2, correction=correction) + eps
    return flat.mean(dim=2).view(n, c, 1, 1), var.sqrt().view(n, c, 1, 1)


def masked_mean_std(feat: Tensor, mask: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """Per-channel mean/std of ``feat`` over the positions where ``mask`` (N, 1, H, W) is 1.

    Uses the unbiased variance like :func:`mean_std`. A region with fewer than two positions falls back to
    the statistics of the whole map (its AdaIN output is then weighted by ~0 anyway).
    """
    flat = feat.float()
    count = mask.sum(dim=(2, 3), keepdim=True)
    mean = (flat * mask).sum(dim=(2, 3), keepdim=True) / count.clamp(min=1)
    var = ((flat - mean) ** 2 * mask).sum(dim=(2, 3), keepdim=True) / (count - 1).clamp(min=1)
    std = (var + eps).sqrt()
    g_mean, g_std = mean_std(feat, eps)
    small = count < 2
    return torch.where(small, g_mean, mean), torch.where(small, g_std, std)


@dataclass(frozen=True)
class StyleStats(StyleCode):
    """The AdaIN-VGG style code: per-channel mean and std of a style image's relu4_1 features (fp32, (C,)).

    Computed once per style (:meth:`AdaINModel.encode_style`) and reused for every frame. Mixing is exact:
    AdaIN is affine in (std, mean), so mixed statistics give the same features as mixing AdaIN outputs.
    """

    family: ClassVar[str] = "adain"
    positive: ClassVar[frozenset[str]] = frozenset({"std"})

    mean: Tensor
    std: Tensor

    def __post_init__(self) -> None:
        if self.mean.shape != self.std.shape or self.mean.dim() != 1:
            raise ValueError(f"StyleStats needs two (C,) tensors, got {tuple(self.mean.shape)} and "
                             f"{tuple(self.std.shape)}")

    @property
    def channels(self) -> int:
        """Number of feature channels (512 for relu4_1)."""
        return int(self.mean.shape[0])

    def as_4d(self) -> tuple[Tensor, Tensor]:
        """Return mean and std shaped (1, C, 1, 1) for broadcasting over feature maps."""
        return self.mean.view(1, -1, 1, 1), self.std.view(1, -1, 1, 1)


def mix_stats(stats: Sequence[StyleStats], weights: Sequence[float] | None = None) -> StyleStats:
    """Interpolate N styles by mixing their statistics with real-valued weights (:func:`mix_codes`).

    Weights are normalised to sum to 1 (as pytorch-AdaIN does); negative weights extrapolate. Because AdaIN is
    affine in (std, mean), ``sum_i w_i * AdaIN(x, s_i) == AdaIN'(x, sum_i w_i*std_i, sum_i w_i*mean_i)``:
    mixing statistics gives the *same* features as the paper's mixing of AdaIN outputs, at the cost of one
    AdaIN per frame instead of N. The mixed std is clamped to be positive.
    """
    return mix_codes(stats, weights)


def adain(content: Tensor, style_mean: Tensor, style_std: Tensor, eps: float = EPS) -> Tensor:
    """Adaptive instance normalisation in fp32: ``std_s * (x - mean_x) / std_x + mean_s``.

    ``style_mean``/``style_std`` broadcast against (N, C, 1, 1). Returns an fp32 tensor.
    """
    c_mean, c_std = mean_std(content, eps)
    return (content.float() - c_mean) / c_std * style_std + style_mean


#: A content-statistics hook: called as ``hook(site, mean, std)`` with the content features' per-channel
#: statistics (N, C, 1, 1, fp32; the N frames of a batch in time order) right before AdaIN normalises them at
#: ``site`` (e.g. ``"relu4_1"``; masked regions add ``"/fg"`` / ``"/bg"``); returns the (mean, std) to use.
#: The engine uses it to smooth the statistics over time (``adain_live.engine.temporal_stats``).
ContentStatsHook = Callable[[str, Tensor, Tensor], tuple[Tensor, Tensor]]


def hooked(hook: ContentStatsHook | None, site: str, mean: Tensor, std: Tensor) -> tuple[Tensor, Tensor]:
    """``(mean, std)`` passed through ``hook`` when there is one."""
    return (mean, std) if hook is None else hook(site, mean, std)
