"""``adain-live gui``: the desktop app (live camera or video file, style gallery, recording)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adain_live._process import prepare_environment
from adain_live.cli.common import add_model_args
from adain_live.engine.live.io import CameraMode
from adain_live.errors import UserError
from adain_live.gui.options import AppOptions  # no Qt in it: the parser stays importable without PyQt6


def add_parser(subparsers: Any) -> None:
    """Register ``gui`` and its options."""
    p = subparsers.add_parser(
        "gui", help="desktop app: stylize a webcam or a video live, with a style gallery",
        description="Open the desktop app. With no --source it opens camera 0, or says there is none and offers "
                    "to open a video file (a video file loops like a live source).")
    p.add_argument("--source", metavar="CAMERA_INDEX|VIDEO_FILE",
                   help="camera index (0, 1, …) or a video file (default: the last source, else camera 0)")
    p.add_argument("--styles", type=Path, action="append", metavar="DIR",
                   help="folder (or file) of style images for the gallery; repeatable (default: last session's, "
                        "else the bundled styles)")
    p.add_argument("--size", type=int, default=None,
                   help="processing size of the short side, 0 = native (default: native on a GPU, ~256 on a CPU)")
    p.add_argument("--style-size", type=int, default=512, help="short side of style images (default 512)")
    p.add_argument("--camera-size", default="1280x720", metavar="WxH",
                   help="size to ask the camera for (default 1280x720; it gives the nearest it has)")
    p.add_argument("--camera-fps", type=float, default=30.0, help="frame rate to ask the camera for (default 30)")
    p.add_argument("--record", type=Path, default=None, metavar="FILE.mp4",
                   help="start recording to FILE.mp4 as soon as the source plays; closing the window finishes it")
    p.add_argument("--screenshot", type=Path, default=None, help=argparse.SUPPRESS)
    p.add_argument("--screenshot-after", type=float, default=8.0, help=argparse.SUPPRESS)
    add_model_args(p)
    p.set_defaults(run=run)


def _check_display() -> None:
    """Without a display Qt aborts the process with a core dump; say so in one line instead."""
    env = os.environ
    if sys.platform.startswith("linux") and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY")
                                                 or env.get("QT_QPA_PLATFORM")):
        raise UserError("no display to open a window on (DISPLAY and WAYLAND_DISPLAY are unset); run it in a "
                        "desktop session, or over SSH with -X; for the command line use `adain-live video`")


def run(args: argparse.Namespace) -> int:
    """Start the app and return its exit status."""
    if args.size is not None and args.size < 0:
        raise UserError(f"--size must be 0 (native) or a positive short side, got {args.size}")
    _camera_mode(args)
    if args.record is not None:
        record = args.record.expanduser()
        if record.suffix.lower() != ".mp4":
            raise UserError(f"--record {record}: recordings are MP4 files; give a name ending in .mp4")
        if not record.parent.is_dir():
            raise UserError(f"--record {record}: folder {record.parent} does not exist; create it or choose another")
    _check_display()
    try:
        # Imported here, not at the top: PyQt6 is an optional extra and the other commands run without it.
        from adain_live.gui import app
    except ImportError as exc:
        raise UserError(f"the desktop app needs PyQt6 ({exc.name} is missing): pip install 'adain-live[gui]'") \
            from None
    return int(app.run_app(options_from_args(args), screenshot=args.screenshot,
                           screenshot_after_s=args.screenshot_after))


def options_from_args(args: argparse.Namespace) -> AppOptions:
    """Build the app's :class:`~adain_live.gui.options.AppOptions` from the parsed ``adain-live gui`` arguments."""
    width, height, fps = _camera_mode(args)
    return AppOptions(source=args.source, styles=tuple(Path(p) for p in (args.styles or [])), size=args.size,
                      model=args.model, vgg=args.vgg, decoder=args.decoder, device=args.device,
                      precision=args.precision, style_size=args.style_size,
                      camera_size=(width, height), camera_fps=fps,
                      record=args.record.expanduser() if args.record is not None else None)


def _camera_mode(args: argparse.Namespace) -> tuple[int, int, float]:
    """``--camera-size``/``--camera-fps`` checked (UserError naming the bad value) as (width, height, fps)."""
    try:
        mode = CameraMode.parse(getattr(args, "camera_size", None), getattr(args, "camera_fps", None))
    except ValueError as exc:
        raise UserError(f"--camera-size/--camera-fps: {exc}") from None
    return mode.width, mode.height, mode.fps


def main(argv: Sequence[str] | None = None) -> int:
    """``adain-live-gui [options]`` (a gui-script: no console window on Windows), the same as ``adain-live gui``."""
    prepare_environment()
    # torch before PyQt6: on Windows, Qt's DLLs loaded first can make torch's fail to load.
    import torch  # noqa: F401

    from adain_live.cli import main as cli_main

    return int(cli_main(["gui", *(sys.argv[1:] if argv is None else argv)]))
