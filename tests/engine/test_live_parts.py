"""The seams of the live loop, each on its own: settings snapshot, style fader, size governor."""

from __future__ import annotations

import dataclasses
import threading

import pytest
import torch

from adain_live.core.stats import StyleStats
from adain_live.engine.live.fader import StyleFader
from adain_live.engine.live.governor import SizeGovernor
from adain_live.engine.live.settings import LiveSettings, SettingsBox
from adain_live.errors import DeviceMemoryError


def test_settings_snapshot_is_frozen_validated_and_versioned():
    woken = []
    box = SettingsBox(LiveSettings(), on_change=lambda: woken.append(1))
    v0, first = box.get()
    box.update(alpha=0.25, mirror=True)
    v1, second = box.get()
    assert v1 == v0 + 1 and (second.alpha, second.mirror) == (0.25, True)
    assert first == LiveSettings()  # a snapshot already handed out never changes
    with pytest.raises(dataclasses.FrozenInstanceError):
        second.alpha = 0.5  # type: ignore[misc]
    box.update(alpha=0.25)
    assert box.get()[0] == v1  # no change, no new version
    for bad in ({"alpha": 1.5}, {"size": -1}, {"alpha": float("nan")}):
        with pytest.raises(ValueError):
            box.update(**bad)
    assert box.get() == (v1, second)  # a refused change leaves the snapshot as it was
    assert len(woken) == 2


def test_settings_updates_from_many_threads_are_never_lost():
    box = SettingsBox(LiveSettings())

    def flip(field: str) -> None:
        for i in range(200):
            box.update(**{field: i % 2 == 0})

    threads = [threading.Thread(target=flip, args=(f,)) for f in ("mirror", "paused", "preserve_color")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = box.current
    assert (s.mirror, s.paused, s.preserve_color) == (False, False, False)  # each thread's last write kept


class FakePipe:
    def __init__(self):
        self.style = None
        self.calls = []

    def set_style(self, styles, weights=None):
        self.calls.append((styles, weights))
        self.style = styles if weights is None else styles[-1]


def stats(v: float) -> StyleStats:
    return StyleStats(torch.full((2,), v), torch.ones(2))


def test_fader_cross_fades_over_its_duration():
    now = [0.0]
    fader, pipe = StyleFader(0.5, clock=lambda: now[0]), FakePipe()
    fader.request(stats(1.0), fade=True)
    assert fader.apply(pipe) and pipe.calls[-1][1] is None  # the first style: nothing to fade from
    assert not fader.apply(pipe) and not fader.busy
    fader.request(stats(3.0), fade=True)
    now[0] = 0.0
    assert fader.apply(pipe)
    now[0] = 0.25
    assert fader.apply(pipe)
    (start, target), weights = pipe.calls[-1]
    assert float(start.mean[0]) == 1.0 and float(target.mean[0]) == 3.0 and weights == [0.5, 0.5]
    now[0] = 0.6
    assert fader.apply(pipe) and pipe.calls[-1][1] is None and float(pipe.style.mean[0]) == 3.0
    assert not fader.apply(pipe)
    fader.request(stats(5.0), fade=False)
    assert fader.apply(pipe) and pipe.calls[-1] == (pipe.style, None) and float(pipe.style.mean[0]) == 5.0


def test_governor_steps_down_on_typed_out_of_memory_only():
    sizes, errors = [], []
    gov = SizeGovernor(torch.device("cpu"), sizes.append, errors.append)
    oom = DeviceMemoryError("whatever the wording", device="cpu", need_bytes=2, free_bytes=1)
    assert gov.react(oom, 0, 720) == 480  # native 720p in effect → next rung
    assert gov.react(torch.OutOfMemoryError("CUDA out of memory"), 480, 720) == 360
    # Message text alone decides nothing: a plain error that talks about memory is not out of memory.
    assert gov.react(RuntimeError("needs 3 GiB but only 1 GiB is free"), 360, 720) is None
    assert gov.react(oom, 180, 720) is None  # bottom of the ladder
    assert sizes == [480, 360] and all("lowered the processing size" in e for e in errors) and len(errors) == 2
