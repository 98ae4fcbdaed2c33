"""``adain-live doctor``: what this machine can run, which path it uses, and one line per problem saying what to do.

Facts (versions, devices and their dtypes, torch.compile, NVENC, installed models) are gathered by small
functions that each return :class:`Item` rows; :func:`self_test` runs each path (eager, compiled, CUDA graph)
for a few seconds on a real frame with the default model and reports its agreement with the reference. The
Qt version is read from the installed package's metadata: the engine never imports PyQt6.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from adain_live import weights
from adain_live.core.device import compile_available, cuda_build_hint, dtype_name
from adain_live.engine.bench import content_frame, psnr, style_images
from adain_live.engine.fastpaths import (
    compile_probe,
    fast_path_name,
    min_agreement_db,
    resolve_compile,
)
from adain_live.engine.pipeline import StylePipeline, pick_dtype
from adain_live.errors import UserError

log = logging.getLogger(__name__)

#: ``pip`` commands named in the advice (the PyTorch index of each build).
CPU_TORCH = "pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu"


@dataclass(frozen=True)
class Item:
    """One fact: a label, its value and, when it is a problem, one line saying what to do."""

    label: str
    value: str
    fix: str | None = None


@dataclass(frozen=True)
class PathResult:
    """A self-tested path: whether it ran, its agreement with the reference (dB), its time per frame."""

    path: str
    ok: bool
    agreement_db: float | None = None
    ms: float | None = None
    note: str = ""


@dataclass
class Report:
    """Everything ``doctor`` found; ``default_ok`` decides the exit status."""

    items: list[Item] = field(default_factory=list)
    paths: list[PathResult] = field(default_factory=list)
    default_path: str = ""
    default_ok: bool = False

    @property
    def problems(self) -> list[str]:
        """One line per problem: what to do."""
        return [i.fix for i in self.items if i.fix] + [f"{p.path}: {p.note}" for p in self.paths if not p.ok]


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> list[Item]:
    """Python, torch (and its CUDA/cuDNN), PyAV (and FFmpeg), Qt; the Qt one without importing PyQt6."""
    cuda = torch.version.cuda
    cudnn = torch.backends.cudnn.version() if cuda else None
    items = [Item("python", platform.python_version()),
             Item("torch", f"{torch.__version__} ({f'CUDA {cuda} build' if cuda else 'CPU-only build'}"
                           f"{f', cuDNN {cudnn}' if cudnn else ''})")]
    av_version = _version("av")
    items.append(Item("PyAV", f"{av_version} (FFmpeg {_ffmpeg_version()})") if av_version else
                 Item("PyAV", "missing", "install PyAV for video files and recording: pip install av"))
    pyqt, qt = _version("PyQt6"), _version("PyQt6-Qt6")
    items.append(Item("Qt", f"PyQt6 {pyqt}, Qt {qt or '?'}") if pyqt else
                 Item("Qt", "PyQt6 missing", "install the app's GUI: pip install 'adain-live[gui]'"))
    return items


def _ffmpeg_version() -> str:
    try:
        import av

        libs = getattr(av, "library_versions", {})
        major, minor, micro = libs.get("libavcodec", (0, 0, 0))
        return f"libavcodec {major}.{minor}.{micro}"
    except Exception:  # noqa: BLE001 - a broken PyAV is reported by the NVENC line too
        return "?"


def nvidia_smi() -> str | None:
    """Path of ``nvidia-smi`` (an NVIDIA driver is installed), or None."""
    return shutil.which("nvidia-smi")


def devices() -> list[Item]:
    """The CPU and each CUDA device with the dtypes it runs natively; driver/build mismatches as problems."""
    cap = torch.backends.cpu.get_cpu_capability()
    bf16 = pick_dtype(torch.device("cpu"), "auto") == torch.bfloat16
    items = [Item("cpu", f"{platform.machine()}, {os.cpu_count()} cores, {cap}, dtypes fp32"
                         + (", bf16 (native)" if bf16 else " (bf16 emulated: slow)")
                         + f"; torch threads {torch.get_num_threads()}")]
    smi = nvidia_smi()
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            kinds = "fp32, fp16" + (", bf16" if torch.cuda.is_bf16_supported() else "")
            items.append(Item(f"cuda:{i}", f"{p.name}, {p.total_memory / 2**30:.1f} GiB, compute "
                                           f"{p.major}.{p.minor}, dtypes {kinds}"))
    elif torch.version.cuda and smi:
        items.append(Item("cuda", "not usable", f"torch is a CUDA {torch.version.cuda} build and nvidia-smi exists, "
                                                "but CUDA does not start: update the NVIDIA driver to one that "
                                                f"supports CUDA {torch.version.cuda} (nvidia-smi shows the "
                                                "driver's CUDA version) or install a torch build for your driver"))
    elif torch.version.cuda:
        items.append(Item("cuda", "no NVIDIA driver", f"torch is a CUDA {torch.version.cuda} build but no NVIDIA "
                                                      "driver was found (no nvidia-smi): on a machine with an NVIDIA "
                                                      "GPU install its driver; without one, the CPU build is "
                                                      f"smaller: {CPU_TORCH}"))
    elif smi:
        items.append(Item("cuda", "CPU-only torch", cuda_build_hint(lambda _name: smi)))
    else:
        items.append(Item("cuda", "none (no NVIDIA driver, CPU-only torch)"))
    return items


def compile_item(device: torch.device) -> Item:
    """Whether ``torch.compile`` works on ``device`` (a tiny function compiled and run)."""
    if not compile_available(device):
        fix = ("install a C++ compiler (e.g. `apt install g++`, Xcode command line tools, or MSVC Build Tools) so "
               "torch.compile can speed up the CPU path" if device.type == "cpu" else
               "install Triton (pip install triton) so torch.compile can speed up the CUDA path"
               if device.type == "cuda" else None)
        return Item("torch.compile", f"unavailable on {device.type}", fix)
    failure = compile_probe(device.type)
    if failure is None:
        return Item("torch.compile", f"works on {device.type}")
    fix = ("on CUDA torch.compile needs Triton: pip install triton" if device.type == "cuda" else
           "check the C++ compiler (`g++ --version`); frames run eagerly meanwhile")
    return Item("torch.compile", f"fails on {device.type}: {failure}", fix)


def nvenc_item() -> Item:
    """Whether PyAV's FFmpeg has a working NVENC H.264 encoder (needs the encoder and an NVIDIA driver)."""
    try:
        from adain_live.media.video_writer import EncodeSettings, check_encoder

        check_encoder(EncodeSettings(codec="nvenc"))
    except UserError:
        built = _has_codec("h264_nvenc")
        why = "in this FFmpeg, but no usable NVIDIA GPU/driver" if built else "not in this FFmpeg build"
        fix = ("videos are encoded on the CPU (libx264): fine; NVENC needs an NVIDIA GPU"
               if built and not torch.cuda.is_available() else None)
        return Item("NVENC", f"unavailable ({why}); --codec h264 is used", fix if torch.cuda.is_available() else None)
    except Exception as exc:  # noqa: BLE001 - a broken PyAV install
        return Item("NVENC", f"unknown ({type(exc).__name__})")
    return Item("NVENC", "available (--codec nvenc)")


def _has_codec(name: str) -> bool:
    try:
        import av

        return name in av.codecs_available
    except Exception:  # noqa: BLE001
        return False


def models() -> tuple[list[Item], str | None]:
    """Each registry model (installed or not), and the default with why; returns (items, default name)."""
    items = []
    for ws in weights.REGISTRY.values():
        where = "bundled" if ws.bundled else "in the cache"
        state = f"installed ({where})" if weights.is_available(ws) else "not installed"
        items.append(Item(f"model {ws.name}", state))
    try:
        default = weights.default_set()
    except UserError as exc:
        items.append(Item("default model", "none", str(exc)))
        return items, None
    # The preference order default_set walks (weights.DEFAULT_ORDER where the registry has one).
    order = [ws.name for ws in getattr(weights, "DEFAULT_ORDER", weights.REGISTRY.values())]
    before = order[: order.index(default.name)] if default.name in order else []
    why = "the preferred model" if not before else f"{', '.join(before)} not installed"
    items.append(Item("default model", f"{default.name} ({why})"))
    return items, default.name


#: Builds a fresh fp32 model (each pipeline casts its own copy).
ModelFactory = Callable[[], Any]


def _time_frames(pipe: StylePipeline, frames: np.ndarray, seconds: float) -> tuple[np.ndarray, float]:
    """Run ``frames`` for about ``seconds`` (at least twice); the last output and the median ms per frame."""
    out = pipe.process_batch(frames)
    times: list[float] = []
    end = time.perf_counter() + seconds
    while len(times) < 2 or time.perf_counter() < end:
        t = time.perf_counter()
        out = pipe.process_batch(frames)
        times.append((time.perf_counter() - t) * 1000.0)
    return out, float(np.median(times))


def _pipeline(factory: ModelFactory, device: torch.device, dtype: torch.dtype, compile_mode: str | None,
              graphs: bool, style: np.ndarray) -> StylePipeline:
    pipe = StylePipeline(factory(), device, dtype, compile=compile_mode or False, cuda_graphs=graphs)
    pipe.set_style(pipe.style_stats(style, 256))
    return pipe


def _wait_built(pipe: StylePipeline, h: int, w: int, timeout: float) -> bool:
    """Start the fast path's build and wait for it (False when it is still building after ``timeout``)."""
    pipe.warmup(h, w, wait=False)
    end = time.perf_counter() + timeout
    while "building" in pipe.path_status(h, w).path:
        if time.perf_counter() > end:
            return False
        time.sleep(0.1)
    return True


def self_test(factory: ModelFactory, device: torch.device, size: tuple[int, int] = (448, 256),
              seconds: float = 3.0, build_timeout: float = 300.0,
              progress: Callable[[str], None] = lambda _m: None) -> list[PathResult]:
    """Run each path for ~``seconds`` on the demo photo at (width, height) ``size`` with the default dtype.

    Eager is compared with fp32 eager on the CPU (the reference); each fast path with eager on the device
    (its own first-frame self-check, the figure that decides whether it is kept).
    """
    w, h = size
    dtype = pick_dtype(device, "auto")
    frames = content_frame(w, h)
    style = style_images(1, 256)[0][1]
    results = []
    progress(f"self-test: eager {dtype_name(dtype)} on {device}")
    try:
        eager = _pipeline(factory, device, dtype, None, False, style)
        out, ms = _time_frames(eager, frames, seconds)
        ref = out
        if device.type != "cpu" or dtype != torch.float32:
            ref = _pipeline(factory, torch.device("cpu"), torch.float32, None, False, style).process_batch(frames)
        db = psnr(out, ref)
        ok = bool(np.isfinite(out.astype(np.float32)).all() and out.std() > 1.0 and db >= min_agreement_db(dtype))
        note = "" if ok else f"eager output is wrong ({db:.1f} dB against fp32 on the CPU); use --precision fp32"
        results.append(PathResult("eager", ok, db, ms, note))
    except Exception as exc:  # noqa: BLE001 - the report must say what failed, not crash
        return [PathResult("eager", False, note=f"eager failed: {type(exc).__name__}: {_first_line(exc)}")]
    variants = _fast_variants(device, dtype)
    if device.type == "cpu" and not variants:
        why = "no C++ compiler" if not compile_available(device) else \
            f"in {dtype_name(dtype)} on this CPU it did not pay (benchmarks/RESULTS.md)"
        results.append(PathResult("compiled", True, note=f"not used: {why}"))
    for compile_mode, graphs in variants:
        results.append(_test_fast(factory, device, dtype, compile_mode, graphs, style, frames, seconds,
                                  build_timeout, progress))
    return results


def _fast_variants(device: torch.device, dtype: torch.dtype) -> list[tuple[str | None, bool]]:
    mode = resolve_compile("auto", device, dtype)
    variants: list[tuple[str | None, bool]] = [(mode, False)] if mode else []
    if device.type == "cuda":
        variants += [(None, True)] + ([(mode, True)] if mode else [])
    return variants


def _test_fast(factory: ModelFactory, device: torch.device, dtype: torch.dtype, compile_mode: str | None,
               graphs: bool, style: np.ndarray, frames: np.ndarray, seconds: float, build_timeout: float,
               progress: Callable[[str], None]) -> PathResult:
    name = fast_path_name(compile_mode, graphs)
    h, w = frames.shape[1:3]
    slow = " - compiling takes a minute or more on a CPU" if compile_mode and device.type == "cpu" else ""
    progress(f"self-test: {name} (building{slow})")
    pipe = _pipeline(factory, device, dtype, compile_mode, graphs, style)
    try:
        start = time.perf_counter()
        if not _wait_built(pipe, h, w, build_timeout):
            return PathResult(name, False, note=f"still building after {build_timeout:.0f} s; not checked")
        build_s = time.perf_counter() - start
        _out, ms = _time_frames(pipe, frames, seconds)
        status = pipe.path_status(h, w)
    except Exception as exc:  # noqa: BLE001
        return PathResult(name, False, note=f"failed: {type(exc).__name__}: {_first_line(exc)}")
    finally:
        pipe.close()
    if status.dropped:
        return PathResult(name, False, status.agreement_db, note=f"dropped, frames run eagerly: {status.dropped}")
    return PathResult(name, True, status.agreement_db, ms, f"built in {build_s:.0f} s")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def diagnose(device: torch.device, factory: ModelFactory | None = None, size: tuple[int, int] = (448, 256),
             seconds: float = 3.0, progress: Callable[[str], None] = lambda _m: None) -> Report:
    """Gather every fact and self-test the paths on ``device`` (with the default model unless ``factory``)."""
    report = Report()
    report.items += versions() + devices()
    progress(f"checking torch.compile on {device.type} (a few seconds)")
    report.items.append(compile_item(device))
    report.items.append(nvenc_item())
    model_items, default = models()
    report.items += model_items
    if factory is None and default is not None:
        factory = lambda: weights.load_model(default)  # noqa: E731
    dtype = pick_dtype(device, "auto")
    report.default_path = fast_path_name(resolve_compile("auto", device, dtype), device.type == "cuda")
    if factory is None:
        return report
    report.paths = self_test(factory, device, size, seconds, progress=progress)
    by_name = {p.path: p for p in report.paths}
    eager_ok = by_name["eager"].ok
    fast = by_name.get(report.default_path)
    if fast is not None and not fast.ok:
        why = "not ready" if "still building" in fast.note else "dropped"
        report.default_path = f"eager ({report.default_path} {why})"
    report.default_ok = eager_ok
    return report


def format_report(report: Report) -> str:
    """The report as aligned text lines, the problems last."""
    width = max([len(i.label) for i in report.items] + [12])
    lines = [f"{i.label:<{width}}  {i.value}" for i in report.items]
    if report.paths:
        lines.append("")
        lines.append("self-test (agreement: eager vs fp32 CPU reference; fast paths vs eager on the same frame, "
                     "in bf16 also vs fp32: two bf16 paths agree only to ~32-38 dB)")
        for p in report.paths:
            db = "–" if p.agreement_db is None else "identical" if math.isinf(p.agreement_db) else \
                f"{p.agreement_db:.1f} dB"
            ms = "–" if p.ms is None else f"{p.ms:.0f} ms/frame"
            lines.append(f"  {p.path:<20} {'ok' if p.ok else 'FAILED':<7} {db:>10}  {ms:>14}  {p.note}")
    lines.append("")
    lines.append(f"default path: {report.default_path}" + ("" if report.default_ok else " - NOT WORKING"))
    problems = report.problems
    lines += [f"problem: {p}" for p in problems] if problems else ["no problems found"]
    return "\n".join(lines) + "\n"
