"""The ``adain-live`` command line: subcommands over the engine.

Every subcommand lives in ``adain_live/cli/<name>_cmd.py`` and exposes ``add_parser(subparsers)`` and
``run(args) -> int``. Expected failures print one line and exit 2; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from adain_live import __version__
from adain_live._process import prepare_environment
from adain_live.errors import UserError

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = ("stylize", "video", "batch", "gui", "weights", "bench", "doctor", "flicker")

log = logging.getLogger(__name__)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so it unwinds like Ctrl-C (temporary files are removed)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def _handle_sigterm() -> object:
    """Turn SIGTERM into :class:`Terminated` (main thread only); return the previous handler (or None)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _on_sigterm)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="adain-live", description="Real-time arbitrary style transfer (AdaIN) for images, videos and webcams.")
    parser.add_argument("--version", action="version", version=f"adain-live {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-q", "--quiet", action="store_true", help="only print errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"adain_live.cli.{name}_cmd")
        except ModuleNotFoundError as exc:
            if exc.name != f"adain_live.cli.{name}_cmd":
                raise
            continue  # an optional front end that this copy does not include
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``adain-live``; returns the process exit status."""
    prepare_environment()  # before the subcommands import torch and OpenCV
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.debug else logging.ERROR if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s" if not args.debug else "%(levelname)s %(name)s: %(message)s")
    previous = _handle_sigterm() if args.command != "gui" else None  # the GUI keeps Qt's own handling
    try:
        return _run(args)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)  # type: ignore[arg-type]


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.run(args))
    except UserError as exc:
        if args.debug:
            raise
        print(f"adain-live: error: {exc}", file=sys.stderr)
        return 2
    except Terminated:
        print("adain-live: terminated (SIGTERM); unfinished output removed", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("adain-live: interrupted; unfinished output removed", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - last-resort one-liner; --debug re-raises
        if args.debug:
            raise
        if type(exc).__name__ == "OutOfMemoryError":
            print("adain-live: error: the GPU ran out of memory at this size; use a smaller --size or "
                  "--precision fp16", file=sys.stderr)
            return 2
        print(f"adain-live: unexpected error: {type(exc).__name__}: {exc} "
              "(rerun with --debug for the traceback and report it)", file=sys.stderr)
        return 1
