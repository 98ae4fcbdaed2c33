"""The frame pipeline: uint8 RGB frames in host memory → stylized uint8 RGB frames in host memory.

Works with any model family behind :class:`~adain_live.core.interface.StyleModel`: per-style work happens once
(:meth:`StylePipeline.style_code`, an fp32 style code; :meth:`StylePipeline.set_style` mixes and installs it on
the device); the per-frame call only runs the family's :class:`~adain_live.core.interface.FrameNet` under
``torch.inference_mode()``. This module is the
one colour/dtype boundary: media hands us RGB uint8 HWC, we return RGB uint8 HWC of the same size.

Speed (:mod:`adain_live.engine.accel`): the family's frame network, channels_last; per frame
shape a function compiled in the background (``compile``) and replayed as a CUDA graph; pinned, double-buffered
copies on their own streams; tiles for frames too large for the device's memory.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from adain_live.core.codes import StyleCode, mix_codes
from adain_live.core.device import dtype_name
from adain_live.core.fast import ENCODER_HALO
from adain_live.core.interface import FrameNet, StyleModel
from adain_live.core.stats import ContentStatsHook
from adain_live.engine.accel import (
    CudaIO,
    FrameKey,
    FrameTiming,
    Runner,
    RunnerCache,
    Ticket,
    _Params,
    eager_runner,
    free_memory,
    make_runner,
    resize,
)
from adain_live.engine.fastpaths import PathStatus, fast_path_name, resolve_compile
from adain_live.engine.frames import (
    enable_fast_backends,
    pick_dtype,
    processing_size,
    recommended_size,
    recommended_threads,
    stack_frames,
    to_tensor,
    to_uint8,
)
from adain_live.engine.mask import Region, apply_region
from adain_live.errors import DeviceMemoryError, UserError

__all__ = ["FrameTiming", "StylePipeline", "enable_fast_backends", "pick_dtype", "processing_size",
           "recommended_size", "recommended_threads", "resize", "to_tensor", "to_uint8"]

log = logging.getLogger(__name__)

#: Rough peak bytes per processed pixel and per byte of dtype (several 64-channel full-resolution maps).
_ACTIVATION_FACTOR = 4 * 64
#: Bytes per pixel of the whole-frame tensors a tiled frame still needs (fp32 in/out copies, AdaIN target).
_TILED_FRAME_BYTES = 256


class StylePipeline:
    """Stylize frames with a cached style code.

    Parameters
    ----------
    model
        Any :class:`StyleModel` (AdaIN-VGG, MicroAST), moved to ``device``/``dtype`` here.
    device, dtype
        Where and in which precision the network runs.
    size
        Processing size of the frame's shorter side (0 = native). Outputs always have the input's size
        unless ``output_size="processing"``.
    channels_last
        Memory format of the network (default: on; faster on CUDA and on the CPU).
    compile
        ``True`` (or a ``torch.compile`` mode) compiles the per-frame function for each frame shape in a
        background thread; frames run eagerly until it is ready (see :meth:`warmup`). ``"auto"``: where it
        pays (:func:`~adain_live.engine.fastpaths.resolve_compile`: CUDA; the CPU in bf16). Every compiled or
        graphed runner is checked against eager on its first frame and dropped if it disagrees (or, on the
        CPU, is not faster); ``last_timing.path`` names the path each frame took.
    cuda_graphs
        CUDA only: replay each shape's frame function as a CUDA graph (default: on).
    tile
        ``None``: tile only frames that would not fit in memory; 0: never; N: always, in N-px tiles.
    max_memory_gb
        Treat the device as having at most this much free memory (e.g. 8 to plan for an 8 GB card).
    """

    def __init__(self, model: StyleModel, device: torch.device, dtype: torch.dtype = torch.float32, *,
                 size: int = 0, output_size: str = "input", channels_last: bool | None = None,
                 compile: bool | str = False, cuda_graphs: bool = True, tile: int | None = None,
                 max_memory_gb: float | None = None) -> None:
        if output_size not in ("input", "processing"):
            raise ValueError(f"output_size must be 'input' or 'processing', got {output_size!r}")
        if tile is not None and (tile < 0 or tile % 8 or 0 < tile < 64):
            raise ValueError(f"tile must be None, 0 or a multiple of 8 of at least 64, got {tile}")
        self.device, self.dtype = device, dtype
        self.size, self.output_size = size, output_size
        fmt = torch.channels_last if channels_last is None or channels_last else torch.contiguous_format
        self.model = model.to(device=device, dtype=dtype).to(memory_format=fmt).eval()
        self.net = self.model.frame_net().to(memory_format=fmt)
        self.memory_format = fmt
        self.alpha = 1.0
        self.preserve_color = False
        self.tile, self.max_memory_gb = tile, max_memory_gb
        self._auto_tile = 1024
        self._plans: dict[tuple[object, ...], bool] = {}
        self._style: StyleCode | None = None
        self._style_version = 0
        self._mask: Tensor | None = None
        self._background: StyleCode | None = None
        self._region: Region | None = None
        self._params = _Params(device, self.net.code_shapes())
        self._synced: tuple[int, float] = (-1, -1.0)
        self.compile_mode = resolve_compile(compile, device, dtype)
        self.cuda_graphs = cuda_graphs and device.type == "cuda"
        # Each fast runner is checked against eager on its first frame; on the CPU it must also be faster.
        self._net32: FrameNet | None = None  # fp32 copy: in bf16 fast runners are also weighed against it
        self._runners = RunnerCache(self._build_runner, before_evict=self._sync_device, eager=self._eager,
                                    compare_speed=device.type == "cpu",
                                    name=fast_path_name(self.compile_mode, self.cuda_graphs),
                                    reference=self._reference if dtype == torch.bfloat16 else None)
        self._io: CudaIO | None = None
        self.last_ms: float | None = None
        self.last_timing: FrameTiming | None = None

    def describe(self) -> str:
        """One line: device, precision, processing size and the fast paths in use."""
        size = "native" if self.size == 0 else f"{self.size}px short side"
        extras = [n for n, on in (("compiled", self.compile_mode), ("CUDA graphs", self.cuda_graphs)) if on]
        return (f"{self.model.name} on {self.device} {dtype_name(self.dtype)}, processing {size}"
                + "".join(f", {e}" for e in extras))

    # --- per-style work (once) -------------------------------------------------------------------------
    @torch.inference_mode()
    def style_code(self, image: np.ndarray, style_size: int = 512) -> StyleCode:
        """Style code of one RGB uint8 image, resized so its shorter side is ``style_size`` (0 = native)."""
        t = to_tensor(image[None], self.device, self.dtype)
        h, w = processing_size(int(t.shape[-2]), int(t.shape[-1]), style_size)
        t = resize(t, (h, w))
        self._check_memory(h, w, allow_tiles=False)
        return self.model.encode_style(t.contiguous(memory_format=self.memory_format))

    #: The name used before style codes were family-neutral (AdaIN statistics); same as :meth:`style_code`.
    style_stats = style_code

    def set_style(self, styles: StyleCode | Sequence[StyleCode], weights: Sequence[float] | None = None) -> None:
        """Use one style, or a weighted mix of several (:func:`mix_codes`), for all following frames."""
        seq = [styles] if isinstance(styles, StyleCode) else list(styles)
        self._check_code(*seq)
        self._style = mix_codes(seq, weights).to(self.device)
        self._style_version += 1

    @property
    def style(self) -> StyleCode | None:
        """The current (mixed) style code."""
        return self._style

    def _check_code(self, *codes: StyleCode) -> None:
        want = self.model.code_type
        for c in codes:
            if not isinstance(c, want):
                raise ValueError(f"a {type(c).__name__} style code does not fit the {self.model.name} model "
                                 f"(it needs {want.__name__}); compute the style again with this model")

    def set_mask(self, mask: np.ndarray | None, background: StyleCode | None = None) -> None:
        """Spatial control: where ``mask`` is high the current style is used, elsewhere ``background``.

        ``mask`` is (H, W), uint8 0–255 or float 0–1; ``None`` removes it. It is resized to each frame.
        """
        self._region = None
        if mask is None:
            self._mask, self._background = None, None
            return
        if background is None:
            raise ValueError("a mask needs a background style")
        self._check_code(background)
        m = np.asarray(mask, dtype=np.float32)
        if m.ndim == 3:
            m = m[..., :3].mean(axis=-1)
        if mask.dtype == np.uint8:
            m = m / 255.0
        self._mask = torch.from_numpy(np.ascontiguousarray(m))[None, None].to(self.device)
        self._background = background.to(self.device)

    def set_content_stats(self, hook: ContentStatsHook | None) -> None:
        """Pass the content statistics through ``hook`` before AdaIN (temporal smoothing); None removes it.

        The hook keeps state between frames, so while it is set frames run eagerly, in order, on this thread
        (no compiled function or CUDA graph built in the background calls it out of turn).
        """
        self.model.content_hook = self.net.content_hook = hook

    def set_region(self, region: Region | None) -> None:
        """Style only part of each frame (see :mod:`.mask`; None: all of it); replaces a :meth:`set_mask` mask."""
        self._region = region.to(self.device) if region is not None else None
        if region is not None:
            self._mask, self._background = None, None

    # --- per-frame work --------------------------------------------------------------------------------
    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Stylize one RGB uint8 HWC frame."""
        return self.process_batch(frame[None])[0]

    def process_batch(self, frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Stylize frames of one size: (N, H, W, 3) uint8 → (N, H', W', 3) uint8 (one network batch)."""
        return next(self.process_stream([frames]))

    def process_stream(self, batches: Iterable[np.ndarray | Sequence[np.ndarray]]) -> Iterator[np.ndarray]:
        """Stylize a stream of batches (each like :meth:`process_batch`'s argument), yielding results in order.

        On CUDA two batches are in flight: the copies of one overlap the compute of the other.
        """
        pending: Ticket | None = None
        for batch in batches:
            arr = stack_frames(batch)
            ticket = self._submit(arr)
            if pending is not None:
                yield self._collect(pending)
            pending = ticket
        if pending is not None:
            yield self._collect(pending)

    def warmup(self, h: int, w: int, batch: int = 1, wait: bool = True) -> float:
        """Prepare the fast path for (batch, h, w) frames (compile, capture); returns the seconds it took."""
        start = time.perf_counter()
        key = self._key((batch, h, w, 3))
        if self.compile_mode is not None or self.cuda_graphs:
            self._check_style()
            self._sync_params()
            if self.device.type == "cuda":
                torch.cuda.current_stream(self.device).synchronize()
            self._runners.get(key, wait=wait)
        return time.perf_counter() - start

    def path_status(self, h: int, w: int, batch: int = 1) -> PathStatus:
        """The path (h, w) frames take now, with the fast runner's self-check figures (bench, doctor)."""
        if not (self.compile_mode or self.cuda_graphs):
            return PathStatus("eager")
        return self._runners.status(self._key((batch, h, w, 3)))

    def close(self) -> None:
        """Stop the build thread and release runners (CUDA graphs hold memory) and I/O buffers.

        The pipeline still works afterwards; the next frame starts building its fast path again.
        """
        self._runners.close()
        self._runners.clear()
        self._io = None

    # --- internals -------------------------------------------------------------------------------------
    def _check_style(self) -> None:
        if self._style is None:
            raise UserError("no style is set; choose a style image first")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {self.alpha}")

    def _key(self, shape: tuple[int, ...]) -> FrameKey:
        n, h, w = shape[:3]
        proc = processing_size(h, w, self.size)
        out = (h, w) if self.output_size == "input" else proc
        return FrameKey((n, h, w, 3), proc, out, bool(self.preserve_color))

    def _sync_params(self) -> None:
        """Copy the style and α into the static device tensors (only when they changed)."""
        assert self._style is not None
        if self._synced != (self._style_version, self.alpha):
            p = self._params
            for dst, src in zip(p.code, self._style.tensors(), strict=True):
                dst.copy_(src, non_blocking=True)
            p.alpha.fill_(self.alpha)
            self._synced = (self._style_version, self.alpha)

    def _sync_device(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def _build_runner(self, key: FrameKey) -> Runner:
        return make_runner(self.net, self._params, key, self.memory_format, self.compile_mode, self.cuda_graphs)

    def _eager(self, key: FrameKey) -> Runner:
        return eager_runner(self.net, self._params, key, self.memory_format)

    def _reference(self, key: FrameKey) -> Runner:
        """The fp32 eager runner of ``key`` (two bf16 paths agree only to ~32–38 dB, so weigh both against it)."""
        if self._net32 is None:
            self._net32 = copy.deepcopy(self.net).float()
        return eager_runner(self._net32, self._params, key, self.memory_format)

    def _submit(self, arr: np.ndarray) -> Ticket:
        """Start one batch. On CUDA's fast path it is only queued; other paths finish here."""
        self._check_style()
        start = time.perf_counter()
        key = self._key(arr.shape)
        plan = (*key.proc, key.shape[0], self.tile, self.max_memory_gb)
        tiled = self._plans.get(plan)
        if tiled is None:  # decided once per size: no memory query (a driver call) per frame
            tiled = self._plans[plan] = self._check_memory(*key.proc, batch=key.shape[0])
        if self._region is not None:
            return Ticket(start, "region", result=self._region_frames(arr, key, tiled))
        if self._mask is not None or tiled:
            path = "masked" if self._mask is not None else "tiled"
            return Ticket(start, path, result=self._slow_path(arr, key, tiled))
        fast = bool(self.compile_mode or self.cuda_graphs) and self.net.content_hook is None
        runner = self._runners.get(key) if fast else None
        run = runner or self._eager(key)
        if self.device.type != "cuda":
            with torch.inference_mode():
                self._sync_params()
                result = run(torch.from_numpy(arr)).contiguous().numpy()
            # Read after the run: a fast runner that fails its first-frame self-check ran eagerly.
            return Ticket(start, self._runners.path(key) if fast else "eager", result=result)
        out_shape = (key.shape[0], *key.out, 3)
        io = self._io
        if io is None or io.in_shape != arr.shape or io.out_shape != out_shape:
            if io is not None:
                torch.cuda.synchronize(self.device)  # the old buffers may still be in use by queued copies
            io = self._io = CudaIO(self.device, arr.shape, out_shape)
        slot = io.submit(arr, run, self._sync_params)
        return Ticket(start, self._runners.path(key) if fast else "eager", slot=slot)

    def _collect(self, ticket: Ticket) -> np.ndarray:
        timing: dict[str, float] = {}
        if ticket.result is not None:
            result = ticket.result
        else:
            assert self._io is not None and ticket.slot is not None
            result, timing = self._io.collect(ticket.slot)
        self.last_ms = (time.perf_counter() - ticket.start) * 1000.0
        self.last_timing = FrameTiming(self.last_ms, ticket.path, **timing)
        return result

    @torch.inference_mode()
    def _slow_path(self, arr: np.ndarray, key: FrameKey, tiled: bool) -> np.ndarray:
        """Masked frames (the model's reference path) and tiled frames, eagerly and synchronously."""
        assert self._style is not None
        content = resize(to_tensor(arr, self.device, self.dtype), key.proc)
        content = content.contiguous(memory_format=self.memory_format)
        if self._mask is not None:
            out = self.model.stylize(content, self._style, self.alpha, mask=resize(self._mask, key.proc),
                                     background=self._background, preserve_color=self.preserve_color)
        else:
            self._sync_params()
            p = self._params
            out = self.net.forward_tiled(content, p.code, p.alpha, self._tile_size(), self.preserve_color)
        return to_uint8(resize(out, key.out))

    @torch.inference_mode()
    def _region_frames(self, arr: np.ndarray, key: FrameKey, tiled: bool) -> np.ndarray:
        """Frames with a region: segmenter and style network on this device, in this call, then composited."""
        assert self._region is not None and self._style is not None
        style, region = self._style, self._region
        self._sync_params()
        fast = bool(self.compile_mode or self.cuda_graphs) and self.net.content_hook is None and not tiled
        runner = self._runners.get(key) if fast else None
        run = runner or self._eager(key)
        if tiled:
            def run(_: Tensor) -> Tensor:
                return torch.from_numpy(self._slow_path(arr, key, True)).to(self.device)

        def two_styles(content: Tensor, mask: Tensor) -> Tensor:
            return self.model.stylize(content.contiguous(memory_format=self.memory_format), style, self.alpha,
                                      mask=mask, background=region.background, preserve_color=self.preserve_color)

        u8 = torch.from_numpy(arr).to(self.device)
        return apply_region(region, u8, key.proc, key.out, self.dtype, run, two_styles).cpu().numpy()

    def _tile_size(self) -> int:
        return self.tile or self._auto_tile

    def _check_memory(self, h: int, w: int, batch: int = 1, allow_tiles: bool = True) -> bool:
        """Whether to tile this size; refuse (with the memory it would need) a size that cannot fit at all."""
        if allow_tiles and self.tile:
            return True
        per_px = _ACTIVATION_FACTOR * torch.finfo(self.dtype).bits // 8
        need = batch * h * w * per_px
        free = free_memory(self.device)
        if self.max_memory_gb is not None:
            free = min(free or 2**62, int(self.max_memory_gb * 2**30))
        if free is None or need <= free:
            return False
        # Tiles still hold whole-frame tensors (input/output copies, the relu4_1 map): ~_TILED_FRAME_BYTES/px.
        left = free - batch * h * w * _TILED_FRAME_BYTES
        side = int((max(left, 0) / (batch * per_px)) ** 0.5) - 2 * ENCODER_HALO
        tile = min(1024, side // 64 * 64)  # the largest tile (multiple of 64) whose haloed square fits
        if allow_tiles and self.tile is None and tile >= 64:
            log.info("a %dx%d frame needs ~%.2f GiB; processing it in %d px tiles", w, h, need / 2**30, tile)
            self._auto_tile = tile
            return True
        raise DeviceMemoryError(
            f"a {w}x{h} frame needs about {need / 2**30:.2f} GiB on {self.device} at "
            f"{dtype_name(self.dtype)} but only {free / 2**30:.2f} GiB is free; use a smaller --size "
            "(e.g. --size 1024) or a lower precision", device=str(self.device), need_bytes=need, free_bytes=free)
