"""Measure the bundled models on this CPU and record the figures in their manifests.

    python scripts/measure_models.py --frames 15 --write

Per model and frame size: median milliseconds per frame of the whole pipeline (uint8 RGB frame in host
memory → stylized uint8 frame out, :class:`StylePipeline`, eager, style code cached), the models interleaved
frame by frame so machine load affects them alike; and the PSNR of bf16 against fp32 on the demo photo with
three bundled styles. ``--write`` stores the figures (with this command) under ``measured`` in
``models/microast/MANIFEST.json`` and ``models/MANIFEST.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from adain_live import weights
from adain_live.engine.bench import ASSETS, content_frame, load_rgb, psnr, style_images
from adain_live.engine.pipeline import StylePipeline, _cpu_has_bf16

SIZES = ((448, 256), (640, 360))


def _pipe(name: str, dtype: torch.dtype, style: np.ndarray) -> StylePipeline:
    p = StylePipeline(weights.load_model(name), torch.device("cpu"), dtype, size=0, cuda_graphs=False)
    p.set_style(p.style_code(style))
    return p


def speed(names: list[str], dtype: torch.dtype, frames: int) -> dict[str, dict[str, float]]:
    """Median ms per frame, per size and model (interleaved)."""
    style = style_images(1, 512)[0][1]
    pipes = {n: _pipe(n, dtype, style) for n in names}
    out: dict[str, dict[str, float]] = {}
    for w, h in SIZES:
        frame = content_frame(w, h)[0]
        times: dict[str, list[float]] = {n: [] for n in names}
        for p in pipes.values():  # warm-up
            p(frame)
        for _ in range(frames):
            for n, p in pipes.items():
                t0 = time.perf_counter()
                p(frame)
                times[n].append((time.perf_counter() - t0) * 1000)
        out[f"{w}x{h}"] = {n: round(statistics.median(v), 1) for n, v in times.items()}
    return out


def agreement(name: str) -> list[float]:
    """PSNR (dB) of bf16 against fp32, demo photo at 512 px, first three bundled styles."""
    content = load_rgb(ASSETS / "demo_content.jpg", 512)
    vals = []
    for _style_name, style in style_images(3, 512):
        lo, hi = _pipe(name, torch.bfloat16, style), _pipe(name, torch.float32, style)
        vals.append(round(psnr(lo(content), hi(content)), 2))
    return vals


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=15)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--write", action="store_true", help="record the figures in the manifests")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    names = [ws.name for ws in (weights.MICROAST, weights.STUDENT, weights.CANONICAL) if weights.is_available(ws)]
    bf16 = _cpu_has_bf16()
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    result: dict[str, object] = {
        "command": "python scripts/measure_models.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": time.strftime("%Y-%m-%d"), "cpu": cpu, "threads": a.threads, "native_bf16": bf16,
        "what": "median ms per frame, uint8 frame in -> uint8 frame out (StylePipeline, eager, native size), "
                "models interleaved frame by frame on a shared 2-core machine",
        "ms_per_frame_fp32": speed(names, torch.float32, a.frames),
    }
    if bf16:
        result["ms_per_frame_bf16"] = speed(names, torch.bfloat16, a.frames)
        result["bf16_vs_fp32_psnr_db"] = {n: agreement(n) for n in names}
    print(json.dumps(result, indent=2))
    if a.write:
        for ws in (weights.MICROAST, weights.STUDENT):
            path = weights.set_dir(ws) / weights.MANIFEST
            man = json.loads(path.read_text())
            mine = {k: v for k, v in result.items() if not isinstance(v, dict)}
            for key in ("ms_per_frame_fp32", "ms_per_frame_bf16"):
                table = result.get(key)
                if isinstance(table, dict):
                    mine[key] = {size: row.get(ws.name) for size, row in table.items()}
            agree = result.get("bf16_vs_fp32_psnr_db")
            if isinstance(agree, dict):
                mine["bf16_vs_fp32_psnr_db"] = agree.get(ws.name)
            best = mine.get("ms_per_frame_bf16") or mine["ms_per_frame_fp32"]
            prec = "bf16" if mine.get("ms_per_frame_bf16") else "fp32"
            assert isinstance(best, dict)
            mine["summary"] = ", ".join(f"{s} {ms} ms/frame" for s, ms in best.items()) + \
                f" ({prec}, {a.threads} CPU thread, eager, {cpu})"
            man["measured"] = {**man.get("measured", {}), **mine}
            path.write_text(json.dumps(man, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
