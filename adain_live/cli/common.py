"""Arguments and helpers shared by the subcommands (model, device, style options)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from adain_live import weights
from adain_live.core.codes import StyleCode
from adain_live.core.device import PRECISIONS
from adain_live.engine.config import RuntimeConfig, StyleConfig, parse_mix
from adain_live.engine.pipeline import StylePipeline
from adain_live.engine.session import open_session
from adain_live.errors import UserError
from adain_live.media.images import read_image

log = logging.getLogger(__name__)


def add_model_args(parser: argparse.ArgumentParser) -> None:
    """--model / --vgg / --decoder / --device / --precision."""
    g = parser.add_argument_group("model and device")
    g.add_argument("--model", choices=list(weights.REGISTRY), default=None,
                   help="a known model (default: adain-vgg19 if installed, else the bundled microast; "
                        "`adain-live weights list` shows each with its measured speed and quality)")
    g.add_argument("--vgg", type=Path, help="encoder weights (vgg_normalised.pth); use with --decoder")
    g.add_argument("--decoder", type=Path, help="decoder weights (decoder.pth or .safetensors); use with --vgg")
    g.add_argument("--device", default="auto", help="auto (CUDA, else Apple MPS, else CPU), cpu, cuda, cuda:N or mps")
    g.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="auto = fp16 on CUDA; on the CPU bf16 where it has native bf16, else fp32")


def add_style_args(parser: argparse.ArgumentParser, *, default_size: int = 512) -> None:
    """-s STYLE (repeatable) / --mix / --alpha / --preserve-color / --size / --style-size."""
    g = parser.add_argument_group("style")
    g.add_argument("-s", "--style", action="append", type=Path, default=[], metavar="STYLE",
                   help="style image; repeat to interpolate several styles (see --mix)")
    g.add_argument("--mix", metavar="W1,W2,...", help="one weight per style, e.g. 0.3,0.7 (normalised to sum 1)")
    g.add_argument("--alpha", type=float, default=1.0, help="content-style trade-off in [0, 1] (default 1)")
    g.add_argument("--preserve-color", action="store_true",
                   help="keep the content's colours (luminance-only transfer)")
    g.add_argument("--size", type=int, default=default_size,
                   help=f"processing size of the content's shorter side, 0 = original (default {default_size})")
    g.add_argument("--style-size", type=int, default=512,
                   help="size of the style image's shorter side, 0 = original (default 512)")


def style_config(args: argparse.Namespace) -> StyleConfig:
    """Validated :class:`StyleConfig` from parsed arguments (bad values become one-line UserErrors)."""
    try:
        cfg = StyleConfig(alpha=args.alpha, mix=parse_mix(args.mix), preserve_color=args.preserve_color,
                          size=args.size, style_size=args.style_size)
        cfg.check_styles(len(args.style))
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return cfg


def runtime_config(args: argparse.Namespace, **fields: Any) -> RuntimeConfig:
    """The :class:`RuntimeConfig` of --model/--vgg/--decoder/--device/--precision plus ``fields``."""
    try:
        return RuntimeConfig(model=args.model, vgg=args.vgg, decoder=args.decoder, device=args.device,
                             precision=args.precision, **fields)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def build_pipeline(args: argparse.Namespace, cfg: StyleConfig, output_size: str = "input",
                   fixed_shapes: bool = False) -> StylePipeline:
    """The session's pipeline for --model/--vgg/--decoder on --device at --precision, with ``cfg``'s style.

    ``fixed_shapes`` (video: every frame has one size) turns on torch.compile + CUDA graphs on CUDA; for images
    of many sizes a compile per size would cost more than it saves.
    """
    rc = runtime_config(args, size=cfg.size, output_size=output_size, compile=fixed_shapes,
                        cuda_graphs=fixed_shapes)
    return open_session(rc, cfg).pipeline


def load_styles(pipe: StylePipeline, paths: list[Path], style_size: int) -> list[StyleCode]:
    """Read each style image and compute its style code once."""
    if not paths:
        raise UserError("no style given; add -s STYLE_IMAGE (or use --demo)")
    stats = []
    for p in paths:
        rgb, _alpha = read_image(p)
        stats.append(pipe.style_code(rgb, style_size))
    return stats


def set_styles(pipe: StylePipeline, args: argparse.Namespace, cfg: StyleConfig) -> list[StyleCode]:
    """Compute the style code of every -s STYLE and install the (mixed) style in the pipeline."""
    stats = load_styles(pipe, list(args.style), cfg.style_size)
    pipe.set_style(stats, cfg.mix)
    return stats


