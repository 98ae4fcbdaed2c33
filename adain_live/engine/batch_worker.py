"""What one batch job does, in whichever process runs it (this one, a local worker, or a Ray actor).

A worker keeps one pipeline per settings and one style code per style file, so the model is loaded once per
worker process and each style is encoded once per worker, not once per job.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adain_live.engine.batch import BatchSettings, Job, JobOutcome
from adain_live.errors import UserError

log = logging.getLogger(__name__)

FrameCallback = Callable[[int, int | None], None]


class JobRunner:
    """Runs jobs with a pipeline built once for ``settings`` (lazily, on the first job)."""

    def __init__(self, settings: BatchSettings, device: str | None = None) -> None:
        self.settings = settings
        self.device = device or settings.device
        self._pipe: Any = None
        self._codes: dict[Path, Any] = {}
        self._current: Path | None = None
        self.loads = 0  # how many times a model was loaded (tests check it is once per worker)

    def _pipeline(self) -> Any:
        if self._pipe is None:
            self._pipe = _build_pipeline(self.settings, self.device)
            self.loads += 1
        return self._pipe

    def _use_style(self, pipe: Any, style: Path) -> None:
        from adain_live.media.images import read_image

        if style not in self._codes:
            rgb, _alpha = read_image(style)
            self._codes[style] = pipe.style_stats(rgb, self.settings.style_size)
        if self._current != style:
            pipe.set_style(self._codes[style])
            self._current = style

    def run(self, job: Job, key: str, on_frames: FrameCallback | None = None) -> JobOutcome:
        """Run one job; a failure of this job is returned as its outcome, never raised (except Ctrl-C)."""
        started = time.perf_counter()
        try:
            pipe = self._pipeline()
            self._use_style(pipe, job.style)
            frames, extra = (self._video(pipe, job, on_frames) if job.kind == "video" else self._image(pipe, job))
        except UserError as exc:
            return JobOutcome(job, "failed", time.perf_counter() - started, error=str(exc), key=key)
        except Exception as exc:  # noqa: BLE001 - one job's bug must not stop the batch; its line says what
            log.debug("job %s failed", job.name, exc_info=True)
            return JobOutcome(job, "failed", time.perf_counter() - started,
                              error=f"unexpected error: {type(exc).__name__}: {exc}", key=key)
        status = "partial" if extra.get("partial") else "done"
        return JobOutcome(job, status, time.perf_counter() - started, frames=frames, key=key, extra=extra)

    def _video(self, pipe: Any, job: Job, on_frames: FrameCallback | None) -> tuple[int, dict[str, Any]]:
        from adain_live.engine.video_job import Progress, restyle_video
        from adain_live.media.video_writer import EncodeSettings

        s = self.settings
        enc = EncodeSettings(codec=s.codec, quality=s.crf, pix_fmt=s.pix_fmt)

        def progress(p: Progress) -> None:
            if on_frames is not None:
                on_frames(p.done, p.total)

        # The batch decided already whether this output may be replaced (see batch_exec.prepare).
        result = restyle_video(job.source, job.output, pipe, settings=enc, batch_size=s.batch, overwrite=True,
                               on_progress=progress)
        extra: dict[str, Any] = {"fps": round(result.fps, 2)}
        if result.partial:
            extra.update(partial=True, expected_frames=result.expected, partial_line=result.partial_line())
        return result.frames, extra

    def _image(self, pipe: Any, job: Job) -> tuple[int, dict[str, Any]]:
        from adain_live.media.images import read_image, write_image

        rgb, alpha = read_image(job.source)
        out = pipe(rgb)
        write_image(job.output, out, alpha if alpha is not None and alpha.shape == out.shape[:2] else None)
        return 1, {}


def _build_pipeline(s: BatchSettings, device_name: str) -> Any:
    from adain_live.engine.config import RuntimeConfig, StyleConfig
    from adain_live.engine.session import open_session

    cfg = RuntimeConfig(model=s.model, vgg=Path(s.vgg) if s.vgg else None,
                        decoder=Path(s.decoder) if s.decoder else None, device=device_name,
                        precision=s.precision, size=s.size, output_size="input", compile=True,
                        threads=s.threads or None)
    style = StyleConfig(alpha=s.alpha, preserve_color=s.preserve_color, size=s.size, style_size=s.style_size)
    return open_session(cfg, style).pipeline


#: The job runner of this process (local worker processes and Ray actors keep theirs for all their jobs).
_RUNNER: JobRunner | None = None


def process_runner(settings: BatchSettings, device: str | None = None) -> JobRunner:
    """The :class:`JobRunner` of this process for ``settings`` (built on first use, then reused)."""
    global _RUNNER
    if _RUNNER is None or _RUNNER.settings != settings or (device and _RUNNER.device != device):
        _RUNNER = JobRunner(settings, device)
    return _RUNNER
