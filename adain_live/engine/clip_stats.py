"""Content statistics shared over each shot of a clip (``--clip-stats``, offline video only; after ReReVST).

Per-frame AdaIN normalises every frame's content features by that frame's own per-channel mean and std, so
noise and new picture entering the frame move the normalisation a little every frame. For a file we can do
better than a moving average: a first pass (:meth:`ClipStats.fit`) finds the scene cuts on small thumbnails
of every frame, samples up to ``samples`` frames spread over the shots, runs them through the pipeline and
records the content statistics at every AdaIN site (``relu4_1``, ``microast/level2``, ``microast/level1``;
``/fg`` and ``/bg`` with a mask); the second pass — the ordinary job — normalises every frame of a shot with
that shot's mean statistics.

The statistics are shared as they are (ReReVST), so a fade or an exposure change inside a shot is no longer
normalised away. ``keep_gain=True`` shares them relative to each frame's overall feature scale instead (as
:class:`~adain_live.engine.temporal_stats.StatsSmoother` does) — measured much worse with MicroAST (3× the
per-frame warping error on the pans against 1.0–1.1× plain: its features' means are large against their stds,
so a small change of scale moves the mean by a whole std; ``benchmarks/RESULTS.md``), hence off by default.

:class:`ClipStats` is a content-statistics hook (``pipeline.set_content_stats``). It counts the frames each
site has seen to know which shot a frame is in, so frames must come in order, each once (as the video job
and the pipeline's stream send them; a last batch padded with copies only adds frames past the end, which
count as the last shot).
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from adain_live.errors import MediaError
from adain_live.media.cuts import shot_starts, thumb
from adain_live.media.flow import to_gray
from adain_live.media.video_reader import VideoReader

__all__ = ["ClipStats", "file_frames", "plan_samples"]

log = logging.getLogger(__name__)


def plan_samples(starts: list[int], total: int, samples: int) -> list[int]:
    """Frame indices to sample: ``samples`` spread over the clip in proportion to each shot's length.

    Every shot gets at least one (so a clip with more shots than ``samples`` gets one per shot), evenly
    spaced inside its shot.
    """
    if total < 1 or samples < 1:
        raise ValueError(f"need at least one frame and one sample, got {total} frames and {samples} samples")
    bounds = [*starts, total]
    out: list[int] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        m = max(1, min(b - a, round(samples * (b - a) / total)))
        out += [a + int((b - a) * (j + 0.5) / m) for j in range(m)]
    return out


def file_frames(path: str | Path) -> Callable[[], Iterator[np.ndarray]]:
    """A function that decodes ``path`` again each call, yielding RGB frames (stopping quietly at damage).

    A truncated or damaged file is read as far as it decodes (the job itself reports that it is partial).
    """

    def frames() -> Iterator[np.ndarray]:
        with VideoReader(path) as reader:
            it = reader.frames()
            while True:
                try:
                    frame = next(it, None)
                except MediaError as exc:
                    log.debug("clip statistics: %s", exc)
                    return
                if frame is None:
                    return
                yield frame.image

    return frames


class ClipStats:
    """A content-statistics hook that normalises every frame of a shot with the shot's mean statistics.

    Parameters
    ----------
    samples
        Frames sampled by :meth:`fit` (at least one per shot).
    cut
        Thumbnail difference above which two consecutive frames are in different shots (see
        :func:`adain_live.media.cuts.is_cut`).
    keep_gain
        Share the statistics relative to each frame's overall scale (see the module docstring; default off).
    """

    def __init__(self, samples: int = 16, cut: float = 0.12, keep_gain: bool = False) -> None:
        if samples < 1:
            raise ValueError(f"clip statistics need at least 1 sample, got {samples}")
        self.samples, self.cut, self.keep_gain = samples, cut, keep_gain
        self.starts: list[int] = [0]
        #: frame indices the last :meth:`fit` sampled
        self.sampled: list[int] = []
        self._collected: dict[str, list[tuple[Tensor, Tensor]]] | None = None
        self._shared: dict[str, tuple[Tensor, Tensor]] = {}  # site -> (shots, C) mean and std
        self._seen: dict[str, int] = {}

    @property
    def shots(self) -> int:
        """Shots found by the last :meth:`fit`."""
        return len(self.starts)

    def reset(self) -> None:
        """Forget the clip: frames use their own statistics until the next :meth:`fit`."""
        self.starts, self.sampled, self._collected, self._shared, self._seen = [0], [], None, {}, {}

    def fit(self, pipeline: Callable[[np.ndarray], object], frames: Callable[[], Iterable[np.ndarray]],
            batch: int = 4) -> list[int]:
        """First pass: find the shots, stylize the sampled frames with ``pipeline``, average their statistics.

        ``pipeline`` stylizes a batch (N, H, W, 3) and has this hook installed; ``frames`` returns a fresh
        iterator over the clip's RGB frames each call (it is read twice: thumbnails, then the samples).
        Returns the sampled frame indices.
        """
        self.reset()
        thumbs = [thumb(to_gray(f)) for f in frames()]
        if not thumbs:
            return []
        self.starts = shot_starts(thumbs, self.cut)
        picks = plan_samples(self.starts, len(thumbs), self.samples)
        wanted, pending = set(picks), []
        self._collected = {}
        try:
            for i, frame in enumerate(frames()):
                if i in wanted:
                    pending.append(frame)
                if pending and (len(pending) == batch or i == picks[-1]):
                    pipeline(np.stack(pending))
                    pending = []
                if i >= picks[-1]:
                    break
            if pending:  # the file decoded shorter the second time
                pipeline(np.stack(pending))
            collected = self._collected
        finally:
            self._collected = None
        shot_of = [bisect.bisect_right(self.starts, i) - 1 for i in picks]
        self._shared = {site: _per_shot(rows, shot_of[: len(rows)], len(self.starts))
                        for site, rows in collected.items()}
        self.sampled = picks
        log.debug("clip statistics: %d frames, %d shot(s), %d samples, sites %s", len(thumbs), len(self.starts),
                  len(picks), sorted(self._shared))
        return picks

    def _scale(self, std: Tensor) -> Tensor:
        return std.mean(dim=1, keepdim=True).clamp(min=1e-6) if self.keep_gain else torch.ones_like(std[:, :1])

    def __call__(self, site: str, mean: Tensor, std: Tensor) -> tuple[Tensor, Tensor]:
        """The shared (mean, std) for content statistics (N, C, 1, 1) of the next N frames at ``site``."""
        n, c = mean.shape[:2]
        m, s = mean.float().reshape(n, c), std.float().reshape(n, c)
        scale = self._scale(s)
        if self._collected is not None:  # first pass: record, and stylize with the frame's own statistics
            self._collected.setdefault(site, []).extend(zip(m / scale, s / scale, strict=True))
            return mean, std
        shared = self._shared.get(site)
        if shared is None or shared[0].shape[1] != c:
            return mean, std  # nothing fitted for this site (or another model): the frame's own statistics
        first = self._seen.get(site, 0)
        self._seen[site] = first + n
        shot = [bisect.bisect_right(self.starts, i) - 1 for i in range(first, first + n)]
        idx = torch.tensor(shot, device=shared[0].device)
        shape = (n, c, 1, 1)
        return ((shared[0][idx] * scale).reshape(shape).to(mean.device),
                (shared[1][idx] * scale).reshape(shape).to(std.device))


def _per_shot(rows: list[tuple[Tensor, Tensor]], shot_of: list[int], shots: int) -> tuple[Tensor, Tensor]:
    """(shots, C) mean of the sampled statistics of each shot (a shot without samples: the clip's mean)."""
    means, stds = torch.stack([r[0] for r in rows]), torch.stack([r[1] for r in rows])
    which = torch.tensor(shot_of, device=means.device)
    picked = [which == k if bool((which == k).any()) else torch.ones_like(which, dtype=torch.bool)
              for k in range(shots)]
    return (torch.stack([means[p].mean(dim=0) for p in picked]),
            torch.stack([stds[p].mean(dim=0) for p in picked]))
