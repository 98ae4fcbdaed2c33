"""The stabiliser with every model family: the content-statistics hook reaches each AdaIN site, masks included."""

from __future__ import annotations

import numpy as np
import pytest

from adain_live.core.microast import MicroASTModel
from adain_live.core.model import AdaINModel
from adain_live.engine.temporal import Stabilizer, StabilizeSettings
from adain_live.media.motion import motion_clip, textured_image
from tests.helpers import styled_pipeline

SITES = {AdaINModel: ["relu4_1"], MicroASTModel: ["microast/level2", "microast/level1"]}


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return np.stack(motion_clip(textured_image(96, 72, seed=8), 4, (64, 48), pan=(1.5, 0.5), noise=5))


@pytest.mark.parametrize("family", [AdaINModel, MicroASTModel])
@pytest.mark.parametrize("masked", [False, True])
def test_every_family_is_stabilised(family: type, masked: bool, frames: np.ndarray) -> None:
    pipe = styled_pipeline(family, frames.shape, masked)
    off = pipe.process_batch(frames)
    stab = Stabilizer(pipe, StabilizeSettings(mode="flow", flow_size=48, momentum=0.8))
    out = stab.process_batch(frames)
    assert out.shape == off.shape and out.dtype == np.uint8
    assert not np.array_equal(out[1:], off[1:])  # smoothed statistics and blending change later frames
    want = {s + r for s in SITES[family] for r in (("/fg", "/bg") if masked else ("",))}
    assert stab.stats is not None and set(stab.stats._sites) == want
    stab.close()
    assert np.array_equal(pipe.process_batch(frames), off)
