"""Synthetic clips with known motion: pans and zooms over a still image, with webcam-like noise and exposure.

For the flicker metric's tests and the stabiliser's benchmark: the motion is exact (an affine map per frame), so
a perfectly consistent stylization has a warping error near 0, and per-frame sensor noise or exposure wobble is
the only thing that changes between frames besides the motion.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from adain_live.media._averr import quiet_ffmpeg


def _fit(image: np.ndarray, size: tuple[int, int], margin: float) -> np.ndarray:
    """Scale ``image`` so it covers ``size`` = (w, h) enlarged by ``margin`` (room for the motion)."""
    w, h = size
    ih, iw = image.shape[:2]
    scale = max(w * (1 + margin) / iw, h * (1 + margin) / ih)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, (max(w, round(iw * scale)), max(h, round(ih * scale))), interpolation=interp)


def motion_clip(image: np.ndarray, frames: int = 30, size: tuple[int, int] = (640, 360), *,
                pan: tuple[float, float] = (2.0, 0.0), zoom: float = 0.0, noise: float = 0.0,
                exposure: float = 0.0, seed: int = 0) -> list[np.ndarray]:
    """Frames of a camera moving over ``image`` (RGB uint8).

    Parameters
    ----------
    image
        The still picture the camera moves over (scaled to cover the frames and their travel).
    frames, size
        Number of frames and their (width, height).
    pan
        Motion per frame in output pixels (x, y); the picture moves by ``-pan`` (the camera by ``+pan``).
    zoom
        Relative zoom per frame (0.01 = 1 % closer every frame), about the frame's centre.
    noise
        Standard deviation of per-frame Gaussian noise, in 8-bit levels (5 ≈ a webcam in a lit room).
    exposure
        Per-frame gain drawn uniformly from ``1 ± exposure`` (0.03 = ±3 %).
    seed
        Seed of the noise and exposure draws.
    """
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    w, h = size
    travel = max(abs(pan[0]) / w, abs(pan[1]) / h) * frames
    src = _fit(image, size, margin=travel + 0.02).astype(np.float32)
    sh, sw = src.shape[:2]
    rng = np.random.default_rng(seed)
    out = []
    for t in range(frames):
        s = (1.0 + zoom) ** t
        # Output pixel q shows source point c + (q - centre) / s + t * pan, starting from the source's centre
        # shifted back by half the travel so the whole pan stays inside the source.
        cx = sw / 2 + pan[0] * (t - (frames - 1) / 2)
        cy = sh / 2 + pan[1] * (t - (frames - 1) / 2)
        m = np.array([[s, 0, w / 2 - s * cx], [0, s, h / 2 - s * cy]], dtype=np.float64)
        frame = np.asarray(cv2.warpAffine(src, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT))
        if exposure:
            frame = frame * np.float32(rng.uniform(1 - exposure, 1 + exposure))
        if noise:
            frame = frame + np.asarray(rng.normal(0.0, noise, frame.shape), dtype=np.float32)
        out.append(np.clip(frame + 0.5, 0, 255).astype(np.uint8))
    return out


def textured_image(width: int = 320, height: int = 240, seed: int = 0) -> np.ndarray:
    """A random smooth-but-textured RGB uint8 image (blurred noise at several scales), good for flow."""
    rng = np.random.default_rng(seed)
    acc = np.zeros((height, width, 3), np.float32)
    for scale in (8, 24, 64):
        small = rng.random((max(2, height // scale), max(2, width // scale), 3)).astype(np.float32)
        acc += cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    acc -= acc.min()
    acc /= max(float(acc.max()), 1e-6)
    return np.ascontiguousarray((acc * 255).astype(np.uint8))


def write_clip(path: str | Path, frames: Sequence[np.ndarray], rate: Fraction = Fraction(25)) -> Path:
    """Write RGB uint8 frames as a near-lossless H.264 file (yuv444p, CRF 0; pts 0, 1, 2, ... in 1/rate)."""
    quiet_ffmpeg()
    path = Path(path)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=rate, options={"crf": "0"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv444p"
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path
