"""Live on the CPU: the frame is shrunk to the processing size before the network, with the same look."""

from __future__ import annotations

import numpy as np
import torch

from adain_live.core.microast import MicroASTModel
from adain_live.engine.live.fader import StyleFader
from adain_live.engine.live.governor import SizeGovernor
from adain_live.engine.live.inference import InferenceLoop
from adain_live.engine.live.meter import LatestSlot
from adain_live.engine.live.settings import LiveSettings, SettingsBox
from adain_live.engine.live.types import Captured
from adain_live.engine.pipeline import StylePipeline
from adain_live.media.synth import pattern

CPU = torch.device("cpu")


def _loop(pipe: StylePipeline) -> InferenceLoop:
    governor = SizeGovernor(CPU, lambda _s: None, lambda _m: None)
    return InferenceLoop(pipe, SettingsBox(LiveSettings(size=90)), StyleFader(), governor, LatestSlot(),
                         lambda _r: None, lambda _m: None)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0**2 / max(1e-9, float(np.mean((a.astype(float) - b) ** 2)))))


def test_the_network_sees_the_shrunk_frame_and_the_result_matches(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    pipe = StylePipeline(MicroASTModel.random(seed=2), CPU, output_size="processing")
    pipe.set_style(pipe.style_stats(pattern(64, 64, 5), 64))
    frame = np.ascontiguousarray(np.kron(pattern(160, 90, 3), np.ones((4, 4, 1), np.uint8)))  # 640x360
    seen: list[tuple[int, ...]] = []
    process = pipe.process_batch
    monkeypatch.setattr(pipe, "process_batch", lambda f: seen.append(np.shape(f)) or process(f))
    loop = _loop(pipe)
    result = loop.process(Captured(frame, 0, 0.0, 0.0), loop.settings.get()[1])
    assert result is not None and seen[-1][-3:] == (90, 160, 3)  # shrunk before the network
    assert result.image.shape == (90, 160, 3) and result.original.shape == frame.shape  # the original kept
    pipe.size = 90
    full = process(frame[None])[0]  # the pipeline's own float resize of the full frame
    assert full.shape == result.image.shape and _psnr(result.image, full) > 30


def test_with_input_sized_output_the_frame_is_not_shrunk() -> None:
    pipe = StylePipeline(MicroASTModel.random(seed=2), CPU, output_size="input")
    pipe.set_style(pipe.style_stats(pattern(64, 64, 5), 64))
    frame = pattern(320, 180, 1)
    loop = _loop(pipe)
    result = loop.process(Captured(frame, 0, 0.0, 0.0), loop.settings.get()[1])
    assert result is not None and result.image.shape == frame.shape
