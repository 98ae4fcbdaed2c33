"""Self-checked fast paths: a wrong, failing or slow fast runner is dropped with one line; path names; policy."""

from __future__ import annotations

import logging
import time

import numpy as np
import pytest
import torch
from torch import Tensor

from adain_live.core.microast import MicroASTModel
from adain_live.core.model import AdaINModel
from adain_live.engine import fastpaths
from adain_live.engine import pipeline as pipeline_module
from adain_live.engine.fastpaths import FrameKey, NamedRunner, Runner, RunnerCache, SelfChecked, resolve_compile
from adain_live.engine.pipeline import StylePipeline

CPU = torch.device("cpu")
KEY = FrameKey((1, 8, 8, 3), (8, 8), (8, 8), False)


def _frame(seed: int = 0, shape: tuple[int, ...] = (1, 8, 8, 3)) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)


def _eager(_key: FrameKey) -> Runner:
    return lambda u8: u8.clone()


def _dropped_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]


def _wrong(u8: Tensor) -> Tensor:
    return 255 - u8


def _broken(u8: Tensor) -> Tensor:
    raise RuntimeError("kernel exploded\nsecond line of a long compiler error")


@pytest.mark.parametrize(("fast", "reason"), [(_wrong, "dB PSNR"), (_broken, "RuntimeError: kernel exploded")])
def test_a_bad_fast_runner_is_dropped_with_one_line(fast: Runner, reason: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    cache = RunnerCache(lambda key: NamedRunner(fast, "compiled"), eager=_eager)
    runner = cache.get(KEY, wait=True)
    assert isinstance(runner, SelfChecked) and cache.path(KEY) == "compiled"
    frame = _frame()
    with caplog.at_level(logging.INFO):
        out = runner(frame)
        assert torch.equal(out, frame)  # the eager result, not the fast one
        assert torch.equal(runner(_frame(1)), _frame(1))  # and eager from then on
        assert cache.get(KEY) is None and cache.get(KEY, wait=True) is None  # not rebuilt
    lines = _dropped_lines(caplog)
    assert len(lines) == 1 and reason in lines[0] and "8x8" in lines[0] and "second line" not in lines[0]
    assert cache.path(KEY) == "eager (compiled dropped)" and cache.dropped(KEY) is not None
    cache.close()


def test_a_good_fast_runner_is_kept_after_its_check(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    def fast(u8: Tensor) -> Tensor:
        calls.append("fast")
        return u8.clone()

    cache = RunnerCache(lambda key: NamedRunner(fast, "cuda-graph"), eager=_eager)
    runner = cache.get(KEY, wait=True)
    assert runner is not None
    for seed in range(3):
        assert torch.equal(runner(_frame(seed)), _frame(seed))
    assert calls == ["fast"] * 3 and cache.path(KEY) == "cuda-graph"
    check = cache.check(KEY)
    assert check is not None and check.passed and check.agreement_db == float("inf")
    assert not _dropped_lines(caplog)
    cache.close()


def test_a_close_but_not_identical_runner_passes_and_a_far_one_does_not() -> None:
    frame = _frame(0, (1, 64, 64, 3))

    def near(u8: Tensor) -> Tensor:  # ±1 on a few values: ~ 60 dB
        out = u8.clone()
        out.view(-1)[::97] ^= 1
        return out

    def far(u8: Tensor) -> Tensor:  # ±8 everywhere: ~ 30 dB
        return (u8.int() ^ 8).to(torch.uint8)

    ok = SelfChecked(near, lambda u8: u8.clone(), on_drop=lambda r: None)
    ok(frame)
    assert ok.passed and ok.agreement_db is not None and ok.agreement_db > 40
    reasons: list[str] = []
    bad = SelfChecked(far, lambda u8: u8.clone(), on_drop=reasons.append)
    bad(frame)
    assert bad.passed is False and bad.agreement_db is not None and bad.agreement_db < 40 and len(reasons) == 1


def test_on_the_cpu_a_compiled_runner_that_is_not_faster_is_dropped() -> None:
    def slow(u8: Tensor) -> Tensor:
        time.sleep(0.05)
        return u8.clone()

    reasons: list[str] = []
    check = SelfChecked(slow, lambda u8: u8.clone(), on_drop=reasons.append, compare_speed=True)
    frame = _frame()
    assert torch.equal(check(frame), frame)
    assert check.passed is False and len(reasons) == 1 and "not faster" in reasons[0]
    assert check.speed_ms is not None and check.speed_ms[1] > check.speed_ms[0]


def test_a_failed_build_is_one_line_and_eager(caplog: pytest.LogCaptureFixture) -> None:
    def build(key: FrameKey) -> Runner:
        raise RuntimeError("no compiler\nlots of detail")

    cache = RunnerCache(build, eager=_eager, name="compiled")
    assert cache.get(KEY, wait=True) is None and cache.get(KEY) is None
    lines = _dropped_lines(caplog)
    assert len(lines) == 1 and "no compiler" in lines[0] and "lots of detail" not in lines[0]
    assert cache.path(KEY) == "eager (compiled dropped)"
    cache.close()


@pytest.fixture()
def wrong_make_runner(monkeypatch: pytest.MonkeyPatch) -> list[FrameKey]:
    """``make_runner`` replaced by one that builds a deliberately wrong "compiled" runner (no compiling)."""
    built: list[FrameKey] = []

    def make(net: object, params: object, key: FrameKey, *args: object, **kwargs: object) -> Runner:
        built.append(key)
        return NamedRunner(lambda u8: torch.zeros((*key.shape[:1], *key.out, 3), dtype=torch.uint8), "compiled")

    monkeypatch.setattr(pipeline_module, "make_runner", make)
    return built


def _style_image() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize("family", [AdaINModel, MicroASTModel])
def test_pipeline_drops_a_wrong_fast_path_and_returns_the_eager_frame(
        family: type[AdaINModel] | type[MicroASTModel], wrong_make_runner: list[FrameKey],
        caplog: pytest.LogCaptureFixture) -> None:
    eager = StylePipeline(family.random(seed=5), CPU)
    fast = StylePipeline(family.random(seed=5), CPU, compile=True)
    for p in (eager, fast):
        p.set_style(p.style_stats(_style_image(), 32))
    frames = np.random.default_rng(0).integers(0, 256, (1, 24, 32, 3), dtype=np.uint8)
    fast.warmup(24, 32, wait=True)
    assert len(wrong_make_runner) == 1
    out = fast.process_batch(frames)
    assert np.array_equal(out, eager.process_batch(frames)) and out.any()
    assert fast.last_timing is not None and fast.last_timing.path == "eager (compiled dropped)"
    fast.process_batch(frames)
    assert fast.last_timing.path == "eager (compiled dropped)" and len(wrong_make_runner) == 1
    assert len(_dropped_lines(caplog)) == 1
    fast.close()


def test_pipeline_names_the_path_while_building(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    gate = threading.Event()

    def make(net: object, params: object, key: FrameKey, *args: object, **kwargs: object) -> Runner:
        gate.wait(10)
        return NamedRunner(lambda u8: u8, "compiled")

    monkeypatch.setattr(pipeline_module, "make_runner", make)
    p = StylePipeline(AdaINModel.random(seed=5), CPU, compile=True)
    p.set_style(p.style_stats(_style_image(), 32))
    frames = np.zeros((1, 16, 16, 3), np.uint8)
    p.process_batch(frames)
    assert p.last_timing is not None and p.last_timing.path == "eager (compiled building)"
    gate.set()
    p.close()


def test_compile_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_compile(False, CPU) is None and resolve_compile(True, CPU) == "default"
    assert resolve_compile("max-autotune", CPU) == "max-autotune"
    cuda, bf16, fp32 = torch.device("cuda"), torch.bfloat16, torch.float32
    monkeypatch.setattr(fastpaths, "compile_available", lambda d: True)
    assert resolve_compile("auto", cuda, torch.float16) == "default" and resolve_compile(None, cuda) == "default"
    assert resolve_compile("auto", CPU, bf16) == "default"
    assert resolve_compile("auto", CPU, fp32) is None and resolve_compile("auto", CPU) is None  # did not pay
    monkeypatch.setattr(fastpaths, "compile_available", lambda d: False)
    assert resolve_compile("auto", cuda) is None and resolve_compile("auto", CPU, bf16) is None
