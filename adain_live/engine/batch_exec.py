"""Running a batch: decide what to skip, then run the rest here, in local worker processes or on Ray.

Local workers are spawned processes fed through queues (one per GPU on CUDA, CPU threads split otherwise);
each builds its pipeline once. On Ray every worker is an actor (asking for one GPU when the batch uses CUDA)
that keeps its model for all its jobs — Ray restarts GPU *task* processes after each task, actors it does not.
Ctrl-C (or SIGTERM) stops the workers; their running jobs remove their temporary files; the report marks
unfinished jobs ``cancelled``.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adain_live.engine.batch import BatchSettings, Job, JobOutcome, Manifest, job_key
from adain_live.engine.batch_worker import process_runner
from adain_live.errors import UserError

log = logging.getLogger(__name__)

OnOutcome = Callable[[JobOutcome], None]


@dataclass
class Prepared:
    """Jobs to run (with their keys) and outcomes already decided (skipped, or failed before running)."""

    todo: list[tuple[Job, str]]
    decided: list[JobOutcome]


def prepare(jobs: Sequence[Job], settings: BatchSettings, manifest: Manifest) -> Prepared:
    """Key every job; skip finished ones; refuse to replace files this batch did not make without overwrite."""
    digest = settings.output_digest()
    hashes: dict[Any, str] = {}
    todo: list[tuple[Job, str]] = []
    decided: list[JobOutcome] = []
    for job in jobs:
        try:
            key = job_key(job, digest, hashes)
        except OSError as exc:
            decided.append(JobOutcome(job, "failed", error=f"cannot read {exc.filename}: {exc.strerror}"))
            continue
        if manifest.is_complete(job, key):
            decided.append(JobOutcome(job, "skipped", key=key, extra={"reason": "finished in an earlier run"}))
        elif job.output.exists() and not settings.overwrite and not _own_partial(manifest, job, key):
            decided.append(JobOutcome(job, "failed", key=key, error=(
                f"{job.output} already exists (not from this batch with these settings); "
                "pass --overwrite or choose another -o")))
        else:
            todo.append((job, key))
    return Prepared(todo, decided)


def _own_partial(manifest: Manifest, job: Job, key: str) -> bool:
    entry = manifest.entries.get(job.name)
    return bool(entry and entry.get("key") == key and entry.get("partial") and manifest.is_ours(job))


def run_sequential(todo: Sequence[tuple[Job, str]], settings: BatchSettings, on_outcome: OnOutcome,
                   on_frames: Callable[[Job, int, int | None], None] | None = None) -> None:
    """Run every job in this process with one pipeline."""
    runner = process_runner(settings)
    for job, key in todo:
        def frames(done: int, total: int | None, job: Job = job) -> None:
            if on_frames is not None:
                on_frames(job, done, total)
        on_outcome(runner.run(job, key, frames))


# --- local worker processes -----------------------------------------------------------------------------
def _worker_main(settings: BatchSettings, device: str | None, tasks: Any, results: Any) -> None:
    # Ctrl-C in a terminal reaches every process of the group: the parent decides and sends SIGTERM,
    # which becomes KeyboardInterrupt here so the running job removes its temporary file.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    runner = process_runner(settings, device)
    try:
        while True:
            item = tasks.get()
            if item is None:
                break
            job, key = item
            results.put(runner.run(job, key))
    except KeyboardInterrupt:
        pass
    # Past the last job a SIGTERM just ends the process (no traceback from interpreter shutdown).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_local(todo: Sequence[tuple[Job, str]], settings: BatchSettings, workers: int, on_outcome: OnOutcome,
              devices: Sequence[str] | None = None) -> None:
    """Run jobs in ``workers`` spawned processes (``devices[i]`` for worker i when given)."""
    ctx = mp.get_context("spawn")
    tasks, results = ctx.Queue(), ctx.Queue()
    for item in todo:
        tasks.put(item)
    procs = []
    for i in range(workers):
        tasks.put(None)
        device = devices[i % len(devices)] if devices else None
        p = ctx.Process(target=_worker_main, args=(settings, device, tasks, results), name=f"adain-batch-{i}",
                        daemon=True)
        p.start()
        procs.append(p)
    finished = False
    try:
        _collect(results, procs, len(todo), on_outcome)
        finished = True
    finally:
        _stop(procs, grace=10.0 if finished else 0.0)


def _collect(results: Any, procs: list[Any], n: int, on_outcome: OnOutcome) -> None:
    got = 0
    while got < n:
        try:
            outcome = results.get(timeout=0.5)
        except queue.Empty:
            if not any(p.is_alive() for p in procs):
                raise UserError(f"every batch worker stopped with {n - got} job(s) left "
                                "(out of memory? see the messages above)") from None
            continue
        got += 1
        on_outcome(outcome)


def _stop(procs: list[Any], grace: float = 0.0, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + grace  # workers that got their stop marker exit by themselves
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.terminate()  # SIGTERM: the worker's running job cleans up
    deadline = time.monotonic() + timeout
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join()


# --- Ray ------------------------------------------------------------------------------------------------
def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("--ray needs Ray: pip install 'adain-live[cluster]' (or pip install ray)") from None
    return ray


class _Actor:
    """A Ray actor holding one pipeline for all its jobs."""

    def __init__(self, settings: BatchSettings) -> None:
        self.runner = process_runner(settings)

    def run(self, job: Job, key: str) -> JobOutcome:
        return self.runner.run(job, key)

    def loads(self) -> int:
        return self.runner.loads


def ray_init(address: str, num_cpus: int | None = None) -> bool:
    """Start a local Ray (``address == "local"``) or join a cluster; True when this call started Ray."""
    ray = _import_ray()
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                              "configure_logging": False}
    try:
        if address == "local":
            ray.init(num_cpus=num_cpus, **kwargs)
        else:
            ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserError(f"cannot start or join Ray at {address!r}: {exc}; check the address "
                        "(ray start --head prints it) or use --ray local") from None
    return True


def ray_plan(settings: BatchSettings, workers: int) -> tuple[bool, int]:
    """Whether to use GPUs and how many actors, from the connected cluster's resources.

    ``workers == 0`` means one actor per GPU (or per ``threads`` CPUs on a CPU batch).
    """
    resources = _import_ray().cluster_resources()
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
    if settings.device.startswith("cuda") and gpus == 0:
        raise UserError(f"--device {settings.device}: the Ray cluster has no GPU; use --device cpu or add GPU nodes")
    use_gpu = settings.device.startswith("cuda") or (settings.device == "auto" and gpus > 0)
    if workers == 0:
        workers = gpus if use_gpu else max(1, cpus // max(1, settings.threads))
    return use_gpu, workers


def run_ray(todo: Sequence[tuple[Job, str]], settings: BatchSettings, workers: int, on_outcome: OnOutcome,
            use_gpu: bool) -> list[int]:
    """Run jobs on ``workers`` Ray actors; returns how many models each actor loaded."""
    ray = _import_ray()
    threads = max(1, settings.threads)
    actor_cls = ray.remote(num_cpus=threads, num_gpus=1 if use_gpu else 0)(_Actor)
    actors = [actor_cls.remote(settings) for _ in range(workers)]
    idle = list(actors)
    pending: dict[Any, Any] = {}
    items = list(todo)
    try:
        while items or pending:
            while items and idle:
                actor = idle.pop()
                job, key = items.pop(0)
                pending[actor.run.remote(job, key)] = actor
            done, _ = ray.wait(list(pending), num_returns=1)
            actor = pending.pop(done[0])
            idle.append(actor)
            on_outcome(ray.get(done[0]))
        return [int(ray.get(a.loads.remote())) for a in actors]
    finally:
        for a in actors:
            ray.kill(a)


# --- the whole batch ------------------------------------------------------------------------------------
@dataclass
class BatchResult:
    """Every job's outcome (in plan order) and where the report was written."""

    outcomes: list[JobOutcome]
    report: Any
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        """True when every job finished or was skipped."""
        return not self.interrupted and all(o.status in ("done", "skipped") for o in self.outcomes)


def run_batch(jobs: Sequence[Job], settings: BatchSettings, outdir: Any, *, workers: int = 1,
              ray_address: str | None = None, gpus: Sequence[str] = (), on_outcome: OnOutcome | None = None,
              on_frames: Callable[[Job, int, int | None], None] | None = None) -> BatchResult:
    """Run ``jobs`` (planned into ``outdir``), record finished outputs in the manifest and write the report."""
    from adain_live.engine.batch import write_report

    outdir.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(outdir)
    prep = prepare(jobs, settings, manifest)
    outcomes: dict[Job, JobOutcome] = {o.job: o for o in prep.decided}
    for o in prep.decided:
        if on_outcome is not None:
            on_outcome(o)

    def finished(o: JobOutcome) -> None:
        outcomes[o.job] = o
        if o.status in ("done", "partial") and o.key is not None and o.job.output.exists():
            manifest.record(o.job, o.key, partial=o.status == "partial")
        if on_outcome is not None:
            on_outcome(o)

    interrupted = False
    started = time.perf_counter()
    try:
        if prep.todo:
            _dispatch(prep.todo, settings, workers, ray_address, gpus, finished, on_frames)
    except KeyboardInterrupt:
        interrupted = True
    ordered = [outcomes.get(j) or JobOutcome(j, "cancelled", error="the batch was interrupted") for j in jobs]
    meta = {"seconds": round(time.perf_counter() - started, 3), "workers": workers,
            "ray": ray_address, "interrupted": interrupted}
    return BatchResult(ordered, write_report(outdir, ordered, meta), interrupted)


def _dispatch(todo: Sequence[tuple[Job, str]], settings: BatchSettings, workers: int, ray_address: str | None,
              gpus: Sequence[str], finished: OnOutcome,
              on_frames: Callable[[Job, int, int | None], None] | None) -> None:
    if ray_address is not None:
        started = ray_init(ray_address, num_cpus=None)
        try:
            use_gpu, workers = ray_plan(settings, workers)
            run_ray(todo, settings, workers, finished, use_gpu=use_gpu)
        finally:
            if started:
                _import_ray().shutdown()
    elif workers > 1:
        run_local(todo, settings, min(workers, len(todo)), finished, devices=list(gpus) or None)
    else:
        run_sequential(todo, settings, finished, on_frames)
