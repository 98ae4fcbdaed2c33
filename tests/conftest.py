"""Shared fixtures: tiny random-weight models of the real architecture, saved in the canonical layouts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from adain_live.core.vgg import build_decoder, build_vgg


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's real cache: every test gets its own ADAIN_LIVE_HOME."""
    monkeypatch.setenv("ADAIN_LIVE_HOME", str(tmp_path_factory.mktemp("adain_home")))


@pytest.fixture(scope="session")
def canonical_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Random-weight ``vgg_normalised.pth`` (full VGG-19) and ``decoder.pth`` in pytorch-AdaIN's layout.

    The decoder's last layer is scaled so outputs span [0, 1] instead of sitting near a constant.
    """
    d = tmp_path_factory.mktemp("canonical")
    torch.manual_seed(1234)
    vgg, dec = build_vgg(), build_decoder()
    with torch.no_grad():
        for m in dec.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.mul_(2.0)
        dec[-1].bias.fill_(0.5)
    torch.save(vgg.state_dict(), d / "vgg_normalised.pth")
    torch.save(dec.state_dict(), d / "decoder.pth")
    return d / "vgg_normalised.pth", d / "decoder.pth"
