from __future__ import annotations

import numpy as np
import pytest
import torch

from adain_live.core.segmenter import PersonSegmenter
from adain_live.engine.mask import (
    MaskSettings,
    PersonMasker,
    StaticMask,
    check_region,
    composite,
    feather,
    region_weight,
)

CPU = torch.device("cpu")


def _masker(smoothing: float = 0.5, feather_px: float = 1.0) -> PersonMasker:
    segs = {v: PersonSegmenter.random(v, seed=i) for i, v in enumerate(("general", "landscape"))}
    return PersonMasker(segs, CPU, MaskSettings(smoothing=smoothing, feather=feather_px))


def test_regions_are_normalised_and_checked() -> None:
    assert check_region("Person + Background") == "person+background"
    assert check_region("everything") == "everything"
    with pytest.raises(ValueError, match="person"):
        check_region("face")


@pytest.mark.parametrize("bad", [dict(smoothing=1.0), dict(smoothing=-0.1), dict(feather=-1), dict(feather=9)])
def test_bad_mask_settings_raise(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        MaskSettings(**bad)


def test_feather_softens_a_step_and_keeps_flat_areas() -> None:
    m = torch.zeros(1, 1, 20, 20)
    m[..., 10:] = 1.0
    f = feather(m, 1.5)
    assert f.shape == m.shape
    assert float(f[0, 0, 5, 0]) == pytest.approx(0.0, abs=1e-6)
    assert float(f[0, 0, 5, 19]) == pytest.approx(1.0, abs=1e-6)
    assert 0.05 < float(f[0, 0, 5, 9]) < 0.5 < float(f[0, 0, 5, 10]) < 0.95
    torch.testing.assert_close(f.sum(), m.sum(), rtol=1e-4, atol=0)  # mass kept (replicated edges are flat)


def test_masker_shapes_and_variant() -> None:
    masker = _masker()
    assert masker.variant(360, 640) == "landscape"
    assert masker.variant(480, 480) == "general"
    assert masker.variant(640, 360) == "general"
    m = masker(torch.rand(3, 3, 90, 160), (45, 80))
    assert m.shape == (3, 1, 45, 80) and m.dtype == torch.float32
    assert float(m.min()) >= 0 and float(m.max()) <= 1


def test_temporal_smoothing_is_an_ema_of_the_soft_mask() -> None:
    a, b = torch.rand(1, 3, 72, 128), torch.rand(1, 3, 72, 128)
    raw = _masker(smoothing=0.0)
    ma, mb = raw(a, (72, 128)), raw(b, (72, 128))
    smooth = _masker(smoothing=0.75)
    torch.testing.assert_close(smooth(a, (72, 128)), ma)  # the first frame has no past
    torch.testing.assert_close(smooth(b, (72, 128)), 0.75 * ma + 0.25 * mb, atol=1e-5, rtol=0)
    smooth.reset()
    torch.testing.assert_close(smooth(b, (72, 128)), mb)


def test_a_batch_is_smoothed_in_frame_order() -> None:
    # The reference is the EMA, in frame order, of the same batch's raw masks: running the frames one by one
    # would compare a batched convolution with single ones, which differ by ~1e-3 on some CPUs (oneDNN).
    frames = torch.rand(4, 3, 72, 128)
    raw = _masker(smoothing=0.0)(frames, (36, 64))
    expected = [raw[0]]
    for m in raw[1:]:
        expected.append(0.6 * expected[-1] + 0.4 * m)
    batched = _masker(smoothing=0.6)(frames, (36, 64))
    torch.testing.assert_close(batched, torch.stack(expected), atol=1e-5, rtol=0)
    # and the batch's state carries on into the next call
    nxt = _masker(smoothing=0.0)(frames[:1], (36, 64))
    smooth = _masker(smoothing=0.6)
    smooth(frames, (36, 64))
    torch.testing.assert_close(smooth(frames[:1], (36, 64)), 0.6 * expected[-1][None] + 0.4 * nxt, atol=1e-5, rtol=0)


def test_smoothing_reduces_flicker_of_a_noisy_sequence() -> None:
    torch.manual_seed(0)
    base = torch.rand(1, 3, 72, 128)
    frames = (base + 0.15 * torch.randn(12, 3, 72, 128)).clamp(0, 1)

    def flicker(masks: torch.Tensor) -> float:
        return float((masks[1:] - masks[:-1]).abs().mean())

    raw = flicker(_masker(smoothing=0.0, feather_px=0)(frames, (72, 128)))
    smooth = flicker(_masker(smoothing=0.6, feather_px=0)(frames, (72, 128)))
    assert smooth < 0.6 * raw


def test_composite_person_background_and_uint8() -> None:
    content = torch.zeros(1, 3, 4, 4)
    stylized = torch.ones(1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2] = 1.0  # the "person" is the left half
    person = composite(stylized, content, region_weight(mask, "person"))
    background = composite(stylized, content, region_weight(mask, "background"))
    assert torch.equal(person[0, :, :, :2], torch.ones(3, 4, 2)) and float(person[..., 2:].abs().max()) == 0
    assert float(background[..., :2].abs().max()) == 0 and torch.equal(background[0, :, :, 2:], torch.ones(3, 4, 2))
    s8 = torch.full((1, 4, 4, 3), 200, dtype=torch.uint8)
    c8 = torch.full((1, 4, 4, 3), 100, dtype=torch.uint8)
    half = composite(s8, c8, torch.full((1, 1, 4, 4), 0.5))
    assert half.dtype == torch.uint8 and int(half[0, 0, 0, 0]) == 150
    with pytest.raises(ValueError):
        region_weight(mask, "everything")


def test_static_mask_from_uint8_rgb_file() -> None:
    img = np.zeros((10, 20, 3), np.uint8)
    img[:, 10:] = 255
    m = StaticMask(img, CPU)(torch.rand(2, 3, 5, 10), (5, 10))
    assert m.shape == (2, 1, 5, 10)
    assert float(m[0, 0, 2, 0]) == pytest.approx(0.0) and float(m[1, 0, 2, 9]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        StaticMask(np.zeros((2, 2, 2, 2)), CPU)
