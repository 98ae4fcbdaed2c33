"""Model families behind one interface (AdaIN-VGG, MicroAST), fp32 statistics and style codes."""

from __future__ import annotations

from adain_live.core.codes import StyleCode, code_from_state_dict, mix_codes
from adain_live.core.device import resolve_device, resolve_dtype
from adain_live.core.interface import FrameNet, StyleModel
from adain_live.core.microast import MicroASTCode, MicroASTModel, load_microast
from adain_live.core.model import AdaINModel
from adain_live.core.stats import StyleStats, adain, mean_std, mix_stats
from adain_live.core.vgg import build_decoder, build_encoder, build_vgg

__all__ = [
    "AdaINModel",
    "FrameNet",
    "MicroASTCode",
    "MicroASTModel",
    "StyleCode",
    "StyleModel",
    "StyleStats",
    "adain",
    "build_decoder",
    "build_encoder",
    "build_vgg",
    "code_from_state_dict",
    "load_microast",
    "mean_std",
    "mix_codes",
    "mix_stats",
    "resolve_device",
    "resolve_dtype",
]
