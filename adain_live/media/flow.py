"""Optical flow (OpenCV DIS), warping and the warping error of Lai et al. 2018 (numpy + OpenCV, no torch).

Conventions: a flow ``f = flow(a, b)`` is (H, W, 2) float32 in pixels with ``a(p) ≈ b(p + f(p))``, so
``warp(b, f)`` brings frame ``b`` onto frame ``a``. Images are RGB uint8 HWC (or float in [0, 1]).

The warping error ("Learning Blind Video Temporal Consistency", Lai et al., ECCV 2018, eq. 8 and their
``evaluate_WarpError.py``): for consecutive *original* frames ``I_t``, ``I_{t+1}`` compute the forward and
backward flow, mark as occluded the pixels that fail the forward–backward check (and those whose flow leaves
the frame), warp the *output* frame ``O_{t+1}`` onto ``O_t`` and average ``||O_t(p) - O'_{t+1}(p)||²`` (RGB in
[0, 1], summed over the three channels as in the paper's code) over the unoccluded pixels; the clip's error is
the mean over frame pairs. 0 means perfectly consistent output; per-frame noise makes it grow.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: DIS presets by name (OpenCV's speed/quality trade-off).
PRESETS: dict[str, int] = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def to_gray(image: np.ndarray) -> np.ndarray:
    """RGB uint8 (H, W, 3) → grey uint8 (H, W) (a grey (H, W) image is returned as it is)."""
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)


def shrink(image: np.ndarray, short_side: int) -> np.ndarray:
    """``image`` with its shorter side reduced to ``short_side`` (area filter; never enlarged; 0 = as is)."""
    h, w = image.shape[:2]
    if short_side <= 0 or min(h, w) <= short_side:
        return image
    scale = short_side / min(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def resize_flow(flow: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Rescale a flow field to (h, w), scaling the vectors with the picture."""
    h, w = shape
    fh, fw = flow.shape[:2]
    if (fh, fw) == (h, w):
        return flow
    out = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= w / fw
    out[..., 1] *= h / fh
    return out


class FlowEstimator:
    """OpenCV DIS optical flow on grey uint8 frames, with a named preset (``ultrafast``, ``fast``, ``medium``)."""

    def __init__(self, preset: str = "medium") -> None:
        if preset not in PRESETS:
            raise ValueError(f"flow preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        self.preset = preset
        self._dis = cv2.DISOpticalFlow.create(PRESETS[preset])

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow from ``a`` to ``b`` (both grey or RGB uint8 of one size): ``a(p) ≈ b(p + flow(p))``."""
        ga, gb = to_gray(a), to_gray(b)
        if ga.shape != gb.shape:
            raise ValueError(f"flow needs two frames of one size, got {ga.shape} and {gb.shape}")
        return np.asarray(self._dis.calc(ga, gb, None))  # type: ignore[call-overload]


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


def warp(image: np.ndarray, flow: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """Sample ``image`` at ``p + flow(p)`` (brings frame ``b`` onto ``a`` for ``flow = flow(a, b)``).

    Samples outside the picture repeat the border; :func:`inside` says which pixels those are.
    """
    h, w = flow.shape[:2]
    xs, ys = _grid(h, w)
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], interpolation, borderMode=cv2.BORDER_REPLICATE)


def inside(flow: np.ndarray) -> np.ndarray:
    """Bool (H, W): where ``p + flow(p)`` lands inside the picture."""
    h, w = flow.shape[:2]
    xs, ys = _grid(h, w)
    x, y = xs + flow[..., 0], ys + flow[..., 1]
    return (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)


def consistent(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Bool (H, W): pixels of frame ``a`` whose flow passes the forward–backward check (not occluded).

    ``forward = flow(a, b)``, ``backward = flow(b, a)``. The test of Sundaram et al. 2010 as Lai et al. use it:
    ``|f + b'|² ≤ 0.01 (|f|² + |b'|²) + 0.5`` with ``b'`` the backward flow sampled at ``p + f(p)``; pixels
    whose flow leaves the frame count as occluded.
    """
    back = warp(backward, forward)
    total = forward + back
    lhs = (total**2).sum(axis=-1)
    rhs = 0.01 * ((forward**2).sum(axis=-1) + (back**2).sum(axis=-1)) + 0.5
    return (lhs <= rhs) & inside(forward)


def _unit(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)


def pair_error(out_a: np.ndarray, out_b: np.ndarray, forward: np.ndarray, mask: np.ndarray) -> float | None:
    """Warping error of one output pair: mean over ``mask`` of ``||out_a - warp(out_b, forward)||²`` (RGB in [0, 1]).

    Returns None when no pixel is unoccluded (such a pair carries no information).
    """
    count = int(mask.sum())
    if count == 0:
        return None
    diff = _unit(out_a) - warp(_unit(out_b), forward)
    return float((diff**2).sum(axis=-1)[mask].sum() / count)


@dataclass(frozen=True)
class FlickerResult:
    """Warping error of a clip: mean over ``pairs`` frame pairs, with the mean unoccluded fraction."""

    error: float
    pairs: int
    coverage: float
    frames: int


class WarpingError:
    """Streaming warping error: :meth:`add` one (original, output) frame pair at a time, in order.

    Parameters
    ----------
    preset
        DIS preset for the flow of the original frames.
    size
        Compute at this short side (0 = native); both frames are shrunk alike, so motion stays consistent.
    """

    def __init__(self, preset: str = "medium", size: int = 0) -> None:
        if size < 0:
            raise ValueError(f"size must be >= 0, got {size}")
        self.flow, self.size = FlowEstimator(preset), size
        self._prev: tuple[np.ndarray, np.ndarray] | None = None
        self._errors: list[float] = []
        self._coverage: list[float] = []
        self.frames = 0

    def add(self, original: np.ndarray, output: np.ndarray) -> float | None:
        """Add the next frame; returns this pair's error (None for the first frame or a fully occluded pair)."""
        if original.shape[:2] != output.shape[:2]:
            raise ValueError(f"original {original.shape[:2]} and output {output.shape[:2]} frames differ in size")
        cur = (to_gray(shrink(original, self.size)), shrink(output, self.size))
        prev, self._prev = self._prev, cur
        self.frames += 1
        if prev is None:
            return None
        fwd, bwd = self.flow(prev[0], cur[0]), self.flow(cur[0], prev[0])
        mask = consistent(fwd, bwd)
        self._coverage.append(float(mask.mean()))
        err = pair_error(prev[1], cur[1], fwd, mask)
        if err is not None:
            self._errors.append(err)
        return err

    def result(self) -> FlickerResult:
        """The clip's figure so far (error NaN with fewer than two frames)."""
        error = float(np.mean(self._errors)) if self._errors else float("nan")
        coverage = float(np.mean(self._coverage)) if self._coverage else 0.0
        return FlickerResult(error, len(self._errors), coverage, self.frames)


def warping_error(originals: list[np.ndarray], outputs: list[np.ndarray], preset: str = "medium",
                  size: int = 0) -> FlickerResult:
    """Warping error of a whole clip held in memory (see :class:`WarpingError`)."""
    if len(originals) != len(outputs):
        raise ValueError(f"{len(originals)} original frames but {len(outputs)} output frames")
    meter = WarpingError(preset, size)
    for a, b in zip(originals, outputs, strict=True):
        meter.add(a, b)
    return meter.result()


def sharpness(image: np.ndarray) -> float:
    """Mean gradient magnitude of the grey image in [0, 1] units per pixel (Sobel / 8); lower means blurrier."""
    g = to_gray(image).astype(np.float32) / 255.0
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    return float(np.sqrt(gx * gx + gy * gy).mean())
