from __future__ import annotations

import pytest
import torch

from adain_live.core.color import luma
from adain_live.core.model import AdaINModel
from adain_live.core.stats import StyleStats, adain


@pytest.fixture(scope="module")
def model() -> AdaINModel:
    return AdaINModel.random(seed=3)


@pytest.mark.parametrize("size", [(1, 1), (7, 13), (33, 47), (64, 64), (17, 8)])
def test_output_has_exactly_the_input_size(model: AdaINModel, size: tuple[int, int]) -> None:
    stats = model.style_stats(torch.rand(1, 3, 24, 24))
    out = model.stylize(torch.rand(2, 3, *size), stats)
    assert out.shape == (2, 3, *size)
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1


def test_style_stats_are_fp32_channels_of_relu4_1(model: AdaINModel) -> None:
    s = model.style_stats(torch.rand(1, 3, 40, 30))
    assert s.channels == 512 and s.mean.dtype == torch.float32


def test_alpha_zero_reconstructs_through_decoder(model: AdaINModel) -> None:
    x = torch.rand(1, 3, 32, 32)
    stats = model.style_stats(torch.rand(1, 3, 32, 32))
    expected = model.decoder(model.encoder(x)).clamp(0, 1)
    torch.testing.assert_close(model.stylize(x, stats, alpha=0.0), expected)


def test_alpha_interpolates_features(model: AdaINModel) -> None:
    """α blends the relu4_1 features linearly: decode(α·AdaIN(f) + (1-α)·f), checked at α = 0.5."""
    x = torch.rand(1, 3, 32, 32)
    stats = model.style_stats(torch.rand(1, 3, 32, 32))
    feat = model.encoder(x)
    target = adain(feat, *stats.as_4d())
    expected = model.decoder(0.5 * target + 0.5 * feat).clamp(0, 1)
    half = model.stylize(x, stats, alpha=0.5)
    torch.testing.assert_close(half, expected, atol=1e-5, rtol=0)
    # and the blend is not trivially one of the ends
    assert (half - model.stylize(x, stats, alpha=1.0)).abs().max() > 1e-2
    assert (half - model.stylize(x, stats, alpha=0.0)).abs().max() > 1e-2
    with pytest.raises(ValueError, match="alpha"):
        model.stylize(x, stats, alpha=1.5)


def test_stylize_does_not_reencode_the_style(model: AdaINModel) -> None:
    calls = []
    handle = model.encoder.register_forward_hook(lambda *a: calls.append(1))
    try:
        stats = model.style_stats(torch.rand(1, 3, 32, 32))
        for _ in range(3):
            model.stylize(torch.rand(1, 3, 32, 32), stats)
    finally:
        handle.remove()
    assert len(calls) == 4  # one style encode + one content encode per frame


def test_preserve_color_keeps_content_chroma(model: AdaINModel) -> None:
    x = torch.rand(1, 3, 32, 32) * 0.5 + 0.25
    stats = model.style_stats(torch.rand(1, 3, 32, 32))
    plain = model.stylize(x, stats)
    kept = model.stylize(x, stats, preserve_color=True)
    torch.testing.assert_close(luma(kept), luma(plain), atol=2e-2, rtol=0)
    # chroma = rgb - luma is the content's (where nothing was clipped)
    torch.testing.assert_close((kept - luma(kept)).mean(), (x - luma(x)).mean(), atol=2e-2, rtol=0)


def test_mask_selects_foreground_and_background(model: AdaINModel) -> None:
    x = torch.rand(1, 3, 32, 32)
    fg = model.style_stats(torch.rand(1, 3, 32, 32))
    bg = StyleStats(fg.mean + 1.0, fg.std * 2)
    ones, zeros = torch.ones(1, 1, 32, 32), torch.zeros(1, 1, 32, 32)
    torch.testing.assert_close(model.stylize(x, fg, mask=ones, background=bg), model.stylize(x, fg))
    torch.testing.assert_close(model.stylize(x, fg, mask=zeros, background=bg), model.stylize(x, bg))
    half = torch.zeros(1, 1, 32, 32)
    half[..., 16:] = 1
    mixed = model.stylize(x, fg, mask=half, background=bg)
    assert not torch.allclose(mixed, model.stylize(x, fg))
    with pytest.raises(ValueError, match="background"):
        model.stylize(x, fg, mask=half)


def test_bf16_on_cpu_runs_and_agrees(model: AdaINModel) -> None:
    """bf16 weights give the fp32 picture: measured ~54 dB PSNR and max |Δ| ~0.007 on these inputs.

    The bounds (35 dB, 0.03) leave a wide margin for rounding yet fail for a zero/blank output (~5 dB) or swapped
    channels (~14 dB).
    """
    g = torch.Generator().manual_seed(0)
    x, style = torch.rand(1, 3, 32, 32, generator=g), torch.rand(1, 3, 32, 32, generator=g)
    ref = model.stylize(x, model.style_stats(style))
    m16 = AdaINModel.random(seed=3).to(torch.bfloat16)
    out = m16.stylize(x, m16.style_stats(style.to(torch.bfloat16)))
    assert out.dtype == torch.bfloat16 and out.shape == ref.shape
    err = (out.float() - ref).detach()
    psnr = float(10 * torch.log10(1.0 / err.pow(2).mean()))
    assert psnr > 35.0, f"bf16 output differs from fp32: PSNR {psnr:.1f} dB"
    assert float(err.abs().max()) < 0.03


def test_random_is_seeded() -> None:
    a, b = AdaINModel.random(5), AdaINModel.random(5)
    torch.testing.assert_close(a.decoder[1].weight, b.decoder[1].weight)
