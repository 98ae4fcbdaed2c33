"""Channel statistics at their edges: two positions, tiny regions, batches, a non-default eps, and the content hook."""

from __future__ import annotations

import pytest
import torch

from adain_live.core.model import AdaINModel
from adain_live.core.stats import StyleStats, adain, masked_mean_std, mean_std


def test_two_positions_use_the_unbiased_variance() -> None:
    f = torch.tensor([1.0, 4.0]).view(1, 1, 1, 2)
    m, s = mean_std(f)
    assert m.item() == pytest.approx(2.5)
    assert s.item() == pytest.approx((4.5 + 1e-5) ** 0.5)  # (1-2.5)² + (4-2.5)² over 2 - 1


def test_two_position_region_has_its_own_unbiased_statistics() -> None:
    f = torch.randn(1, 3, 4, 4)
    mask = torch.zeros(1, 1, 4, 4)
    mask[0, 0, 1, 2] = mask[0, 0, 3, 0] = 1
    m, s = masked_mean_std(f, mask)
    a, b = f[0, :, 1, 2], f[0, :, 3, 0]
    torch.testing.assert_close(m.view(-1), (a + b) / 2)
    torch.testing.assert_close(s.view(-1), ((a - b) ** 2 / 2 + 1e-5).sqrt())


def test_masked_statistics_are_per_frame_in_a_batch() -> None:
    f = torch.randn(2, 4, 6, 6)
    mask = torch.zeros(2, 1, 6, 6)
    mask[0, :, :2] = 1  # frame 0: the top two rows
    mask[1, :, :, 3:] = 1  # frame 1: the right half
    m, s = masked_mean_std(f, mask)
    assert m.shape == s.shape == (2, 4, 1, 1)
    for i, region in enumerate((f[0:1, :, :2], f[1:2, :, :, 3:])):
        rm, rs = mean_std(region)
        torch.testing.assert_close(m[i : i + 1], rm, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(s[i : i + 1], rs, atol=1e-5, rtol=1e-5)


def test_empty_region_falls_back_to_the_whole_map_with_the_given_eps() -> None:
    f = torch.randn(1, 4, 5, 5)
    m, s = masked_mean_std(f, torch.zeros(1, 1, 5, 5), eps=0.5)
    rm, rs = mean_std(f, eps=0.5)
    torch.testing.assert_close(m, rm)
    torch.testing.assert_close(s, rs)


def test_adain_eps_damps_the_output_contrast() -> None:
    c = torch.tensor([-1.0, 1.0, -1.0, 1.0]).view(1, 1, 2, 2)  # unbiased variance 4/3
    out = adain(c, torch.zeros(1, 1, 1, 1), torch.ones(1, 1, 1, 1), eps=4 / 3)
    # std_out = var / sqrt(var + eps) / sqrt(var) = sqrt(var / (var + eps)) = sqrt(1/2)
    assert out.flatten().std().item() == pytest.approx(0.5**0.5, rel=1e-5)


def test_mismatched_style_stats_message_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"StyleStats needs two \(C,\) tensors, got \(3,\) and \(4,\)"):
        StyleStats(torch.zeros(3), torch.ones(4))


def test_content_hook_sees_relu4_1_statistics_and_drives_the_output() -> None:
    model = AdaINModel.random(seed=3)
    x = torch.rand(1, 3, 32, 32)
    stats = model.style_stats(torch.rand(1, 3, 32, 32))
    plain = model.stylize(x, stats)
    seen: list[tuple[str, torch.Tensor, torch.Tensor]] = []

    def record(site: str, mean: torch.Tensor, std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        seen.append((site, mean, std))
        return mean, std

    model.content_hook = record
    torch.testing.assert_close(model.stylize(x, stats), plain)
    (site, mean, std), = seen
    ref_mean, ref_std = mean_std(model.encoder(x))
    assert site == "relu4_1"
    torch.testing.assert_close(mean, ref_mean)
    torch.testing.assert_close(std, ref_std)
    model.content_hook = lambda site, mean, std: (mean, std * 2)  # halves the normalised content
    assert (model.stylize(x, stats) - plain).abs().max() > 0.01
