"""Temporal stability: the flicker metric on video files and the stabiliser for live and batch video.

* :func:`measure_flicker` — the warping error (Lai et al. 2018, :mod:`adain_live.media.flow`) of a stylized
  video against its original, both read in lockstep.
* clip statistics (``StabilizeSettings.clip``, offline only): the statistics shared over each shot of a file,
  sampled in a first pass (:mod:`.clip_stats`, after ReReVST).
* :class:`Stabilizer` — wraps a pipeline (``process_batch`` / ``process_stream`` / ``__call__``) so every
  front end (video job, live runner, app) gets the same stabilisation:

  - ``stats``: the content features' mean/std before AdaIN are smoothed over time (an exponential moving
    average, reset on scene cuts) through the model's content-statistics hook;
  - ``flow``: ``stats`` plus :class:`FlowBlender`: each stylized frame is blended with the previous output,
    warped by the optical flow of the *original* frames, where that flow passes a forward–backward check;
    the flow runs at a reduced size and nothing is blended across a cut.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from adain_live.engine.clip_stats import ClipStats, file_frames
from adain_live.engine.temporal_stats import StatsSmoother
from adain_live.errors import MediaError
from adain_live.media.cuts import is_cut
from adain_live.media.cuts import thumb as _thumb
from adain_live.media.flow import (
    FlickerResult,
    FlowEstimator,
    WarpingError,
    consistent,
    resize_flow,
    to_gray,
    warp,
    warping_error,
)
from adain_live.media.motion import motion_clip, textured_image
from adain_live.media.video_reader import VideoReader

__all__ = ["MODES", "FlickerResult", "FlowBlender", "StabilizeSettings", "Stabilizer", "measure_flicker",
           "pipeline_flicker"]

log = logging.getLogger(__name__)

#: Stabilisation modes, weakest first.
MODES: tuple[str, ...] = ("off", "stats", "flow")


# --- the metric on files ---------------------------------------------------------------------------------
def measure_flicker(original: str | Path, stylized: str | Path, *, preset: str = "medium", size: int = 360,
                    max_frames: int = 0) -> FlickerResult:
    """Warping error of ``stylized`` against the flow of ``original`` (two videos of one clip).

    ``size`` is the short side the metric runs at (0 = native; both videos are shrunk alike). The stylized
    video may be 1 px larger (yuv420p padding of odd sizes): it is cropped. ``max_frames`` > 0 stops early.

    Raises
    ------
    MediaError
        Unreadable files, different frame counts or picture sizes.
    """
    meter = WarpingError(preset, size)
    with VideoReader(original) as a, VideoReader(stylized) as b:
        ia, ib = a.info, b.info
        if not (0 <= ib.width - ia.width <= 1 and 0 <= ib.height - ia.height <= 1):
            raise MediaError(f"{stylized} is {ib.width}x{ib.height} but {original} is {ia.width}x{ia.height}: "
                             "give the stylized version of that same video")
        fa, fb = a.frames(), b.frames()
        while not max_frames or meter.frames < max_frames:
            x, y = next(fa, None), next(fb, None)
            if x is None or y is None:
                if x is not y:
                    longer, shorter = (original, stylized) if y is None else (stylized, original)
                    raise MediaError(f"{longer} has more frames than {shorter} (both have at least "
                                     f"{meter.frames}): give the stylized version of that same video")
                break
            meter.add(x.image, y.image[: ia.height, : ia.width])
    return meter.result()


def pipeline_flicker(pipe: Any, width: int, height: int, frames: int = 8,
                     settings: StabilizeSettings | None = None) -> dict[str, float]:
    """Warping error of ``pipe`` on a synthetic webcam-like pan at ``width`` x ``height`` (for benchmarks).

    The clip pans 2 px per frame over a textured image with noise σ = 5/255 and ±3 % exposure. Returns the error
    per frame (``"off"``) and with ``settings`` (default ``flow``) under the mode's name; the pipeline is left
    as it was.
    """
    settings = settings or StabilizeSettings(mode="flow")
    texture = textured_image(max(64, width // 2), max(48, height // 2), seed=7)
    clip = motion_clip(texture, frames, (width, height), pan=(2.0, 0.7), noise=5, exposure=0.03, seed=7)
    out = {"off": warping_error(clip, [pipe(f) for f in clip], size=360).error}
    if settings.mode != "off":
        stab = Stabilizer(pipe, settings)
        try:
            out[settings.mode] = warping_error(clip, [stab(f) for f in clip], size=360).error
        finally:
            stab.close()
    return out


# --- stabilisation ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StabilizeSettings:
    """How to stabilise; validated on construction (``ValueError`` names the value and its range).

    Parameters
    ----------
    mode
        ``off``, ``stats`` or ``flow`` (see the module docstring).
    blend
        ``flow``: weight of the warped previous output where the flow is consistent, in [0, 0.95].
    momentum
        Weight of the past in the moving average of the content statistics, in [0, 0.99]; None: the mode's
        measured default, 0.5 for ``stats`` and 0 (no statistics smoothing) for ``flow`` — on our clips the
        average made the flow mode's result worse with MicroAST (``benchmarks/RESULTS.md``).
    flow_size
        Short side (px) the flow is computed at; at least 32.
    preset
        DIS preset of that flow (``ultrafast``, ``fast``, ``medium``).
    cut
        A scene cut: mean absolute difference of consecutive (exposure-normalised) thumbnails above this
        (in [0, 1]); the stabiliser starts afresh there.
    clip
        Offline video only: share the content statistics over each shot of the clip, sampled in a first pass
        (:mod:`.clip_stats`; :meth:`Stabilizer.start_clip`). Replaces the moving average, so it goes with
        mode ``off`` or ``flow`` (momentum 0), not ``stats``.
    clip_samples
        Frames the first pass samples (at least 1; at least one per shot).
    """

    mode: str = "off"
    blend: float = 0.6
    momentum: float | None = None
    flow_size: int = 144
    preset: str = "ultrafast"
    cut: float = 0.12
    clip: bool = False
    clip_samples: int = 16

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"stabilize mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        for name, lo, hi in (("blend", 0.0, 0.95), ("momentum", 0.0, 0.99), ("cut", 0.0, 1.0)):
            v = getattr(self, name)
            if v is not None and not lo <= v <= hi:
                raise ValueError(f"stabilize {name} must be in [{lo}, {hi}], got {v}")
        if self.flow_size < 32:
            raise ValueError(f"stabilize flow_size must be at least 32 px, got {self.flow_size}")
        FlowEstimator(self.preset)  # validates the preset name
        if self.clip and self.stats_momentum > 0:
            raise ValueError(f"clip statistics replace the moving average of the statistics: use them with "
                             f"stabilize mode off or flow and momentum 0, got mode {self.mode!r} and momentum "
                             f"{self.stats_momentum}")
        if self.clip_samples < 1:
            raise ValueError(f"stabilize clip_samples must be at least 1, got {self.clip_samples}")

    @property
    def active(self) -> bool:
        """Whether anything is stabilised (a mode other than ``off``, or clip statistics)."""
        return self.mode != "off" or self.clip

    @property
    def stats_momentum(self) -> float:
        """The momentum in effect (see ``momentum``); 0 when the mode smooths no statistics."""
        if self.mode == "off":
            return 0.0
        if self.momentum is not None:
            return self.momentum
        return 0.5 if self.mode == "stats" else 0.0

    @property
    def smooths_stats(self) -> bool:
        """Whether content statistics are smoothed."""
        return self.stats_momentum > 0


class FlowBlender:
    """Blend each stylized frame with the flow-warped previous output (numpy + OpenCV, any thread).

    Feed frames in order with :meth:`__call__`; :meth:`reset` forgets the past (a new clip). The flow of the
    *original* frames is computed at ``settings.flow_size`` and scaled up; where it fails the forward–backward
    check (occlusions, new picture at the borders) the stylized frame is kept as it is.
    """

    def __init__(self, settings: StabilizeSettings) -> None:
        self.settings = settings
        self._flow = FlowEstimator(settings.preset)
        self._prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # small grey, thumb, output
        self.cuts = 0
        self.last_coverage = 0.0

    def reset(self) -> None:
        """Start afresh (the next frame is passed through)."""
        self._prev = None

    def _small(self, original: np.ndarray, out_shape: tuple[int, int]) -> np.ndarray:
        h, w = out_shape
        scale = min(1.0, self.settings.flow_size / min(h, w))
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        return cv2.resize(to_gray(original), size, interpolation=cv2.INTER_AREA)

    def __call__(self, original: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        """The stabilised version of ``stylized`` (RGB uint8, same shape), given its ``original`` frame."""
        small = self._small(original, stylized.shape[:2])
        thumb = _thumb(small)
        prev, out = self._prev, stylized
        if prev is not None and prev[2].shape == stylized.shape and prev[0].shape == small.shape:
            if is_cut(prev[1], thumb, self.settings.cut):
                self.cuts += 1
            else:
                out = self._blend(prev[0], prev[2], small, stylized)
        self._prev = (small, thumb, out)
        return out

    def _blend(self, prev_small: np.ndarray, prev_out: np.ndarray, small: np.ndarray,
               stylized: np.ndarray) -> np.ndarray:
        back = self._flow(small, prev_small)  # small(p) ≈ prev_small(p + back(p))
        fwd = self._flow(prev_small, small)
        mask = consistent(back, fwd).astype(np.float32)
        self.last_coverage = float(mask.mean())
        # Soften the mask's edges so a blended region does not end in a visible seam.
        mask = cv2.GaussianBlur(mask, (5, 5), 0) * self.settings.blend
        h, w = stylized.shape[:2]
        flow = resize_flow(back, (h, w))
        warped = warp(prev_out, flow, cv2.INTER_CUBIC).astype(np.float32)
        weight = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
        mixed = stylized.astype(np.float32) * (1.0 - weight) + warped * weight
        return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


class _Pipeline(Protocol):
    def process_stream(self, batches: Iterable[np.ndarray | Sequence[np.ndarray]]) -> Iterator[np.ndarray]: ...


class Stabilizer:
    """A pipeline with temporal stabilisation, called like the pipeline, with frames in time order.

    ``__call__``, ``process_batch`` and ``process_stream`` stabilise; other attributes are the pipeline's.
    Call :meth:`reset` between clips (a new camera), or :meth:`start_clip` before each file.
    """

    def __init__(self, pipeline: Any, settings: StabilizeSettings) -> None:
        self.pipeline, self.settings = pipeline, settings
        self.blender = FlowBlender(settings) if settings.mode == "flow" else None
        self.stats = _attach_stats(pipeline, settings)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pipeline, name)

    def reset(self) -> None:
        """Forget the past: smoothed statistics (clip statistics too) and the previous output."""
        if self.blender is not None:
            self.blender.reset()
        if self.stats is not None:
            self.stats.reset()

    def start_clip(self, frames: str | Path | Callable[[], Iterable[np.ndarray]], batch: int = 4) -> None:
        """Start a new clip: :meth:`reset`, and with clip statistics, their first pass over ``frames``.

        ``frames`` is a video file, or a function returning a fresh iterator over the clip's RGB frames (it is
        read twice). Frames then go through this stabiliser in order, each once.
        """
        self.reset()
        if isinstance(self.stats, ClipStats):
            source = file_frames(frames) if isinstance(frames, str | Path) else frames
            self.stats.fit(self.pipeline.process_batch, source, batch)

    def close(self) -> None:
        """Take the statistics hook out of the pipeline (which then runs unstabilised again)."""
        if self.stats is not None:
            self.pipeline.set_content_stats(None)
            self.stats = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Stylize and stabilise one RGB uint8 frame."""
        out = self.pipeline(frame)
        return out if self.blender is None else self.blender(frame, out)

    def process_batch(self, frames: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """Stylize and stabilise a batch of consecutive frames."""
        return next(self.process_stream([frames]))

    def process_stream(self, batches: Iterable[np.ndarray | Sequence[np.ndarray]]) -> Iterator[np.ndarray]:
        """Stylize and stabilise a stream of batches of consecutive frames, in order."""
        held: deque[np.ndarray] = deque()

        def tap() -> Iterator[np.ndarray]:
            for b in batches:
                arr = b if isinstance(b, np.ndarray) and b.ndim == 4 else np.stack(list(b))
                held.append(arr)
                yield arr

        for out in self.pipeline.process_stream(tap()):
            originals = held.popleft()
            if self.blender is None:
                yield out
                continue
            yield np.stack([self.blender(o, s) for o, s in zip(originals, out, strict=True)])


def _attach_stats(pipeline: Any, settings: StabilizeSettings) -> Any:
    """Install the content-statistics smoother (or clip statistics) in ``pipeline`` when asked (else None)."""
    if not (settings.smooths_stats or settings.clip):
        return None
    attach = getattr(pipeline, "set_content_stats", None)
    if attach is None:
        if settings.clip:
            raise ValueError(f"{type(pipeline).__name__} has no content-statistics hook: clip statistics need "
                             "a StylePipeline")
        log.debug("this pipeline has no content-statistics hook; %s smooths outputs only", settings.mode)
        return None
    smoother: Any = (ClipStats(settings.clip_samples, settings.cut) if settings.clip
                     else StatsSmoother(settings.stats_momentum))
    attach(smoother)
    return smoother
