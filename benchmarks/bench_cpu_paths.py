"""Eager vs compiled on the CPU, end to end uint8 → uint8, with wall time AND process CPU time per frame.

On a shared machine the wall time depends on the other jobs; the CPU time this process spent per frame does
much less (with one torch thread it approximates the wall time the same work takes on an idle core), so
both are printed. Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_cpu_paths.py --model microast --sizes 448x256,640x360 --precision fp32

Each size: eager, then compiled (built first, untimed; its first frame is the self-check against eager).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from adain_live import weights
from adain_live.core.device import dtype_name
from adain_live.engine.bench import content_frame, style_images
from adain_live.engine.config import parse_sizes
from adain_live.engine.pipeline import StylePipeline, pick_dtype


def measure(pipe: StylePipeline, frames: np.ndarray, n: int) -> tuple[float, float]:
    """Median wall ms and mean process-CPU ms per frame over ``n`` frames."""
    walls = []
    cpu0 = time.process_time()
    for _ in range(n):
        t = time.perf_counter()
        pipe.process_batch(frames)
        walls.append((time.perf_counter() - t) * 1000.0)
    return float(np.median(walls)), (time.process_time() - cpu0) * 1000.0 / n


def main() -> None:
    """Print one markdown row per (size, path)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="registry name (default: the default model)")
    ap.add_argument("--sizes", default="448x256,640x360")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--paths", default="eager,compiled")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    dtype = pick_dtype(device, args.precision)
    style = style_images(1, 256)[0][1]
    print(f"model {args.model or 'default'}, {dtype_name(dtype)}, {args.threads} thread(s), "
          f"load {os.getloadavg()[0]:.1f}, {time.strftime('%Y-%m-%d %H:%M')}")
    print("| size | path | build s | wall ms (median) | wall FPS | CPU ms/frame | CPU-bound FPS |")
    print("|---|---|---|---|---|---|---|")
    for w, h in parse_sizes(args.sizes.split(",")):
        frames = content_frame(w, h)
        for name in args.paths.split(","):
            pipe = StylePipeline(weights.load_model(args.model), device, dtype, compile=name == "compiled")
            pipe.set_style(pipe.style_stats(style, 256))
            pipe.process_batch(frames)  # eager warm-up (and, compiled, the start of its build)
            build = pipe.warmup(h, w, wait=True)
            pipe.process_batch(frames)  # compiled: the self-check frame
            wall, cpu = measure(pipe, frames, args.frames)
            path = pipe.last_timing.path if pipe.last_timing else "?"
            pipe.close()
            print(f"| {w}x{h} | {path} | {build:.0f} | {wall:.1f} | {1000 / wall:.1f} | {cpu:.1f} "
                  f"| {1000 / cpu:.1f} |", flush=True)


if __name__ == "__main__":
    main()
