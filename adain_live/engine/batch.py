"""Batch re-styling: every input × every style becomes one job writing ``OUTDIR/<input>__<style>.<ext>``.

The plan, the manifest that makes reruns skip finished work, and the JSON report live here; running the jobs
(in this process, in local worker processes, or as Ray tasks) is :mod:`adain_live.engine.batch_exec`, and what
one job does is :mod:`adain_live.engine.batch_worker`.

Resuming: a job's *key* is a hash of its input file's content, its style file's content and every setting that
changes the output. The manifest (``OUTDIR/.adain-live-batch.json``) records the key and size of each output
written; a rerun skips a job whose output exists with the recorded key and size. Outputs are written to a
temporary file and renamed, so a killed run leaves no half file under an output name.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from adain_live._fs import IMAGE_SUFFIXES, atomic_write_text, sha256_file
from adain_live.engine.config import check_alpha, check_size
from adain_live.errors import UserError
from adain_live.media.video_writer import VIDEO_SUFFIXES

log = logging.getLogger(__name__)

MANIFEST_NAME = ".adain-live-batch.json"
REPORT_NAME = "batch-report.json"
STATUSES = ("done", "skipped", "failed", "partial", "cancelled")


@dataclass(frozen=True)
class BatchSettings:
    """Everything that changes a batch output (hashed into each job's key) plus how to run it.

    ``device``, ``threads`` and ``batch`` change speed, not the result, and are not hashed; ``precision`` is.
    """

    model: str | None = None
    vgg: str | None = None
    decoder: str | None = None
    device: str = "auto"
    precision: str = "auto"
    size: int = 512
    style_size: int = 512
    alpha: float = 1.0
    preserve_color: bool = False
    codec: str = "h264"
    crf: int | None = None
    pix_fmt: str = "yuv420p"
    batch: int = 4
    threads: int = 0
    overwrite: bool = False

    def __post_init__(self) -> None:
        check_alpha(self.alpha)
        check_size(self.size)
        check_size(self.style_size, "style-size")
        if self.threads < 0:
            raise ValueError(f"threads must be >= 0, got {self.threads}")
        if self.batch < 1:
            raise ValueError(f"batch {self.batch} must be at least 1")

    def output_digest(self) -> dict[str, Any]:
        """The settings that change the output (what a rerun must match to skip a job)."""
        d = asdict(self)
        for speed_only in ("device", "threads", "batch", "overwrite"):
            d.pop(speed_only)
        for path_key in ("vgg", "decoder"):
            if d[path_key]:
                d[path_key] = sha256_file(d[path_key])
        return d

    def with_threads(self, threads: int) -> BatchSettings:
        """A copy with ``threads`` CPU threads per worker."""
        return replace(self, threads=threads)


@dataclass(frozen=True)
class Job:
    """One input × one style → one output file."""

    source: Path
    style: Path
    output: Path
    kind: str  # "video" or "image"

    @property
    def name(self) -> str:
        """The output's file name (the job's identity in the manifest and the report)."""
        return self.output.name


@dataclass
class JobOutcome:
    """What happened to one job (one row of the report)."""

    job: Job
    status: str
    seconds: float = 0.0
    frames: int = 0
    error: str | None = None
    key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """The JSON row of this outcome."""
        return {"input": str(self.job.source), "style": str(self.job.style), "output": str(self.job.output),
                "kind": self.job.kind, "status": self.status, "seconds": round(self.seconds, 3),
                "frames": self.frames, "error": self.error, **self.extra}


def kind_of(path: Path) -> str | None:
    """``video``, ``image`` or ``None`` from a file's extension."""
    suffix = path.suffix.lower()
    return "video" if suffix in VIDEO_SUFFIXES else "image" if suffix in IMAGE_SUFFIXES else None


def collect(items: Iterable[Path], what: str, kinds: Sequence[str] = ("video", "image")) -> list[Path]:
    """Expand folders (sorted, not recursive) into files of ``kinds``; a missing path is a one-line error."""
    files: list[Path] = []
    for item in items:
        if item.is_dir():
            found = sorted(p for p in item.iterdir() if p.is_file() and kind_of(p) in kinds)
            if not found:
                raise UserError(f"folder {item} has no {what} files; give files or another folder")
            files += found
        elif item.is_file():
            if kind_of(item) not in kinds:
                raise UserError(f"{item} is not a {' or '.join(kinds)} file (by its extension); remove it")
            files.append(item)
        else:
            raise UserError(f"{what} not found: {item}")
    if not files:
        raise UserError(f"no {what} given")
    return files


def plan(inputs: Sequence[Path], styles: Sequence[Path], outdir: Path, settings: BatchSettings) -> list[Job]:
    """One job per input × style, named ``<input stem>__<style stem>.<ext>`` in ``outdir``.

    Videos keep the codec's container (``.mp4``, ``.webm`` for VP9); images are written as PNG. Name clashes
    (same stems from different folders) get ``-2``, ``-3``… in input order, so a rerun plans the same names.
    """
    if outdir.exists() and not outdir.is_dir():
        raise UserError(f"-o {outdir} is a file; give a folder for the batch outputs")
    video_ext = ".webm" if settings.codec == "vp9" else ".mp4"
    if video_ext not in VIDEO_SUFFIXES:  # pragma: no cover - the writer's table and ours disagree
        raise UserError(f"cannot write {video_ext} videos")
    jobs: list[Job] = []
    used: set[str] = set()
    for style in styles:
        for src in inputs:
            kind = kind_of(src) or "image"
            ext = video_ext if kind == "video" else ".png"
            stem = f"{src.stem}__{style.stem}"
            name, n = f"{stem}{ext}", 1
            while name.lower() in used:
                n += 1
                name = f"{stem}-{n}{ext}"
            used.add(name.lower())
            jobs.append(Job(src, style, outdir / name, kind))
    return jobs


def job_key(job: Job, settings_digest: dict[str, Any], file_hash: dict[Path, str]) -> str:
    """A hash of the job's input content, style content and output-changing settings."""
    for p in (job.source, job.style):
        if p not in file_hash:
            file_hash[p] = sha256_file(p)
    blob = json.dumps({"input": file_hash[job.source], "style": file_hash[job.style], "kind": job.kind,
                       "settings": settings_digest}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


class Manifest:
    """``OUTDIR/.adain-live-batch.json``: output name → key and size of a finished output."""

    def __init__(self, outdir: Path) -> None:
        self.path = outdir / MANIFEST_NAME
        self.entries: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.entries = {str(k): dict(v) for k, v in data.get("outputs", {}).items()}
            except (ValueError, AttributeError, TypeError, OSError):
                log.warning("ignoring unreadable batch manifest %s (finished outputs will be redone)", self.path)

    def is_complete(self, job: Job, key: str) -> bool:
        """True when ``job.output`` exists and is the file recorded for ``key``."""
        entry = self.entries.get(job.name)
        if entry is None or entry.get("key") != key or entry.get("partial"):
            return False
        try:
            return job.output.stat().st_size == entry.get("bytes")
        except OSError:
            return False

    def is_ours(self, job: Job) -> bool:
        """True when an existing ``job.output`` was written by an earlier batch (with other settings)."""
        entry = self.entries.get(job.name)
        try:
            return entry is not None and job.output.stat().st_size == entry.get("bytes")
        except OSError:
            return False

    def record(self, job: Job, key: str, partial: bool = False) -> None:
        """Remember an output (``partial``: from a truncated input; redone by a rerun) and save the manifest."""
        self.entries[job.name] = {"key": key, "bytes": job.output.stat().st_size, "partial": partial,
                                  "input": str(job.source), "style": str(job.style)}
        self.save()

    def save(self) -> None:
        """Write the manifest (temporary file + rename)."""
        atomic_write_text(self.path, json.dumps({"version": 1, "outputs": self.entries}, indent=1, sort_keys=True))


def write_report(outdir: Path, outcomes: Sequence[JobOutcome], meta: dict[str, Any]) -> Path:
    """``OUTDIR/batch-report.json``: every job with its status, time, frames and error line."""
    counts = {s: sum(o.status == s for o in outcomes) for s in STATUSES}
    data = {"summary": {"jobs": len(outcomes), **counts}, **meta, "jobs": [o.row() for o in outcomes]}
    path = outdir / REPORT_NAME
    atomic_write_text(path, json.dumps(data, indent=1))
    return path


def default_workers(device: str, gpu_count: int) -> int:
    """One worker per GPU on CUDA; on the CPU one worker (it uses every core), see ``--workers``."""
    if device.startswith("cuda") or (device == "auto" and gpu_count > 0):
        return max(1, gpu_count)
    return 1


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """Split the CPU cores between CPU workers (at least one thread each)."""
    n = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, n // max(1, workers))
