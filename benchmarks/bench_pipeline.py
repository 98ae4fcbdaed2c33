"""``adain-live bench`` on its own, without the other subcommands' imports (used by device_bench.sh).

Usage: ``python benchmarks/bench_pipeline.py [bench options]``, e.g. ``--sizes 1280x720 --device cuda``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from adain_live.cli import bench_cmd
from adain_live.errors import UserError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_pipeline")
    bench_cmd.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["bench", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        return int(args.run(args))
    except UserError as exc:
        print(f"bench_pipeline: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
