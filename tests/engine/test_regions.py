from __future__ import annotations

import numpy as np
import pytest
import torch

from adain_live.core.model import AdaINModel
from adain_live.core.segmenter import PersonSegmenter
from adain_live.engine.mask import MaskSettings, PersonMasker, Region, StaticMask
from adain_live.engine.pipeline import StylePipeline, to_tensor, to_uint8

CPU = torch.device("cpu")


def _frames(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)


def _half_mask(h: int, w: int) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    m[:, : w // 2] = 255  # the "person" is the left half
    return m


@pytest.fixture()
def pipe() -> StylePipeline:
    p = StylePipeline(AdaINModel.random(seed=5), CPU, torch.float32)
    styles = [p.style_stats(_frames(1, 48, 48, seed=s)[0], 48) for s in (11, 12)]
    p.set_style(styles[0])
    p.styles = styles  # type: ignore[attr-defined]
    return p


@pytest.mark.parametrize("size", [0, 32])
def test_person_region_styles_only_the_person(pipe: StylePipeline, size: int) -> None:
    pipe.size = size
    frames = _frames(2, 40, 56)
    full = pipe.process_batch(frames)
    pipe.set_region(Region("person", StaticMask(_half_mask(40, 56), CPU)))
    out = pipe.process_batch(frames)
    assert out.shape == frames.shape
    assert np.array_equal(out[:, :, 29:], frames[:, :, 29:])  # background: the photo, untouched
    assert np.abs(out[:, :, :27].astype(int) - full[:, :, :27]).max() <= 1  # person: the stylization
    assert pipe.last_timing is not None and pipe.last_timing.path == "region"


def test_background_region_is_the_complement(pipe: StylePipeline) -> None:
    frames = _frames(1, 40, 56)
    full = pipe.process_batch(frames)
    pipe.set_region(Region("background", StaticMask(_half_mask(40, 56), CPU)))
    out = pipe.process_batch(frames)
    assert np.array_equal(out[:, :, :27], frames[:, :, :27])
    assert np.abs(out[:, :, 29:].astype(int) - full[:, :, 29:]).max() <= 1


def test_two_styles_use_the_models_mask_path(pipe: StylePipeline) -> None:
    frames = _frames(1, 40, 56)
    fg, bg = pipe.styles  # type: ignore[attr-defined]
    pipe.set_region(Region("person+background", StaticMask(_half_mask(40, 56), CPU), background=bg))
    out = pipe.process_batch(frames)
    mask = torch.from_numpy(_half_mask(40, 56)).float()[None, None] / 255
    with torch.inference_mode():
        ref = to_uint8(AdaINModel.random(seed=5).stylize(to_tensor(frames, CPU, torch.float32), fg, 1.0,
                                                         mask=mask, background=bg))
    assert float((np.abs(out.astype(int) - ref) <= 1).mean()) > 0.999
    pipe.set_region(None)
    assert not np.array_equal(pipe.process_batch(frames), out)


def test_region_arguments_are_checked(pipe: StylePipeline) -> None:
    masks = StaticMask(_half_mask(4, 4), CPU)
    with pytest.raises(ValueError):
        Region("person+background", masks)
    with pytest.raises(ValueError):
        Region("person", masks, background=pipe.styles[1])  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        Region("everything", masks)


def test_person_masker_in_the_pipeline_resets_when_installed(pipe: StylePipeline) -> None:
    segs = {"landscape": PersonSegmenter.random("landscape"), "general": PersonSegmenter.random("general")}
    masker = PersonMasker(segs, CPU, MaskSettings(smoothing=0.9))
    frames = _frames(3, 36, 64)
    pipe.set_region(Region("person", masker))
    first = pipe.process_batch(frames)
    pipe.set_region(Region("person", masker))  # a new source or video: no memory of the old frames
    again = pipe.process_batch(frames)
    assert first.shape == frames.shape and np.array_equal(first, again)
