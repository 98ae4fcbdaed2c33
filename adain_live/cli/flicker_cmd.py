"""``adain-live flicker``: how much a stylized video flickers (warping error against the original's motion)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from adain_live.engine.temporal import measure_flicker
from adain_live.errors import UserError
from adain_live.media.flow import PRESETS


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "flicker", help="measure the flicker of a stylized video (warping error)",
        description="Warping error of Lai et al. 2018: the stylized frame t+1 is warped onto frame t with the "
                    "optical flow (OpenCV DIS) of the ORIGINAL video, occlusions are masked by a forward-backward "
                    "check, and the squared RGB difference (in [0, 1], summed over R, G, B) is averaged over the "
                    "unmasked pixels, then over frame pairs. 0 is perfectly stable; lower is better.")
    p.add_argument("original", type=Path, help="the original video")
    p.add_argument("stylized", type=Path, help="its stylized version (same frames)")
    p.add_argument("--size", type=int, default=360,
                   help="short side the metric runs at, 0 = native (default 360)")
    p.add_argument("--preset", choices=list(PRESETS), default="medium", help="DIS flow preset (default medium)")
    p.add_argument("--frames", type=int, default=0, help="measure only the first N frames (default: all)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``adain-live flicker``."""
    if args.size < 0 or args.frames < 0:
        raise UserError(f"--size ({args.size}) and --frames ({args.frames}) must be 0 or positive")
    for path in (args.original, args.stylized):
        if not path.is_file():
            raise UserError(f"video not found: {path}")
    result = measure_flicker(args.original, args.stylized, preset=args.preset, size=args.size,
                             max_frames=args.frames)
    if result.pairs == 0:
        raise UserError(f"{args.original}: need at least two frames with trackable motion to measure flicker")
    if args.json:
        print(json.dumps({"warping_error": result.error, "pairs": result.pairs, "frames": result.frames,
                          "coverage": result.coverage}))
    else:
        print(f"warping error {result.error:.6f} over {result.pairs} frame pairs "
              f"({result.coverage:.0%} of pixels unoccluded)")
    return 0
