"""Self-checked fast paths: a wrong, failing or slow fast runner is dropped with one line; path names; policy."""

from __future__ import annotations

import copy
import logging
import time

import numpy as np
import pytest
import torch
from torch import Tensor

from adain_live import weights
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


def test_a_finished_build_no_longer_reads_as_building() -> None:
    # doctor polls path() without running frames; a build that is done must not read "building" for ever
    import threading

    gate = threading.Event()

    def build(key: FrameKey) -> Runner:
        gate.wait(10)
        return NamedRunner(lambda u8: u8.clone(), "compiled")

    cache = RunnerCache(build, eager=_eager)
    assert cache.get(KEY) is None and cache.path(KEY) == "eager (compiled building)"
    gate.set()
    deadline = time.monotonic() + 10
    while "building" in cache.path(KEY) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "building" not in cache.path(KEY)
    assert cache.get(KEY) is not None and cache.path(KEY) == "compiled"
    cache.close()


def _xor(bits: int) -> Runner:
    return lambda u8: u8 ^ bits


def test_in_reduced_precision_a_runner_as_faithful_as_eager_to_fp32_passes() -> None:
    frame = _frame(0, (1, 64, 64, 3))
    gold = lambda u8: u8.clone()  # noqa: E731 - the fp32 reference
    # eager is ±4 from fp32 (~36 dB), the fast runner ±2 (~42 dB): they differ by up to 6 (< 40 dB) yet the fast
    # runner is the more faithful of the two
    good = SelfChecked(_xor(2), _xor(4), on_drop=lambda r: None, reference=gold)
    good(frame)
    assert good.agreement_db is not None and good.agreement_db < fastpaths.MIN_AGREEMENT_DB
    assert good.passed and good.reference_db is not None and good.reference_db[1] > good.reference_db[0]
    without = SelfChecked(_xor(2), _xor(4), on_drop=lambda r: None)  # no reference: the 40 dB rule alone
    without(frame)
    assert without.passed is False
    reasons: list[str] = []
    bad = SelfChecked(_xor(16), _xor(4), on_drop=reasons.append, reference=gold)  # ±16: ~24 dB from fp32
    out = bad(frame)
    assert bad.passed is False and torch.equal(out, frame ^ 4) and len(reasons) == 1 and "against fp32" in reasons[0]
    worse = SelfChecked(_xor(4), _xor(2), on_drop=reasons.append, reference=gold)  # 36 dB, eager 42 dB
    worse(frame)
    assert worse.passed is False


def test_a_bf16_pipeline_keeps_a_fast_path_that_matches_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    # a "compiled" runner that computes in fp32 differs from bf16 eager by bf16 rounding only: it must be kept
    frames = np.random.default_rng(0).integers(0, 256, (1, 48, 64, 3), dtype=np.uint8)

    def make(net: torch.nn.Module, params: object, key: FrameKey, fmt: torch.memory_format,
             *args: object, **kwargs: object) -> Runner:
        gold = pipeline_module.eager_runner(copy.deepcopy(net).float(), params, key, fmt)(torch.from_numpy(frames))
        return NamedRunner(lambda u8: gold.clone(), "compiled")  # computed now: faster than eager (CPU rule)

    monkeypatch.setattr(pipeline_module, "make_runner", make)
    # the bundled weights: bf16 rounding matters there (a tiny random model agrees at > 50 dB)
    p = StylePipeline(weights.load_model("microast"), CPU, torch.bfloat16, compile=True)
    p.set_style(p.style_stats(_style_image(), 32))
    p.warmup(48, 64, wait=True)
    p.process_batch(frames)
    status = p.path_status(48, 64)
    assert status.agreement_db is not None and status.agreement_db < fastpaths.MIN_AGREEMENT_DB  # needs fp32
    assert status.path == "compiled" and status.dropped is None, status
    p.close()
