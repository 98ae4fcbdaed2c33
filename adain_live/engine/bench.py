"""Benchmark: the reference pipeline (pytorch-AdaIN's video loop) against ours, per frame size.

(a) **reference**: fp32, eager, NCHW, the style re-encoded every frame, host float tensors in and out — what
    pytorch-AdaIN's ``test_video.py`` does per frame;
(b) **ours**: :class:`StylePipeline`, uint8 RGB host frame in → uint8 RGB host frame out, statistics cached.

Per size: FPS, median/p99 latency, first-frame latency, time to build the fast path, peak GPU memory and the
ratio (b)/(a); plus the agreement (PSNR) of the low-precision pipeline with fp32 on real images, and with
``flicker`` the warping error of (b) on a synthetic webcam-like pan, per frame and with ``--stabilize flow``.
"""

from __future__ import annotations

import copy
import gc
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adain_live.core.device import dtype_name
from adain_live.core.interface import StyleModel
from adain_live.core.model import AdaINModel
from adain_live.core.stats import adain, mean_std
from adain_live.engine.pipeline import StylePipeline, processing_size, to_tensor
from adain_live.engine.temporal import pipeline_flicker

ASSETS = Path(__file__).resolve().parent.parent / "assets"


@dataclass(frozen=True)
class BenchConfig:
    """What to measure. ``sizes`` are (width, height); ``frames`` timed frames per size and pipeline."""

    sizes: tuple[tuple[int, int], ...] = ((512, 512), (1280, 720), (1920, 1080), (3840, 2160))
    frames: int = 30
    warmup: int = 3
    compile: bool = False
    cuda_graphs: bool = True
    batch: int = 1
    reference: bool = True
    quality: bool = True
    quality_size: int = 512
    quality_styles: int = 3
    style_size: int = 512
    tile: int | None = None
    max_memory_gb: float | None = None
    flicker: bool = False

    def __post_init__(self) -> None:
        if not self.sizes:
            raise ValueError("give at least one size, e.g. 1280x720")
        for name, lo in (("frames", 1), ("warmup", 0), ("batch", 1), ("quality_size", 16), ("quality_styles", 1),
                         ("style_size", 16)):
            if getattr(self, name) < lo:
                raise ValueError(f"{name} must be at least {lo}, got {getattr(self, name)}")
        # Checked here, before any pass runs, with the pipeline's own rule (a bad tile used to fail only after
        # the reference pass had run).
        if self.tile is not None and (self.tile < 0 or self.tile % 8 or 0 < self.tile < 64):
            raise ValueError(f"--tile must be 0 (never) or a multiple of 8 of at least 64, got {self.tile}")
        if self.max_memory_gb is not None and not (math.isfinite(self.max_memory_gb) and self.max_memory_gb > 0):
            raise ValueError(f"--max-memory-gb must be a positive number of GiB, e.g. 8, got {self.max_memory_gb}")


@dataclass
class Timing:
    """Latency statistics of one pipeline at one size (ms, FPS in frames per second)."""

    fps: float
    median_ms: float
    p99_ms: float
    first_ms: float
    build_s: float = 0.0
    stream_fps: float | None = None
    peak_mib: float | None = None
    path: str = ""
    check_db: float | None = None  # the fast runner's first-frame agreement with eager (PSNR)
    dropped: str | None = None  # why the fast runner was dropped
    stages_ms: dict[str, float] = field(default_factory=dict)


def _summary(times_ms: list[float], first_ms: float, frames_per_call: int) -> Timing:
    arr = np.asarray(times_ms)
    return Timing(fps=1000.0 * frames_per_call / float(arr.mean()), median_ms=float(np.median(arr)),
                  p99_ms=float(np.percentile(arr, 99)), first_ms=first_ms)


def _timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000.0)
    return out


def _reset_peak(device: torch.device) -> None:
    gc.collect()  # earlier pipelines (and their CUDA graph pools) must not count towards this peak
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def _peak_mib(device: torch.device) -> float | None:
    return torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None


def load_rgb(path: Path, short_side: int = 0) -> np.ndarray:
    """An RGB uint8 image from ``path``, its shorter side resized to ``short_side`` (0 = as is)."""
    from PIL import Image

    with Image.open(path) as im:
        rgb = im.convert("RGB")
        if short_side:
            h, w = processing_size(rgb.height, rgb.width, short_side)
            rgb = rgb.resize((w, h), Image.Resampling.BICUBIC)
        return np.asarray(rgb, dtype=np.uint8).copy()


def content_frame(width: int, height: int, batch: int = 1) -> np.ndarray:
    """The bundled demo photo at (height, width), as a (batch, H, W, 3) uint8 stack of real image content."""
    from PIL import Image

    with Image.open(ASSETS / "demo_content.jpg") as im:
        rgb = np.asarray(im.convert("RGB").resize((width, height), Image.Resampling.BILINEAR), dtype=np.uint8)
    return np.ascontiguousarray(np.repeat(rgb[None], batch, axis=0))


def style_images(count: int, short_side: int = 512) -> list[tuple[str, np.ndarray]]:
    """The first ``count`` bundled style images (name, RGB uint8)."""
    paths = sorted((ASSETS / "styles").glob("*.jpg"))[:count]
    return [(p.stem, load_rgb(p, short_side)) for p in paths]


class ReferencePipeline:
    """pytorch-AdaIN's per-frame video loop: fp32, eager, NCHW, style encoded again for every frame."""

    def __init__(self, model: AdaINModel, device: torch.device, style: np.ndarray) -> None:
        ref = copy.deepcopy(model).to(device=device, dtype=torch.float32).eval()
        self.vgg, self.decoder, self.device = ref.encoder, ref.decoder, device
        self.style = to_tensor(style[None], torch.device("cpu"), torch.float32)  # host tensor, as test.py

    @torch.no_grad()
    def __call__(self, content: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
        """Host float (1, 3, H, W) in → host float out."""
        content, style = content.to(self.device), self.style.to(self.device)
        content_f, style_f = self.vgg(content), self.vgg(style)
        s_mean, s_std = mean_std(style_f)
        feat = adain(content_f, s_mean, s_std)
        feat = feat * alpha + content_f * (1 - alpha)
        return self.decoder(feat).cpu()


def bench_reference(model: AdaINModel, device: torch.device, size: tuple[int, int], cfg: BenchConfig,
                    style: np.ndarray) -> Timing:
    """Time (a) at (width, height) ``size``."""
    w, h = size
    _reset_peak(device)
    ref = ReferencePipeline(model, device, style)
    content = to_tensor(content_frame(w, h), torch.device("cpu"), torch.float32)
    # As pytorch-AdaIN ships: torch's default cuDNN settings (no autotuning), whatever ours uses.
    with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=False, allow_tf32=True):
        first = _timed(lambda: ref(content), 1)[0]
        _timed(lambda: ref(content), cfg.warmup)
        times = _timed(lambda: ref(content), cfg.frames)
    result = _summary(times, first, 1)
    result.peak_mib, result.path = _peak_mib(device), "reference"
    return result


def bench_ours(model: StyleModel, device: torch.device, dtype: torch.dtype, size: tuple[int, int],
               cfg: BenchConfig, style: np.ndarray) -> Timing:
    """Time (b) at (width, height) ``size``: first frame, fast-path build, steady state, pipelined stream."""
    w, h = size
    _reset_peak(device)
    # A copy: StylePipeline casts the model it is given in place.
    pipe = StylePipeline(copy.deepcopy(model), device, dtype, compile=cfg.compile, cuda_graphs=cfg.cuda_graphs,
                         tile=cfg.tile, max_memory_gb=cfg.max_memory_gb)
    try:
        pipe.set_style(pipe.style_code(style))
        frames = content_frame(w, h, cfg.batch)
        first = _timed(lambda: pipe.process_batch(frames), 1)[0]  # cold: eager while the fast path builds
        build_s = pipe.warmup(h, w, cfg.batch, wait=True)
        pipe.process_batch(frames)  # untimed: a fast runner's first frame is its self-check against eager
        _timed(lambda: pipe.process_batch(frames), cfg.warmup)
        stages: dict[str, list[float]] = {}

        def one() -> None:
            pipe.process_batch(frames)
            for k, v in asdict(pipe.last_timing).items() if pipe.last_timing else ():
                if k.endswith("_ms") and v is not None:
                    stages.setdefault(k, []).append(v)

        times = _timed(one, cfg.frames)
        t0 = time.perf_counter()
        n = sum(1 for _ in pipe.process_stream(frames for _ in range(cfg.frames)))
        stream_fps = n * cfg.batch / (time.perf_counter() - t0)
        status = pipe.path_status(h, w, cfg.batch)
    finally:
        pipe.close()
    result = _summary(times, first, cfg.batch)
    result.build_s, result.stream_fps, result.peak_mib = build_s, stream_fps, _peak_mib(device)
    result.path = pipe.last_timing.path if pipe.last_timing else ""
    result.check_db, result.dropped = status.agreement_db, status.dropped
    result.stages_ms = {k: float(np.median(v)) for k, v in stages.items()}
    return result


def bench_flicker(model: StyleModel, device: torch.device, dtype: torch.dtype, size: tuple[int, int],
                  style: np.ndarray) -> dict[str, float]:
    """Warping error of (b), eager, on :func:`pipeline_flicker`'s noisy pan at ``size``: ``off`` and ``flow``."""
    w, h = size
    pipe = StylePipeline(copy.deepcopy(model), device, dtype, cuda_graphs=False)
    try:
        pipe.set_style(pipe.style_code(style))
        return pipeline_flicker(pipe, w, h)
    finally:
        pipe.close()


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB between two uint8 images (inf when identical)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def agreement(model: StyleModel, device: torch.device, dtype: torch.dtype, cfg: BenchConfig) -> list[dict[str, object]]:
    """PSNR of ``dtype`` against fp32 on the demo photo with each of the first bundled styles."""
    content = load_rgb(ASSETS / "demo_content.jpg", cfg.quality_size)
    # Eager: precision is what is measured here (compiled == eager is a GPU test); no compile per image shape.
    low = StylePipeline(copy.deepcopy(model), device, dtype, cuda_graphs=False)
    full = StylePipeline(copy.deepcopy(model), device, torch.float32, cuda_graphs=False)
    out = []
    try:
        for name, style in style_images(cfg.quality_styles, cfg.style_size):
            for p in (low, full):
                p.set_style(p.style_code(style))  # end to end: each precision computes its own statistics
            out.append({"style": name, "psnr_db": round(psnr(low(content), full(content)), 2)})
    finally:
        low.close()
    return out


def run(model: StyleModel, device: torch.device, dtype: torch.dtype, cfg: BenchConfig,
        progress: Callable[[str], None] = lambda _m: None,
        on_update: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the whole benchmark; returns a JSON-ready report (also passed to ``on_update`` after each size)."""
    style = style_images(1, cfg.style_size)[0][1]
    rows: list[dict[str, Any]] = []
    report: dict[str, Any] = {"meta": _meta(device, dtype, cfg), "results": rows}
    for w, h in cfg.sizes:
        row: dict[str, Any] = {"size": f"{w}x{h}"}
        # The reference is pytorch-AdaIN's loop: it exists for the AdaIN-VGG family only.
        reference = cfg.reference and isinstance(model, AdaINModel)
        if reference:
            assert isinstance(model, AdaINModel)
            progress(f"{w}x{h}: reference (fp32 eager, style re-encoded)")
            row["reference"] = asdict(bench_reference(model, device, (w, h), cfg, style))
        progress(f"{w}x{h}: ours ({dtype_name(dtype)})")
        ours = bench_ours(model, device, dtype, (w, h), cfg, style)
        row["ours"] = asdict(ours)
        if reference:
            row["ratio"] = ours.fps / row["reference"]["fps"]
        if cfg.flicker:
            progress(f"{w}x{h}: flicker (warping error, per frame and with flow)")
            row["flicker"] = bench_flicker(model, device, dtype, (w, h), style)
        rows.append(row)
        if on_update is not None:
            on_update(report)
    if cfg.quality and dtype != torch.float32:
        progress(f"agreement {dtype_name(dtype)} vs fp32")
        report["agreement"] = agreement(model, device, dtype, cfg)
        if on_update is not None:
            on_update(report)
    return report


def _cpu_name() -> str:
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} x{os.cpu_count()}"
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def _meta(device: torch.device, dtype: torch.dtype, cfg: BenchConfig) -> dict[str, object]:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else _cpu_name()
    return {"device": str(device), "device_name": name, "torch": torch.__version__, "dtype": dtype_name(dtype),
            "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d %H:%M"),
            "config": {k: v for k, v in asdict(cfg).items() if k != "sizes"}}


def _f(v: object, fmt: str = ".1f") -> str:
    if isinstance(v, float) and fmt == ".1f" and abs(v) < 10:
        fmt = ".2f"  # CPU rates are fractions of a frame per second
    return "–" if v is None else format(v, fmt)


def markdown_table(report: dict[str, Any]) -> str:
    """The report as a markdown table (one row per size) plus the agreement line."""
    meta = report["meta"]
    flicker = any("flicker" in row for row in report["results"])
    lines = [f"{meta['device_name']} ({meta['device']}), torch {meta['torch']}, {meta['dtype']}, "
             f"{meta['threads']} threads, {meta['date']}", "",
             "| size | ref FPS | ours FPS | ours stream FPS | median ms | p99 ms | first ms | build s "
             "| peak MiB (ref/ours) | ours/ref | path |" + (" flicker (off/flow) |" if flicker else ""),
             "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if flicker else "")]
    for row in report["results"]:
        o, r = row["ours"], row.get("reference") or {}
        peak = f"{_f(r.get('peak_mib'), '.0f')}/{_f(o['peak_mib'], '.0f')}"
        fl = row.get("flicker")
        cell = (f" {fl['off']:.6f}/{fl['flow']:.6f} |" if fl else " – |") if flicker else ""
        lines.append(f"| {row['size']} | {_f(r.get('fps'))} | {_f(o['fps'])} | {_f(o['stream_fps'])} "
                     f"| {_f(o['median_ms'])} | {_f(o['p99_ms'])} | {_f(o['first_ms'], '.0f')} "
                     f"| {_f(o['build_s'])} | {peak} | {_f(row.get('ratio'), '.2f')}x | {o['path']} |{cell}")
    for row in report["results"]:
        o = row["ours"]
        if o.get("check_db") is not None:
            lines.append(f"\n{row['size']}: {o['path']} agreed with eager at {_f(o['check_db'], '.1f')} dB PSNR")
        if o.get("dropped"):
            lines.append(f"\n{row['size']}: fast path dropped: {o['dropped']}")
    agree = report.get("agreement")
    if agree:
        vals = ", ".join(f"{a['style']} {a['psnr_db']} dB" for a in agree)
        lines += ["", f"{meta['dtype']} vs fp32 agreement (PSNR, demo photo): {vals}"]
    return "\n".join(lines) + "\n"
