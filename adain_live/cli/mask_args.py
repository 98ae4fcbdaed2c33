"""``--mask person|background|FILE`` for ``stylize`` and ``video``: which part of the picture gets the style."""

from __future__ import annotations

import argparse
from pathlib import Path

from adain_live.core.codes import StyleCode
from adain_live.engine.mask import MaskSettings, MaskSource, Region, StaticMask, bundled_masker
from adain_live.engine.pipeline import StylePipeline
from adain_live.errors import UserError
from adain_live.media.images import read_image

KEYWORDS = ("person", "background")

_HELP = ("style only part of the picture: 'person' (the bundled person segmenter), 'background', or a mask image "
         "FILE (white = the region). With one style the rest stays the original; with two styles the region takes "
         "the first and the rest the second (person first for 'person' and FILE, background first for "
         "'background'). A file called person or background: write ./person")


def add_mask_args(parser: argparse.ArgumentParser, *, video: bool = False) -> None:
    """--mask, --feather and (video) --mask-smoothing."""
    g = parser.add_argument_group("regions")
    g.add_argument("--mask", metavar="person|background|FILE", help=_HELP)
    g.add_argument("--feather", type=float, default=1.0, metavar="PX",
                   help="softness of the person mask's edge, in pixels of the segmenter's 256-px mask "
                        "(default 1; 0 = hard)")
    if video:
        g.add_argument("--mask-smoothing", type=float, default=0.5, metavar="S",
                       help="how much of the previous frame's person mask is kept, in [0, 1) (default 0.5; "
                            "0 = none): steadier edges, a little lag on fast motion")


def _settings(args: argparse.Namespace) -> MaskSettings:
    try:
        return MaskSettings(smoothing=getattr(args, "mask_smoothing", 0.0), feather=args.feather)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def check_mask_args(args: argparse.Namespace) -> None:
    """Fail early (before the model loads) on a bad combination or a missing mask file."""
    if args.mask is None:
        return
    _settings(args)
    if len(args.style) not in (1, 2):
        raise UserError(f"--mask takes one style (only the region is styled) or two (region, rest); "
                        f"got {len(args.style)}")
    if args.mix is not None:
        raise UserError("--mix and --mask do not go together: with --mask, two styles go to the two regions")
    if args.mask not in KEYWORDS and not Path(args.mask).is_file():
        raise UserError(f"--mask {args.mask}: no such file; use person, background or a mask image")


def mask_files(args: argparse.Namespace) -> list[Path]:
    """The mask image given with --mask, if any (an input the outputs must never replace)."""
    return [Path(args.mask)] if args.mask is not None and args.mask not in KEYWORDS else []


def install_region(pipe: StylePipeline, args: argparse.Namespace, styles: list[StyleCode]) -> Region | None:
    """Set the pipeline's style(s) and region from --mask (None without it); reset its masks per clip."""
    if args.mask is None:
        return None
    check_mask_args(args)
    masks: MaskSource
    if args.mask in KEYWORDS:
        masks = bundled_masker(pipe.device, _settings(args))
    else:
        image, _ = read_image(Path(args.mask))
        masks = StaticMask(image, pipe.device)
    first, rest = styles[0], styles[1] if len(styles) == 2 else None
    if rest is None:
        region, style = Region(args.mask if args.mask in KEYWORDS else "person", masks), first
    elif args.mask == "background":  # the background takes the first style: the person gets the second
        region, style = Region("person+background", masks, background=first), rest
    else:
        region, style = Region("person+background", masks, background=rest), first
    pipe.set_style(style)
    pipe.set_region(region)
    return region
