from __future__ import annotations

import pytest
import torch

from adain_live.core.segmenter import PersonSegmenter
from adain_live.core.stats import StyleStats
from adain_live.engine.live.regions import RegionSync
from adain_live.engine.live.settings import LiveSettings
from adain_live.engine.mask import MaskSettings, PersonMasker

CPU = torch.device("cpu")


class _Pipe:
    device = CPU

    def __init__(self) -> None:
        self.calls: list[object] = []

    def set_region(self, region: object) -> None:
        self.calls.append(region)


def _sync() -> tuple[RegionSync, list[int]]:
    made: list[int] = []

    def make(device: torch.device) -> PersonMasker:
        made.append(1)
        return PersonMasker({"landscape": PersonSegmenter.random()}, device, MaskSettings())

    return RegionSync(make), made


def test_live_settings_check_the_region() -> None:
    assert LiveSettings(region="Person + Background").region == "person+background"
    with pytest.raises(ValueError):
        LiveSettings(region="face")


def test_region_sync_installs_only_on_change_and_loads_the_segmenter_once() -> None:
    sync, made = _sync()
    pipe = _Pipe()
    sync.apply(pipe, "everything")
    assert pipe.calls == []  # the pipeline starts with everything
    sync.apply(pipe, "person")
    sync.apply(pipe, "person")
    assert len(pipe.calls) == 1 and pipe.calls[0].name == "person"  # type: ignore[attr-defined]
    sync.apply(pipe, "background")
    sync.apply(pipe, "everything")
    assert pipe.calls[-1] is None and len(made) == 1


def test_person_plus_background_needs_a_background_style() -> None:
    sync, _ = _sync()
    pipe = _Pipe()
    sync.apply(pipe, "person+background")
    assert pipe.calls[-1].name == "person"  # type: ignore[attr-defined]  # no second style yet
    sync.background = StyleStats(torch.rand(512), torch.rand(512) + 0.1)
    sync.apply(pipe, "person+background")
    region = pipe.calls[-1]
    assert region.name == "person+background" and region.background is sync.background  # type: ignore[attr-defined]
