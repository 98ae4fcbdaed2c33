"""Shared fixtures: tiny random-weight models of the real architecture, saved in the canonical layouts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from adain_live.core.model import AdaINModel
from adain_live.core.vgg import build_vgg


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's real cache: every test gets its own ADAIN_LIVE_HOME."""
    monkeypatch.setenv("ADAIN_LIVE_HOME", str(tmp_path_factory.mktemp("adain_home")))


@pytest.fixture(scope="session")
def canonical_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Random-weight ``vgg_normalised.pth`` (full VGG-19) and ``decoder.pth`` in pytorch-AdaIN's layout.

    He-initialised (:meth:`AdaINModel.random`) so outputs vary instead of sitting near a constant; the VGG layers
    past relu4_1, which the encoder never uses, keep PyTorch's default init.
    """
    d = tmp_path_factory.mktemp("canonical")
    torch.manual_seed(1234)
    model = AdaINModel.random(seed=1234)
    vgg = build_vgg()
    vgg.load_state_dict({**vgg.state_dict(), **model.encoder.state_dict()})
    torch.save(vgg.state_dict(), d / "vgg_normalised.pth")
    torch.save(model.decoder.state_dict(), d / "decoder.pth")
    return d / "vgg_normalised.pth", d / "decoder.pth"
