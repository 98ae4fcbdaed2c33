"""The live app's CPU processing size, measured: the largest size that keeps a target frame rate here.

A CPU's speed varies ~10× between machines (AVX2 fp32 vs AVX-512 bf16, 2 vs 16 cores), so a fixed size is
either too slow or needlessly blurry. :func:`largest_live_size` times the eager path of the actual model at a
small 16:9 probe frame and picks the largest ladder size whose predicted time (the network's cost grows with
the pixel count) fits the frame budget with headroom. Eager is what runs until a compiled path is ready and
checked, so the size only gets easier to keep once that path takes over.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from adain_live.engine.pipeline import StylePipeline, processing_size

#: Short sides the live app can pick, largest first.
LIVE_SIZES: tuple[int, ...] = (720, 480, 360, 288, 256, 240, 180, 144)
#: Part of the frame budget left for the network (the rest: capture, conversion, display, recording).
HEADROOM = 0.8


def probe_ms(model: Any, device: torch.device, dtype: torch.dtype, short_side: int = 144, runs: int = 3) -> float:
    """Best-of-``runs`` eager ms for one 16:9 frame of ``short_side`` with ``model`` (after one warm-up)."""
    pipe = StylePipeline(model, device, dtype, size=0)
    try:
        rng = np.random.default_rng(0)
        pipe.set_style(pipe.style_stats(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), 64))
        h, w = short_side, short_side * 16 // 9
        frame = rng.integers(0, 256, (1, h, w, 3), dtype=np.uint8)
        pipe.process_batch(frame)
        best = float("inf")
        for _ in range(runs):
            t = time.perf_counter()
            pipe.process_batch(frame)
            best = min(best, (time.perf_counter() - t) * 1000.0)
        return best
    finally:
        pipe.close()


def pick_size(ms_at_probe: float, probe_side: int = 144, target_fps: float = 15.0,
              sizes: tuple[int, ...] = LIVE_SIZES) -> int:
    """The largest of ``sizes`` whose predicted ms (∝ pixels) fits ``HEADROOM`` of the frame budget.

    The smallest size when none fits (the app still runs, slower than the target).
    """
    budget = HEADROOM * 1000.0 / target_fps
    probe_px = _pixels(probe_side)
    for side in sorted(sizes, reverse=True):
        if ms_at_probe * _pixels(side) / probe_px <= budget:
            return side
    return min(sizes)


def largest_live_size(model: Any, device: torch.device, dtype: torch.dtype, target_fps: float = 15.0,
                      measure: Callable[..., float] = probe_ms) -> int:
    """Measure ``model`` on ``device`` and return the live processing size (short side) for ``target_fps``."""
    return pick_size(measure(model, device, dtype), target_fps=target_fps)


def _pixels(short_side: int) -> int:
    h, w = processing_size(short_side, short_side * 16 // 9, short_side)
    return h * w
