from __future__ import annotations

import pytest
import torch

from adain_live.core.fast import FastAdaIN, stylize_tiled
from adain_live.core.model import AdaINModel
from adain_live.core.stats import StyleStats


@pytest.fixture(scope="module")
def models() -> tuple[AdaINModel, FastAdaIN]:
    model = AdaINModel.random(seed=3)
    return model, FastAdaIN.from_model(model)


def _style() -> StyleStats:
    g = torch.Generator().manual_seed(1)
    return StyleStats(torch.rand(512, generator=g), torch.rand(512, generator=g) + 0.2)


def _image(h: int, w: int) -> torch.Tensor:
    return torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(h * 1000 + w))


@torch.inference_mode()
def test_encoder_matches_canonical(models: tuple[AdaINModel, FastAdaIN]) -> None:
    model, fast = models
    x = _image(40, 56)
    ref = model.encode(x)
    got = fast.encode(x)
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5 * float(ref.abs().max()))


@pytest.mark.parametrize(("h", "w", "alpha"), [(48, 64, 1.0), (37, 45, 0.6), (12, 20, 1.0)])
@torch.inference_mode()
def test_stylize_matches_canonical(models: tuple[AdaINModel, FastAdaIN], h: int, w: int, alpha: float) -> None:
    model, fast = models
    style, x = _style(), _image(h, w)
    ref = model.stylize(x, style, alpha)
    got = fast(x, style.mean, style.std, torch.tensor(alpha))
    assert got.shape == ref.shape == (1, 3, h, w)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)


@torch.inference_mode()
def test_preserve_color_matches_canonical(models: tuple[AdaINModel, FastAdaIN]) -> None:
    model, fast = models
    style, x = _style(), _image(32, 40)
    ref = model.stylize(x, style, 1.0, preserve_color=True)
    got = fast(x, style.mean, style.std, torch.tensor(1.0), preserve_color=True)
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)


def test_from_model_rejects_other_layouts() -> None:
    model = AdaINModel.random()
    model.encoder = torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3), torch.nn.ReLU())
    with pytest.raises(ValueError, match="1x1 conv"):
        FastAdaIN.from_model(model)


def test_tiled_matches_untiled(models: tuple[AdaINModel, FastAdaIN]) -> None:
    _model, fast = models
    style, x = _style(), _image(150, 160)  # 2x2 tiles of 96 px, the last ones ragged (54 px)
    a = torch.tensor(0.8)
    with torch.inference_mode():
        ref = fast(x, style.mean, style.std, a)
    got = stylize_tiled(fast, x, style.mean, style.std, a, tile=96)
    assert got.shape == ref.shape
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)


def test_tile_must_be_multiple_of_8(models: tuple[AdaINModel, FastAdaIN]) -> None:
    _model, fast = models
    style = _style()
    with pytest.raises(ValueError, match="multiple of 8"):
        stylize_tiled(fast, _image(150, 215), style.mean, style.std, torch.tensor(1.0), tile=60)
