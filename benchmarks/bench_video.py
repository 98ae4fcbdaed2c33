"""Decode + stylize + encode throughput of ``restyle_video`` (and each stage alone).

Usage (CPU, 720p, random weights -- speed does not depend on the weights' values)::

    python benchmarks/bench_video.py --height 720 --frames 24 --size 512 --device cpu

On a GPU: ``--height 1080 --frames 600 --device cuda --batch 8``. Prints one table row per measurement.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from adain_live.core import AdaINModel, resolve_device
from adain_live.engine.pipeline import StylePipeline
from adain_live.engine.video_job import restyle_video
from adain_live.media.synth import make_test_video, pattern
from adain_live.media.video_reader import VideoReader
from adain_live.media.video_writer import EncodeSettings, VideoEncoder, mux, open_output


class _Identity:
    def process_batch(self, frames: Sequence[np.ndarray]) -> Sequence[np.ndarray]:
        return frames


def _decode_fps(src: Path) -> float:
    t0, n = time.perf_counter(), 0
    with VideoReader(src) as reader:
        for _ in reader.frames():
            n += 1
    return n / (time.perf_counter() - t0)


def _encode_fps(width: int, height: int, frames: int, settings: EncodeSettings, folder: Path) -> float:
    images = [pattern(width, height, i) for i in range(min(frames, 8))]
    path = folder / "enc.mp4"
    t0 = time.perf_counter()
    with open_output(path) as out:
        enc = VideoEncoder(out, width=width, height=height, time_base=Fraction(1, 30000),
                           rate=Fraction(30000, 1001), settings=settings)
        for i in range(frames):
            mux(out, enc.encode(images[i % len(images)], 1001 * i, 1001), path)
        mux(out, enc.flush(), path)
    return frames / (time.perf_counter() - t0)


def _stylize_fps(pipe: StylePipeline, width: int, height: int, frames: int, batch: int) -> float:
    images = [pattern(width, height, i) for i in range(batch)]
    pipe.process_batch(images)  # warm-up
    if pipe.device.type == "cuda":
        torch.cuda.synchronize()
    n, t0 = 0, time.perf_counter()
    while n < frames:
        pipe.process_batch(images)
        n += batch
    if pipe.device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--height", type=int, default=720)
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--size", type=int, default=512, help="processing size (short side), 0 = native")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp32", choices=("fp32", "fp16", "bf16"))
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--codec", default="h264")
    args = ap.parse_args(argv)
    height = args.height
    width = (height * 16 // 9) // 2 * 2
    device = resolve_device(args.device)
    dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[args.precision]
    settings = EncodeSettings(codec=args.codec)
    pipe = StylePipeline(AdaINModel.random(seed=0), device, dtype, size=args.size)
    pipe.set_style(pipe.style_stats(pattern(512, 512, 3)))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src = make_test_video(folder / "src.mp4", size=(width, height), frames=args.frames)
        rows = [("decode only", _decode_fps(src)),
                ("encode only", _encode_fps(width, height, args.frames, settings, folder)),
                ("stylize only", _stylize_fps(pipe, width, height, args.frames, args.batch)),
                ("decode+copy+encode (identity)", restyle_video(src, folder / "id.mp4", _Identity(),
                                                                settings=settings).fps)]
        result = restyle_video(src, folder / "out.mp4", pipe, settings=settings, batch_size=args.batch)
        rows.append(("decode+stylize+encode", result.fps))
    print(f"# {width}x{height}, {args.frames} frames, processing size {args.size}, {device} {args.precision}, "
          f"batch {args.batch}, codec {args.codec}, torch threads {torch.get_num_threads()}")
    print("| stage | fps |\n|---|---|")
    for name, fps in rows:
        print(f"| {name} | {fps:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
