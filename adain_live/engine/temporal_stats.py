"""Smoothing the content features' statistics over time (the ``stats`` stabilisation mode).

AdaIN normalises each frame's content features by their own per-channel mean and std. Sensor noise and small
exposure changes move those statistics a little every frame, and the whole stylized texture moves with them:
the "boiling" of per-frame style transfer. :class:`StatsSmoother` is a content-statistics hook: the model
hands it the statistics it is about to normalise with (per AdaIN site, frames of a batch in time order) and
uses what it returns, an exponential moving average that starts afresh at a scene cut (a large relative jump).

Per-frame AdaIN cancels a global exposure change by itself (brighter content → larger statistics → the same
normalised features), and a plain average of the statistics would undo that. So the average is taken over the
statistics divided by each frame's overall feature scale (the mean of its per-channel std), and the frame's own
scale is put back: only the *shape* of the statistics across channels is smoothed (measured in
``benchmarks/RESULTS.md``: the plain average doubled the flicker of a clip with ±3 % exposure jitter).

It is written in tensor operations only (state updated in place, no host synchronisation), so it can run
inside a compiled function or a CUDA graph; :meth:`reset` works there too (it clears a device flag).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["StatsSmoother", "stats_jump"]


def stats_jump(mean: Tensor, std: Tensor, ref_mean: Tensor, ref_std: Tensor) -> Tensor:
    """Relative change of per-channel statistics (C,) against a reference: a scalar tensor, ~0.01 for noise."""
    num = (mean - ref_mean).abs().mean() + (std - ref_std).abs().mean()
    den = ref_mean.abs().mean() + ref_std.abs().mean() + 1e-6
    return num / den


class _Site:
    """Moving averages of one AdaIN site's statistics, and whether they hold anything yet."""

    def __init__(self, channels: int, device: torch.device) -> None:
        self.mean = torch.zeros(channels, device=device)
        self.std = torch.ones(channels, device=device)
        self.valid = torch.zeros((), device=device)


class StatsSmoother:
    """Exponential moving average of content statistics, per AdaIN site, reset on scene cuts.

    Parameters
    ----------
    momentum
        Weight of the past in [0, 1): 0 uses each frame's own statistics, 0.8 averages over ~5 frames.
    cut
        A relative jump (see :func:`stats_jump`) above this starts the average afresh.
    keep_gain
        Smooth the statistics relative to each frame's overall scale (see the module docstring).
    """

    def __init__(self, momentum: float = 0.8, cut: float = 0.25, keep_gain: bool = True) -> None:
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        if cut <= 0:
            raise ValueError(f"cut must be > 0, got {cut}")
        self.momentum, self.cut, self.keep_gain = momentum, cut, keep_gain
        self._sites: dict[str, _Site] = {}
        self._cuts: Tensor | None = None

    def reset(self) -> None:
        """Forget the averages (the next frame uses its own statistics)."""
        with torch.inference_mode():  # the state was made inside the pipeline's inference mode
            for site in self._sites.values():
                site.valid.zero_()

    @property
    def cuts(self) -> int:
        """Scene cuts detected so far (reading it synchronises with the device)."""
        return 0 if self._cuts is None else int(self._cuts.item())

    def __call__(self, site: str, mean: Tensor, std: Tensor) -> tuple[Tensor, Tensor]:
        """Smoothed (mean, std) for content statistics (N, C, 1, 1) of N consecutive frames at ``site``."""
        n, c = mean.shape[:2]
        state = self._sites.get(site)
        if state is None or state.mean.shape[0] != c or state.mean.device != mean.device:
            state = self._sites[site] = _Site(c, mean.device)
            if self._cuts is None or self._cuts.device != mean.device:
                self._cuts = torch.zeros((), device=mean.device)
        assert self._cuts is not None
        m_in, s_in = mean.float().reshape(n, c), std.float().reshape(n, c)
        scale = s_in.mean(dim=1, keepdim=True).clamp(min=1e-6) if self.keep_gain else torch.ones_like(s_in[:, :1])
        m_in, s_in = m_in / scale, s_in / scale
        means, stds = [], []
        for i in range(n):
            jump = stats_jump(m_in[i], s_in[i], state.mean, state.std)
            cut = (jump > self.cut) & (state.valid > 0)
            keep = torch.where(cut | (state.valid == 0), 0.0, self.momentum)
            state.mean.copy_(keep * state.mean + (1.0 - keep) * m_in[i])
            state.std.copy_(keep * state.std + (1.0 - keep) * s_in[i])
            state.valid.fill_(1.0)
            self._cuts.add_(cut.float())
            means.append(state.mean.clone())
            stds.append(state.std.clone())
        shape = (n, c, 1, 1)
        return (torch.stack(means) * scale).reshape(shape), (torch.stack(stds) * scale).reshape(shape)
