"""engine.session: the one place a runtime config becomes a ready pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from adain_live.core.model import AdaINModel
from adain_live.engine.config import RuntimeConfig, StyleConfig
from adain_live.engine.live_size import LIVE_SIZES
from adain_live.engine.session import build_pipeline, open_runtime, open_session
from adain_live.errors import UserError


def test_session_builds_a_ready_pipeline_with_the_style_settings():
    cfg = RuntimeConfig(device="cpu", precision="fp32", size=32, output_size="processing")
    session = open_session(cfg, StyleConfig(alpha=0.4, preserve_color=True, size=32),
                           model_factory=lambda: AdaINModel.random(0))
    pipe, rt = session.pipeline, session.runtime
    assert rt.on_cpu and rt.description == "cpu · fp32" and rt.dtype == torch.float32
    assert (pipe.size, pipe.alpha, pipe.preserve_color, pipe.output_size) == (32, 0.4, True, "processing")
    rgb = np.random.default_rng(0).integers(0, 255, (40, 48, 3), dtype=np.uint8)
    pipe.set_style(session.style_code(rgb, 32))
    out = pipe(rgb)
    assert out.dtype == np.uint8 and min(out.shape[:2]) == 32
    session.close()


def test_live_size_is_chosen_for_the_device_and_identity_follows_the_weights():
    threads = torch.get_num_threads()
    try:
        a = open_session(RuntimeConfig(device="cpu", size=None, live=True, threads=1),
                         model_factory=lambda: AdaINModel.random(0))
        assert torch.get_num_threads() == 1 and a.size in LIVE_SIZES  # measured here (engine/live_size)
    finally:
        torch.set_num_threads(threads)
    same = open_runtime(RuntimeConfig(device="cpu"), model_factory=lambda: AdaINModel.random(0))
    other = open_runtime(RuntimeConfig(device="cpu"), model_factory=lambda: AdaINModel.random(1))
    assert a.runtime.identity == same.identity != other.identity


def test_bad_runtime_settings_are_refused_where_they_enter():
    for bad in ({"size": -1}, {"output_size": "huge"}, {"threads": 0}, {"max_memory_gb": 0.0}):
        with pytest.raises(ValueError):
            RuntimeConfig(**bad)
    with pytest.raises(UserError):
        open_runtime(RuntimeConfig(device="cpu", precision="fp8"), model_factory=lambda: AdaINModel.random(0))


def test_identity_is_the_loaded_weights_even_after_a_bf16_pipeline_converted_them():
    # a pipeline converts the model in place; the gallery's cache key must not change with it (on an fp32-only
    # CPU "auto" never converts, so this forces bf16)
    cfg = RuntimeConfig(device="cpu", precision="bf16")
    rt = open_runtime(cfg, model_factory=lambda: AdaINModel.random(0))
    before = rt.identity
    build_pipeline(rt, cfg)
    assert next(rt.model.parameters()).dtype == torch.bfloat16  # converted
    assert rt.identity == before == open_runtime(cfg, model_factory=lambda: AdaINModel.random(0)).identity
