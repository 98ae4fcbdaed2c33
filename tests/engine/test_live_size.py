"""The live CPU size: the largest ladder size whose predicted time fits the frame budget."""

from __future__ import annotations

import pytest
import torch

from adain_live.core.model import AdaINModel
from adain_live.engine import live_size, session
from adain_live.engine.config import RuntimeConfig

CPU = torch.device("cpu")


def test_pick_size_scales_with_pixels() -> None:
    # budget at 15 fps: 0.8 * 66.7 = 53.3 ms. 144p (144x256) measured at 10 ms -> 360p (360x640, 6.25x px) = 62.5
    # ms: too slow; 288p (288x512, 4x) = 40 ms fits.
    assert live_size.pick_size(10.0) == 288
    assert live_size.pick_size(1.0) == 720  # fast machine: the largest
    assert live_size.pick_size(500.0) == 144  # nothing fits: the smallest, still runs
    assert live_size.pick_size(10.0, target_fps=5.0) > live_size.pick_size(10.0)


def test_largest_live_size_uses_the_measurement() -> None:
    seen: list[object] = []

    def fake(model: object, device: torch.device, dtype: torch.dtype) -> float:
        seen.append((device, dtype))
        return 2.5

    assert live_size.largest_live_size(object(), CPU, torch.float32, measure=fake) == 480
    assert seen == [(CPU, torch.float32)]


def test_probe_runs_the_real_pipeline_once_per_call() -> None:
    ms = live_size.probe_ms(AdaINModel.random(seed=1), CPU, torch.float32, short_side=16, runs=1)
    assert 0 < ms < 60_000


def test_the_live_session_on_the_cpu_uses_the_measured_size(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []

    def measured(model: object, device: torch.device, dtype: torch.dtype) -> int:
        calls.append(device)
        return 288

    monkeypatch.setattr(session, "largest_live_size", measured)
    factory = lambda: AdaINModel.random(seed=1)  # noqa: E731
    live = session.open_session(RuntimeConfig(device="cpu", precision="fp32", size=None, live=True), None, factory)
    assert live.size == 288 and calls == [CPU]
    fixed = session.open_session(RuntimeConfig(device="cpu", precision="fp32", size=180, live=True), None, factory)
    assert fixed.size == 180 and len(calls) == 1  # an asked-for size is kept, nothing measured
    for s in (live, fixed):
        s.close()
