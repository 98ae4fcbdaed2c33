"""``adain-live bench``: the reference pipeline against ours, per frame size, on one device."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

import torch

from adain_live import weights
from adain_live.core.device import PRECISIONS
from adain_live.core.microast import MicroASTModel
from adain_live.core.model import AdaINModel
from adain_live.engine import bench
from adain_live.engine.config import RuntimeConfig, parse_sizes
from adain_live.engine.fastpaths import resolve_compile
from adain_live.engine.session import open_runtime
from adain_live.errors import UserError

log = logging.getLogger(__name__)

DEFAULT_SIZES = "512x512,1280x720,1920x1080,3840x2160"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``bench``."""
    p = sub.add_parser(
        "bench", help="measure FPS and latency of the pipeline against the reference",
        description="Per size: (a) the reference (pytorch-AdaIN's video loop: fp32, eager, style re-encoded "
                    "every frame) and (b) our pipeline, uint8 frame in host memory to uint8 frame out. Prints a "
                    "markdown table; --json writes everything.")
    p.add_argument("--sizes", default=DEFAULT_SIZES, help=f"WxH,... frame sizes (default {DEFAULT_SIZES})")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="of our pipeline; auto = fp16 on CUDA, bf16 on CPUs with native bf16, else fp32")
    p.add_argument("--frames", type=int, default=30, help="timed frames per size and pipeline (default 30)")
    p.add_argument("--warmup", type=int, default=3, help="untimed frames after the first (default 3)")
    p.add_argument("--batch", type=int, default=1, help="frames per network batch in our pipeline (default 1)")
    p.add_argument("--model", default="random", choices=["random", "random-microast", *weights.REGISTRY],
                   help="random AdaIN-VGG weights of the real shapes (default), random MicroAST weights, or a "
                        "known model (the reference pipeline runs for AdaIN-VGG models only)")
    p.add_argument("--json", type=Path, metavar="OUT.json", help="write the full report as JSON")
    p.add_argument("--markdown", type=Path, metavar="OUT.md", help="write the table as markdown")
    p.add_argument("--no-reference", dest="reference", action="store_false", help="skip pipeline (a)")
    p.add_argument("--no-quality", dest="quality", action="store_false", help="skip the PSNR agreement check")
    p.add_argument("--flicker", action="store_true",
                   help="add a flicker column: the warping error (see 'adain-live flicker') of our pipeline on a "
                        "synthetic noisy pan at each size, per frame / with --stabilize flow (lower is steadier)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="torch.compile our pipeline per size, checked against eager on its first frame "
                        "(default: on with CUDA, and on the CPU in bf16 where a C++ compiler is installed)")
    p.add_argument("--no-cuda-graphs", dest="cuda_graphs", action="store_false", help="CUDA: no CUDA graphs")
    p.add_argument("--tile", type=int, default=None, help="always process in tiles of this many px (0 = never)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--max-memory-gb", type=float, default=None,
                   help="plan as if the device had this much free memory (e.g. 8)")
    p.set_defaults(run=run)


def _config(args: argparse.Namespace, device: torch.device, dtype: torch.dtype) -> bench.BenchConfig:
    compile_ = resolve_compile("auto" if args.compile is None else args.compile, device, dtype) is not None
    try:
        sizes = tuple(parse_sizes([s for s in args.sizes.split(",") if s.strip()]))
        return bench.BenchConfig(sizes=sizes, frames=args.frames, warmup=args.warmup, compile=compile_,
                                 cuda_graphs=args.cuda_graphs, batch=args.batch, reference=args.reference,
                                 quality=args.quality, tile=args.tile, max_memory_gb=args.max_memory_gb,
                                 flicker=args.flicker)
    except ValueError as exc:
        raise UserError(f"bench: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Run the benchmark and print (and optionally write) its table."""
    if args.threads is not None and args.threads < 1:
        raise UserError(f"--threads must be at least 1, got {args.threads}")
    randoms = {"random": AdaINModel.random, "random-microast": MicroASTModel.random}
    factory = randoms.get(args.model)
    rt = open_runtime(RuntimeConfig(model=None if factory else args.model, device=args.device,
                                    precision=args.precision, threads=args.threads),
                      model_factory=(lambda: factory(0)) if factory else None)
    cfg = _config(args, rt.device, rt.dtype)
    argv = sys.argv[1:] if "bench" in sys.argv[1:] else ["bench", *sys.argv[1:]]
    command = "adain-live " + " ".join(argv)

    def save(report: dict[str, Any]) -> None:  # after every size, so a run cut short keeps its rows
        report["meta"].update(command=command, model=args.model)
        for path, text in ((args.json, json.dumps(report, indent=2)), (args.markdown, bench.markdown_table(report))):
            if path is not None:
                try:
                    path.write_text(text + "\n")
                except OSError as exc:
                    raise UserError(f"cannot write {path}: {exc.strerror}; choose another path") from None

    report = bench.run(rt.model, rt.device, rt.dtype, cfg, progress=log.info, on_update=save)
    save(report)
    print(bench.markdown_table(report), end="")
    return 0
