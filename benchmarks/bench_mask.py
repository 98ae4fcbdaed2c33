"""Extra time per frame of a person region (segmenter + smoothing + feathering + compositing).

Usage (the issue's figure: CPU, one thread, 640×360 frames at their native size, the default model)::

    OMP_NUM_THREADS=1 python benchmarks/bench_mask.py --width 640 --height 360 --frames 12 --device cpu

Runs the same frames through one pipeline with and without ``--mask person`` (interleaved rounds, median per
frame), and the segmenter alone. ``--model`` picks a registry model (default: the registry's default); the
speed does not depend on the style image.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from adain_live import weights
from adain_live.core.device import resolve_device
from adain_live.engine.mask import MaskSettings, Region, bundled_masker
from adain_live.engine.pipeline import StylePipeline, pick_dtype
from adain_live.media.synth import pattern


def _per_frame_ms(pipe: StylePipeline, frames: list[np.ndarray]) -> float:
    t0 = time.perf_counter()
    for f in frames:
        pipe(f)
    return (time.perf_counter() - t0) * 1000 / len(frames)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="auto")
    ap.add_argument("--model", default=None)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    dtype = pick_dtype(device, args.precision)
    model = weights.load_model(args.model)
    pipe = StylePipeline(model, device, dtype, size=0)
    style = pattern(256, 256, 7)
    pipe.set_style(pipe.style_stats(style, 256))
    frames = [pattern(args.width, args.height, i) for i in range(args.frames)]
    masker = bundled_masker(device, MaskSettings(smoothing=0.5, feather=1.0))
    region = Region("person", masker)
    pipe(frames[0])  # warm-up both paths
    pipe.set_region(region)
    pipe(frames[0])
    plain, masked = [], []
    for _ in range(args.rounds):
        pipe.set_region(None)
        plain.append(_per_frame_ms(pipe, frames))
        pipe.set_region(region)
        masked.append(_per_frame_ms(pipe, frames))
    x = torch.from_numpy(np.stack(frames[:1])).permute(0, 3, 1, 2).float().div(255).to(device)
    seg_ms = []
    for _ in range(args.rounds * 4):
        t0 = time.perf_counter()
        masker(x, (args.height, args.width))
        seg_ms.append((time.perf_counter() - t0) * 1000)
    p, m, s = statistics.median(plain), statistics.median(masked), statistics.median(seg_ms)
    name = getattr(model, "name", type(model).__name__)
    print(f"model {name}, {device} {dtype}, {args.threads} thread(s), {args.width}x{args.height}, "
          f"{args.frames} frames x {args.rounds} rounds")
    print(f"  style only          {p:8.1f} ms/frame  (rounds: {', '.join(f'{v:.1f}' for v in plain)})")
    print(f"  style + person mask {m:8.1f} ms/frame  (rounds: {', '.join(f'{v:.1f}' for v in masked)})")
    print(f"  masker alone        {s:8.1f} ms/frame  (segmenter {masker.variant(args.height, args.width)}, "
          f"EMA, feather, resize)")
    print(f"  extra: {m - p:+.1f} ms/frame = {100 * (m - p) / p:+.1f} %")


if __name__ == "__main__":
    main()
