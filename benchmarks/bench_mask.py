"""Extra time per frame of a person region (segmenter + smoothing + feathering + compositing).

Usage (the issue's figure: CPU, one thread, 640×360 frames at their native size, the default model)::

    OMP_NUM_THREADS=1 python benchmarks/bench_mask.py --width 640 --height 360 --frames 12 --device cpu

Runs the same frames through one pipeline with and without ``--mask person`` (interleaved rounds, median per
frame), and the segmenter alone. ``--clip VIDEO`` instead measures how much the person mask changes from frame to
frame (mean absolute change, whole frame and edge band) for a few smoothing values::

    python benchmarks/bench_mask.py --clip ../shared/data/video/carphone.mp4
 ``--model`` picks a registry model (default: the registry's default); the
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


def edge_change(clip: str, smoothing: float, feather: float) -> tuple[float, float]:
    """Mean |m_t - m_(t-1)| of the person mask over a clip: over the whole frame, and where 0.05 < m < 0.95."""
    from adain_live.media.video_reader import VideoReader

    masker = bundled_masker(torch.device("cpu"), MaskSettings(smoothing=smoothing, feather=feather))
    prev, whole, edge = None, [], []
    with VideoReader(clip) as reader:
        for frame in reader.frames():
            x = torch.from_numpy(frame.image.copy()).permute(2, 0, 1)[None].float() / 255
            m = masker(x, tuple(frame.image.shape[:2]))[0, 0]
            if prev is not None:
                d = (m - prev).abs()
                band = ((m > 0.05) & (m < 0.95)) | ((prev > 0.05) & (prev < 0.95))
                whole.append(float(d.mean()))
                edge.append(float(d[band].mean()) if bool(band.any()) else 0.0)
            prev = m
    return statistics.mean(whole), statistics.mean(edge)


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
    ap.add_argument("--clip", help="measure the mask's frame-to-frame change on this video instead")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.clip:
        for smoothing in (0.0, 0.5, 0.8):
            whole, edge = edge_change(args.clip, smoothing, 1.0)
            print(f"smoothing {smoothing:.1f}, feather 1.0: mean |m_t - m_t-1| = {whole:.4f} (frame), "
                  f"{edge:.4f} (edge band)")
        return
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
