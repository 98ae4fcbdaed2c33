"""The AdaIN network in plain torch: encoder/decoder builders, statistics, the model."""

from __future__ import annotations

from adain_live.core.device import resolve_device, resolve_dtype
from adain_live.core.model import AdaINModel
from adain_live.core.stats import StyleStats, adain, mean_std, mix_stats
from adain_live.core.vgg import build_decoder, build_encoder, build_vgg

__all__ = [
    "AdaINModel",
    "StyleStats",
    "adain",
    "build_decoder",
    "build_encoder",
    "build_vgg",
    "mean_std",
    "mix_stats",
    "resolve_device",
    "resolve_dtype",
]
