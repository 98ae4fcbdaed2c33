"""The warping error (flicker metric) on clips with known motion, and the flow helpers behind it."""

from __future__ import annotations

import numpy as np
import pytest

from adain_live.media.flow import (
    FlowEstimator,
    WarpingError,
    consistent,
    inside,
    resize_flow,
    sharpness,
    shrink,
    warp,
    warping_error,
)
from adain_live.media.motion import motion_clip, textured_image


@pytest.fixture(scope="module")
def pan() -> list[np.ndarray]:
    """A clean pan (1.5, 0.5 px per frame) over a textured image, 96x72."""
    return motion_clip(textured_image(160, 120, seed=1), 8, (96, 72), pan=(1.5, 0.5))


def _noisy(frames: list[np.ndarray], sigma: float, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.clip(f + rng.normal(0, sigma, f.shape), 0, 255).astype(np.uint8) for f in frames]


def test_flow_recovers_a_pan(pan: list[np.ndarray]) -> None:
    flow = FlowEstimator("medium")(pan[0], pan[1])
    # The camera moves by +pan, so frame 0's pixel p is at p - pan in frame 1.
    assert np.median(flow[..., 0]) == pytest.approx(-1.5, abs=0.15)
    assert np.median(flow[..., 1]) == pytest.approx(-0.5, abs=0.15)


def test_consistent_stylization_has_near_zero_error(pan: list[np.ndarray]) -> None:
    inverted = [255 - f[..., ::-1] for f in pan]  # any per-pixel map is temporally consistent
    result = warping_error(pan, inverted)
    assert result.pairs == len(pan) - 1 and result.frames == len(pan)
    assert result.error < 1e-4
    assert result.coverage > 0.9


def test_error_grows_with_per_frame_noise(pan: list[np.ndarray]) -> None:
    errors = [warping_error(pan, _noisy(pan, s) if s else pan).error for s in (0, 2, 5, 10)]
    assert errors == sorted(errors) and errors[-1] > 50 * errors[0]
    # Independent noise of std s per channel: E||a - b||² = 2 * 3 * s² (a little less after bilinear warping).
    expected = 6 * (5 / 255) ** 2
    assert 0.5 * expected < errors[2] < 1.2 * expected


def test_metric_uses_the_original_motion(pan: list[np.ndarray]) -> None:
    """A stylized clip that does not move with the original is far from consistent."""
    frozen = [pan[0]] * len(pan)
    assert warping_error(pan, frozen).error > 10 * warping_error(pan, pan).error


def test_forward_backward_check() -> None:
    f = np.zeros((20, 30, 2), np.float32)
    f[..., 0] = 3.0
    assert consistent(f, -f)[:, :27].all()  # a clean shift: consistent except where it leaves the frame
    assert not consistent(f, -f)[:, 27:].any()
    assert not consistent(f, np.zeros_like(f)).any()  # the way back disagrees: occluded
    assert inside(f).sum() == 20 * 27


def test_warp_and_resize_flow() -> None:
    img = textured_image(40, 30)
    f = np.zeros((30, 40, 2), np.float32)
    f[..., 0] = 2.0
    assert np.array_equal(warp(img, f)[:, :-2], img[:, 2:])
    big = resize_flow(f, (60, 80))
    assert big.shape == (60, 80, 2) and np.allclose(big[..., 0], 4.0)
    assert shrink(img, 15).shape == (15, 20, 3) and shrink(img, 100) is img


def test_streaming_meter_checks_sizes(pan: list[np.ndarray]) -> None:
    meter = WarpingError(size=36)
    assert meter.add(pan[0], pan[0]) is None
    assert meter.result().pairs == 0 and np.isnan(meter.result().error)
    with pytest.raises(ValueError, match="differ in size"):
        meter.add(pan[1], pan[1][:10])
    with pytest.raises(ValueError, match="preset"):
        FlowEstimator("slowest")


def test_sharpness_drops_with_blur(pan: list[np.ndarray]) -> None:
    import cv2

    assert sharpness(cv2.GaussianBlur(pan[0], (7, 7), 2)) < 0.8 * sharpness(pan[0])


def test_motion_clip_noise_and_exposure(pan: list[np.ndarray]) -> None:
    img = textured_image(160, 120, seed=1)
    noisy = motion_clip(img, 8, (96, 72), pan=(1.5, 0.5), noise=5, exposure=0.03)
    assert len(noisy) == 8 and noisy[0].shape == (72, 96, 3) and noisy[0].dtype == np.uint8
    diff = noisy[3].astype(np.float32) - pan[3]
    assert 3 < diff.std() < 8
    zoom = motion_clip(img, 3, (96, 72), pan=(0, 0), zoom=0.05)
    assert not np.array_equal(zoom[0], zoom[2])
    with pytest.raises(ValueError):
        motion_clip(img, 0)
