"""Fast runners that check themselves, the per-shape cache that builds them, and the compile policy.

* :class:`NamedRunner`: a fast runner that knows its path name (:data:`FAST_PATHS`), which the overlay,
  ``bench`` and ``doctor`` show.
* :class:`SelfChecked`: the first time a fast runner runs for a shape it is compared with the eager function on
  that frame; below :data:`MIN_AGREEMENT_DB` PSNR, on any exception (or, on the CPU, when it is not faster) it
  is dropped, that shape stays eager and one log line says why.
* :class:`RunnerCache`: runners per frame shape, built in a background thread (frames run eagerly meanwhile).
* :func:`resolve_compile`: compile where it can build (CUDA with Triton, the CPU with a C++ compiler);
  :func:`compile_probe` says whether ``torch.compile`` works here at all (for ``doctor``).
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import torch
from torch import Tensor

from adain_live.core.device import compile_available

log = logging.getLogger(__name__)

Runner = Callable[[Tensor], Tensor]

#: A fast runner that agrees with eager less than this (PSNR of the uint8 frames, dB) is dropped.
MIN_AGREEMENT_DB = 40.0
#: bf16 keeps 8 significant bits, so two correct bf16 implementations (eager, compiled) round differently and
#: agree only to ~32–38 dB (MicroAST, 16 photo × style pairs on an AVX512-BF16 CPU: eager vs fp32 ≥ 32.2 dB,
#: compiled vs fp32 ≥ 33.8 dB, compiled vs eager ≥ 31.7 dB). There a fast runner that misses
#: :data:`MIN_AGREEMENT_DB` still passes when, against an fp32 eager reference, it is at most
#: :data:`REFERENCE_SLACK_DB` less faithful than eager and above :data:`MIN_REDUCED_DB` (a broken kernel, a
#: wrong layout or a lost style lands far below: < 20 dB).
REFERENCE_SLACK_DB = 1.0
MIN_REDUCED_DB = 30.0
#: Names of the paths a frame can take (``FrameTiming.path``); the fast ones are also ``Runner.path``.
EAGER, COMPILED, GRAPH, COMPILED_GRAPH = "eager", "compiled", "cuda-graph", "compiled+cuda-graph"
FAST_PATHS = (COMPILED, GRAPH, COMPILED_GRAPH)


def fast_path_name(compile_mode: str | None, cuda_graph: bool) -> str:
    """The path name of a runner built with these settings (``eager`` when neither is on)."""
    if compile_mode is not None:
        return COMPILED_GRAPH if cuda_graph else COMPILED
    return GRAPH if cuda_graph else EAGER


class NamedRunner:
    """A runner that knows which path it is (:data:`FAST_PATHS`), for the overlay, bench and doctor."""

    def __init__(self, fn: Runner, path: str) -> None:
        self.fn, self.path = fn, path

    def __call__(self, u8: Tensor) -> Tensor:
        """Run the wrapped function."""
        return self.fn(u8)


@dataclass(frozen=True)
class FrameKey:
    """Everything a compiled/graphed frame function is specialised on."""

    shape: tuple[int, int, int, int]  # (N, H, W, 3) of the uint8 input
    proc: tuple[int, int]  # processing (h, w)
    out: tuple[int, int]  # output (h, w)
    preserve_color: bool


def psnr_u8(a: Tensor, b: Tensor) -> float:
    """PSNR in dB between two uint8 tensors of one shape (inf when identical); syncs with the device."""
    mse = float((a.float() - b.float()).pow(2).mean().item())
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def min_agreement_db(dtype: torch.dtype) -> float:
    """The PSNR (dB) an eager result in ``dtype`` must reach against fp32 eager to count as working (doctor)."""
    return MIN_REDUCED_DB if dtype == torch.bfloat16 else MIN_AGREEMENT_DB


def _timed(fn: Runner, u8: Tensor) -> tuple[Tensor, float]:
    start = time.perf_counter()
    out = fn(u8)
    return out, time.perf_counter() - start


class SelfChecked:
    """A fast runner checked against the eager function on the first frame it runs.

    First call: run eager, then the fast runner, on the same frame; when the fast result agrees with eager
    at ≥ :data:`MIN_AGREEMENT_DB` (and, with ``compare_speed``, takes less time) the fast runner is used from
    then on, else ``on_drop(reason)`` is called once and the eager result is returned (and eager runs from
    then on). Any exception of the fast runner counts as a failed check. With ``reference`` (an fp32 eager
    runner, for bf16 pipelines) a runner below :data:`MIN_AGREEMENT_DB` passes when it is as faithful to
    the reference as eager is (:data:`REFERENCE_SLACK_DB`, :data:`MIN_REDUCED_DB`).
    """

    def __init__(self, fast: Runner, eager: Runner, on_drop: Callable[[str], None],
                 compare_speed: bool = False, reference: Runner | None = None) -> None:
        self.fast, self.eager, self._on_drop = fast, eager, on_drop
        self.reference = reference
        self.path: str = getattr(fast, "path", COMPILED)
        self.compare_speed = compare_speed
        self.passed: bool | None = None  # None until the first frame has been checked
        self.agreement_db: float | None = None
        self.reference_db: tuple[float, float] | None = None  # (eager, fast) vs the fp32 reference
        self.speed_ms: tuple[float, float] | None = None  # (eager, fast) on the checked frame

    def __call__(self, u8: Tensor) -> Tensor:
        """Run the fast runner (checked on the first call), or eager once it was dropped."""
        if self.passed is None:
            return self._check(u8)
        return self.fast(u8) if self.passed else self.eager(u8)

    def _check(self, u8: Tensor) -> Tensor:
        ref, t_eager = _timed(self.eager, u8)
        try:
            out, t_fast = _timed(self.fast, u8)
            self.agreement_db = psnr_u8(out, ref)
        except Exception as exc:  # noqa: BLE001 - a broken fast path must never cost the frame
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return self._drop(f"it raised {type(exc).__name__}: {text}", ref)
        disagreement = self._disagreement(u8, out, ref)
        if disagreement:
            return self._drop(disagreement, ref)
        if self.compare_speed:  # the better of two runs each: one sample is too noisy on a shared CPU
            t_eager = min(t_eager, _timed(self.eager, u8)[1])
            t_fast = min(t_fast, _timed(self.fast, u8)[1])
            self.speed_ms = (t_eager * 1000.0, t_fast * 1000.0)
            if t_fast >= t_eager:
                return self._drop(f"it is not faster than eager ({t_fast * 1000:.0f} ms vs "
                                  f"{t_eager * 1000:.0f} ms per frame)", ref)
        self.passed = True
        return out

    def _disagreement(self, u8: Tensor, out: Tensor, ref: Tensor) -> str | None:
        """Why ``out`` (fast) is not close enough to ``ref`` (eager), or None when it is."""
        db = self.agreement_db
        assert db is not None
        if db >= MIN_AGREEMENT_DB:
            return None
        why = f"it agrees with eager at {db:.1f} dB PSNR (needs >= {MIN_AGREEMENT_DB:.0f} dB"
        if self.reference is None or not db == db:  # NaN: nothing to weigh
            return why + ")"
        try:
            gold = self.reference(u8)
        except Exception as exc:  # noqa: BLE001 - the check decides; the frame must not fail
            return why + f"; the fp32 reference raised {type(exc).__name__})"
        eager_db, fast_db = psnr_u8(ref, gold), psnr_u8(out, gold)
        self.reference_db = (eager_db, fast_db)
        if fast_db >= max(eager_db - REFERENCE_SLACK_DB, MIN_REDUCED_DB):
            return None
        return (why + f", or against fp32 {fast_db:.1f} dB, no worse than eager's {eager_db:.1f} dB less "
                f"{REFERENCE_SLACK_DB:.0f} and >= {MIN_REDUCED_DB:.0f} dB)")

    def _drop(self, reason: str, ref: Tensor) -> Tensor:
        self.passed = False
        self._on_drop(reason)
        return ref


@dataclass(frozen=True)
class PathStatus:
    """Where frames of one shape go: the path name, and the fast runner's first-frame check when it ran."""

    path: str
    agreement_db: float | None = None  # fast vs eager PSNR on the checked frame
    eager_ms: float | None = None  # CPU: the better of two runs each on that frame
    fast_ms: float | None = None
    dropped: str | None = None  # why the fast runner was dropped


class RunnerCache:
    """Runners per :class:`FrameKey`, built in the background (or now, with ``wait=True``), cached.

    ``get`` returns ``None`` while a runner is being built; the caller then runs the eager function. A build
    that fails is logged once and that key stays eager. With ``eager`` (the eager runner of a key) every
    built runner is wrapped in :class:`SelfChecked`: one that fails its first-frame check is dropped with one
    log line and that key stays eager too. At most ``max_ready`` runners are kept (each CUDA graph holds its
    own memory pool); ``before_evict`` runs before the oldest is dropped (e.g. a device sync, since a graph
    being replayed must not lose its memory). ``name`` is the path the built runners take
    (:func:`fast_path_name`), used by :meth:`path` while they build. ``reference`` (the fp32 eager runner of
    a key, for bf16 pipelines) is handed to each :class:`SelfChecked`.
    """

    def __init__(self, build: Callable[[FrameKey], Runner], max_ready: int = 4,
                 before_evict: Callable[[], None] = lambda: None,
                 eager: Callable[[FrameKey], Runner] | None = None, compare_speed: bool = False,
                 name: str = COMPILED, reference: Callable[[FrameKey], Runner] | None = None) -> None:
        self._build, self._eager, self._reference = build, eager, reference
        self.max_ready, self._before_evict = max_ready, before_evict
        self.compare_speed, self.name = compare_speed, name
        self._ready: dict[FrameKey, Runner | None] = {}
        self._pending: dict[FrameKey, Future[Runner]] = {}
        self._dropped: dict[FrameKey, str] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def get(self, key: FrameKey, wait: bool = False) -> Runner | None:
        """The ready runner for ``key``, starting its build if needed (blocking if ``wait``)."""
        with self._lock:
            if key in self._dropped:
                return None
            if key in self._ready:
                return self._ready[key]
            fut = self._pending.get(key)
            if fut is None:
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(1, thread_name_prefix="adain-compile")
                fut = self._pool.submit(self._build, key)
                self._pending[key] = fut
        if not wait and not fut.done():
            return None
        return self._finish(key, fut)

    def path(self, key: FrameKey) -> str:
        """The path a frame of ``key`` takes now: the runner's name, or eager (and why)."""
        with self._lock:
            if key in self._dropped:
                return f"{EAGER} ({self.name} dropped)"
            fut = self._pending.get(key)
            if fut is not None and not fut.done():  # a finished build is taken up by the next get()
                return f"{EAGER} ({self.name} building)"
            runner = self._ready.get(key)
        if runner is None:
            return EAGER
        if isinstance(runner, SelfChecked) and runner.passed is False:
            return f"{EAGER} ({self.name} dropped)"
        return str(getattr(runner, "path", self.name))

    def check(self, key: FrameKey) -> SelfChecked | None:
        """The self-check of ``key``'s runner (its agreement and timing), when it has one."""
        with self._lock:
            runner = self._ready.get(key)
        return runner if isinstance(runner, SelfChecked) else None

    def dropped(self, key: FrameKey) -> str | None:
        """Why the fast path of ``key`` was dropped, or None."""
        with self._lock:
            return self._dropped.get(key)

    def status(self, key: FrameKey) -> PathStatus:
        """The path of ``key`` with its self-check's figures (for ``bench`` and ``doctor``)."""
        check = self.check(key)
        speed = None if check is None else check.speed_ms
        return PathStatus(self.path(key), agreement_db=None if check is None else check.agreement_db,
                          eager_ms=None if speed is None else speed[0], fast_ms=None if speed is None else speed[1],
                          dropped=self.dropped(key))

    def _finish(self, key: FrameKey, fut: Future[Runner]) -> Runner | None:
        try:
            runner: Runner | None = fut.result()
        except Exception as exc:  # noqa: BLE001 - compilers fail in many ways; eager still works
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            self._drop(key, f"building it failed ({type(exc).__name__}: {text})")
            with self._lock:
                self._pending.pop(key, None)
            return None
        if runner is not None and self._eager is not None:
            runner = SelfChecked(runner, self._eager(key), functools.partial(self._drop, key), self.compare_speed,
                                 None if self._reference is None else self._reference(key))
        with self._lock:
            if key not in self._pending:  # cleared meanwhile: a model or dtype change
                return None
            self._ready[key] = runner
            self._pending.pop(key, None)
            evict = [k for k in self._ready if k != key][: max(0, len(self._ready) - self.max_ready)]
        if evict:
            self._before_evict()
            with self._lock:
                for k in evict:
                    self._ready.pop(k, None)
        return runner

    def _drop(self, key: FrameKey, reason: str) -> None:
        n, h, w, _ = key.shape
        log.warning("the %s path for %dx%d frames was dropped: %s; running eagerly", self.name, w, h, reason)
        with self._lock:
            self._dropped[key] = reason
            self._ready.pop(key, None)

    def clear(self) -> None:
        """Forget every runner (after a model or dtype change); pending builds finish and are dropped."""
        with self._lock:
            self._ready.clear()
            self._pending.clear()
            self._dropped.clear()

    def close(self) -> None:
        """Stop the build thread (waits for a build in progress)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def resolve_compile(compile: bool | str | None, device: torch.device,
                    dtype: torch.dtype | None = None) -> str | None:
    """The ``torch.compile`` mode to use, or None for eager.

    ``"auto"`` (or None) is the policy: compile where :func:`~adain_live.core.device.compile_available` (CUDA
    with Triton; the CPU with a C++ compiler) — on the CPU only in bf16, where it paid (MicroAST 448x256: 62 →
    27 ms on an AVX512-BF16 core); in fp32 on an AVX2 core it did not (333 vs 341 ms CPU time per frame,
    ``benchmarks/RESULTS.md``) and costs minutes of compiling per frame size on 2 cores. A compiled CPU runner
    is kept only if its self-check finds it faster than eager. ``True`` is ``"default"``, ``False`` eager; any
    other string is a ``torch.compile`` mode.
    """
    if compile is None or compile == "auto":
        if device.type == "cpu" and dtype != torch.bfloat16:
            return None
        return "default" if compile_available(device) else None
    if compile is True:
        return "default"
    return compile or None


@functools.cache
def compile_probe(device_type: str = "cpu") -> str | None:
    """Compile and run a tiny function on ``device_type``; None when it works, else the one-line reason.

    Cached per process. Takes a few seconds the first time (inductor's import and one C++/Triton build).
    """
    try:
        import torch._dynamo

        def fn(x: Tensor) -> Tensor:
            return torch.relu(x * 2.0 + 1.0).sum(dim=-1)

        x = torch.arange(16, dtype=torch.float32, device=device_type).reshape(4, 4) - 6.0
        got = torch.compile(fn, dynamic=False)(x)
        if not torch.allclose(got.cpu(), fn(x).cpu()):
            return "a compiled test function gave a wrong result"
    except Exception as exc:  # noqa: BLE001 - any failure means: do not compile here
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {text}"[:300]
    return None
