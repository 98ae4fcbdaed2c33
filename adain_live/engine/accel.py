"""The per-frame device function and the machinery that runs it fast.

* :func:`frame_forward` is the whole content path of one frame batch as a single function of tensors: uint8
  NHWC in → uint8 NHWC out (conversion, resize to the processing size, network, resize back, rounding). One
  function means ``torch.compile`` can fuse the conversions with the network's first and last layers, and one
  CUDA graph can replay all of it.
* :func:`make_runner` compiles that function for one frame shape, optionally captures it in a CUDA graph;
  :class:`~adain_live.engine.fastpaths.RunnerCache` builds those per shape in a background thread (so live
  video keeps running eagerly meanwhile), checks each against eager on its first frame and caches it.
* :class:`CudaIO` moves frames through pinned host buffers on two copy streams, double-buffered, so the copy
  of frame *i + 1* in and of frame *i - 1* out overlap the compute of frame *i*.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from adain_live.core.device import compile_available
from adain_live.core.interface import FrameNet
from adain_live.engine.fastpaths import (
    COMPILED,
    COMPILED_GRAPH,
    EAGER,
    FAST_PATHS,
    GRAPH,
    MIN_AGREEMENT_DB,
    FrameKey,
    NamedRunner,
    PathStatus,
    Runner,
    RunnerCache,
    SelfChecked,
    compile_probe,
    fast_path_name,
    psnr_u8,
    resolve_compile,
)

__all__ = ["COMPILED", "COMPILED_GRAPH", "EAGER", "FAST_PATHS", "GRAPH", "MIN_AGREEMENT_DB", "CudaIO", "FrameKey",
           "FrameTiming", "NamedRunner", "PathStatus", "Runner", "RunnerCache", "SelfChecked", "Ticket",
           "compile_probe", "fast_path_name", "float_to_u8",
           "frame_forward", "free_memory", "make_runner", "psnr_u8", "resize", "resolve_compile", "u8_to_float"]

log = logging.getLogger(__name__)

def u8_to_float(u8: Tensor, dtype: torch.dtype) -> Tensor:
    """(N, H, W, 3) uint8 → (N, 3, H, W) in [0, 1]: divide in fp32 (exact x/255 like ToTensor), then cast."""
    return (u8.permute(0, 3, 1, 2).float() / 255.0).to(dtype)


def float_to_u8(images: Tensor) -> Tensor:
    """(N, 3, H, W) in [0, 1] → (N, H, W, 3) uint8, rounding like torchvision's ``save_image``."""
    return (images.float() * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)


def resize(images: Tensor, size: tuple[int, int]) -> Tensor:
    """Resize (N, C, H, W) to ``size`` = (h, w): antialiased bilinear down, bilinear up."""
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    down = size[0] < images.shape[-2] or size[1] < images.shape[-1]
    out = F.interpolate(images.float(), size=size, mode="bilinear", align_corners=False, antialias=down)
    return out.clamp(0, 1).to(images.dtype)


def frame_forward(net: FrameNet, u8: Tensor, code: tuple[Tensor, ...], alpha: Tensor, key: FrameKey,
                  memory_format: torch.memory_format) -> Tensor:
    """Stylize a uint8 NHWC batch on its device with any family's per-frame network and style-code tensors.

    Returns uint8 NHWC of size ``key.out``.
    """
    x = u8_to_float(u8, net.dtype)
    content = resize(x, key.proc).contiguous(memory_format=memory_format)
    out = net(content, *code, alpha, key.preserve_color)
    return float_to_u8(resize(out, key.out))


class _Params:
    """Static device tensors (the style code's vectors, α) that every runner reads, so a CUDA graph sees updates."""

    def __init__(self, device: torch.device, code_shapes: tuple[tuple[int, ...], ...]) -> None:
        self.code = tuple(torch.ones(shape, device=device) for shape in code_shapes)
        self.alpha = torch.ones((), device=device)


def eager_runner(net: FrameNet, params: _Params, key: FrameKey, memory_format: torch.memory_format) -> Runner:
    """The uncompiled per-frame function of ``key`` with ``net`` (the self-check's eager and fp32 references)."""
    return lambda u8: frame_forward(net, u8, params.code, params.alpha, key, memory_format)


def make_runner(net: FrameNet, params: _Params, key: FrameKey, memory_format: torch.memory_format,
                compile_mode: str | None, cuda_graph: bool) -> Runner:
    """Build and warm up the function for ``key``: eager or compiled, on CUDA optionally in a CUDA graph.

    Warm-up (where compilation happens) and capture run here, on a CUDA side stream of their own, so call
    this from a background thread and the frames in flight are not held up.
    """
    if compile_mode is not None and not compile_available(params.alpha.device):
        compile_mode = None  # no Triton (Windows) or compiler: keep the CUDA graph, skip compile quietly
    if compile_mode is not None:
        # Its own copy of the weights: compiling may swap a module's parameters while it traces, and other
        # threads run the eager network meanwhile (a few tens of MB per shape).
        net = copy.deepcopy(net)

    step: Runner = eager_runner(net, params, key, memory_format)
    if compile_mode is not None:
        step = torch.compile(step, mode=None if compile_mode == "default" else compile_mode, dynamic=False)
    device = params.alpha.device
    static_in = torch.zeros(key.shape, dtype=torch.uint8, device=device)
    if device.type != "cuda":
        with torch.inference_mode(), _recompile_headroom():
            step(static_in)
        return NamedRunner(step, fast_path_name(compile_mode, False))
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side), torch.inference_mode(), _recompile_headroom():
        for _ in range(2):  # compile + autotune, then one clean run before capture
            step(static_in)
    side.synchronize()
    if not cuda_graph:
        return NamedRunner(step, fast_path_name(compile_mode, False))
    try:
        return NamedRunner(_capture(step, static_in, side), fast_path_name(compile_mode, True))
    except RuntimeError as exc:  # keep the compiled step: most of the gain, without the graph
        log.warning("CUDA graph capture for %s failed (%s); using the step without a graph", key.shape, exc)
        return NamedRunner(step, fast_path_name(compile_mode, False))


def _capture(step: Runner, static_in: Tensor, side: torch.cuda.Stream) -> Runner:
    """Capture ``step`` on ``static_in`` in a CUDA graph; the returned runner copies its input in and replays."""
    graph = torch.cuda.CUDAGraph()
    with torch.inference_mode(), torch.cuda.graph(graph, stream=side, capture_error_mode="thread_local"):
        static_out = step(static_in)

    def replay(u8: Tensor) -> Tensor:
        static_in.copy_(u8)
        graph.replay()
        return static_out

    replay.graph = graph  # type: ignore[attr-defined]  # keeps the graph (and its memory pool) alive
    return replay


def _recompile_headroom() -> contextlib.AbstractContextManager[object]:
    """Raise dynamo's per-code-object recompile limit while a runner builds.

    Every runner compiles the same ``fn`` code (one cache entry per frame shape and pipeline); past the
    default limit of 8 a new shape would silently stay eager.
    """
    import torch._dynamo.config as dynamo_config

    name = "recompile_limit" if hasattr(dynamo_config, "recompile_limit") else "cache_size_limit"
    return dynamo_config.patch(name, 256)


@dataclass(frozen=True)
class FrameTiming:
    """Timing of the last call: wall time, and on CUDA the event times of each stage (ms)."""

    total_ms: float
    path: str  # "eager" (maybe with why), one of FAST_PATHS, "tiled" or "masked"
    h2d_ms: float | None = None
    compute_ms: float | None = None
    d2h_ms: float | None = None


@dataclass
class Ticket:
    """A submitted batch: its start time and path, and either its result or its CUDA I/O slot."""

    start: float
    path: str
    result: np.ndarray | None = None
    slot: int | None = None


@dataclass
class _Slot:
    pin_in: Tensor
    dev_in: Tensor
    pin_out: Tensor
    dev_out: Tensor
    events: dict[str, torch.cuda.Event]


class CudaIO:
    """Pinned host buffers, device buffers and events for two frames in flight, for one frame shape."""

    def __init__(self, device: torch.device, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> None:
        self.device, self.in_shape, self.out_shape = device, in_shape, out_shape
        self.compute = torch.cuda.Stream(device)
        self.h2d = torch.cuda.Stream(device)
        self.d2h = torch.cuda.Stream(device)
        self.slots = [self._slot() for _ in range(2)]
        self.turn = 0

    def _slot(self) -> _Slot:
        u8 = torch.uint8
        names = ("start", "h2d", "computed", "d2h")
        return _Slot(torch.empty(self.in_shape, dtype=u8, pin_memory=True),
                     torch.empty(self.in_shape, dtype=u8, device=self.device),
                     torch.empty(self.out_shape, dtype=u8, pin_memory=True),
                     torch.empty(self.out_shape, dtype=u8, device=self.device),
                     {n: torch.cuda.Event(enable_timing=True) for n in names})

    def submit(self, frames: np.ndarray, run: Callable[[Tensor], Tensor], before: Callable[[], None]) -> int:
        """Queue copy-in, ``run`` (after ``before`` on the compute stream) and copy-out; returns a ticket."""
        i = self.turn
        self.turn ^= 1
        caller = torch.cuda.current_stream(self.device)
        s = self.slots[i]
        s.events["h2d"].synchronize()  # the previous copy from this pinned buffer is long done
        np.copyto(s.pin_in.numpy(), frames)
        ev = s.events
        with torch.cuda.stream(self.h2d):
            self.h2d.wait_event(ev["computed"])  # the compute of two frames ago has consumed dev_in
            ev["start"].record(self.h2d)
            s.dev_in.copy_(s.pin_in, non_blocking=True)
            ev["h2d"].record(self.h2d)
        with torch.cuda.stream(self.compute), torch.inference_mode():
            self.compute.wait_stream(caller)  # e.g. style statistics just computed on the caller's stream
            self.compute.wait_event(ev["h2d"])
            self.compute.wait_event(ev["d2h"])  # dev_out of two frames ago has been copied out
            before()
            s.dev_out.copy_(run(s.dev_in))
            ev["computed"].record(self.compute)
        with torch.cuda.stream(self.d2h):
            self.d2h.wait_event(ev["computed"])
            s.pin_out.copy_(s.dev_out, non_blocking=True)
            ev["d2h"].record(self.d2h)
        return i

    def collect(self, ticket: int) -> tuple[np.ndarray, dict[str, float]]:
        """Wait for a ticket's copy-out (the only host sync) and return its frames and CUDA-event timings."""
        s = self.slots[ticket]
        ev = s.events
        ev["d2h"].synchronize()
        timing = {"h2d_ms": ev["start"].elapsed_time(ev["h2d"]),
                  "compute_ms": ev["h2d"].elapsed_time(ev["computed"]),
                  "d2h_ms": ev["computed"].elapsed_time(ev["d2h"])}
        return s.pin_out.numpy().copy(), timing


def free_memory(device: torch.device) -> int | None:
    """Free bytes on ``device`` (available RAM for the CPU), or None when unknown."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None
