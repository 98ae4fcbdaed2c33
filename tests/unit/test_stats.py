from __future__ import annotations

import pytest
import torch

from adain_live.core.stats import StyleStats, adain, masked_mean_std, mean_std, mix_stats


def reference_calc_mean_std(feat: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """pytorch-AdaIN's function.py, verbatim maths."""
    size = feat.size()
    n, c = size[:2]
    feat_var = feat.view(n, c, -1).var(dim=2) + eps
    feat_std = feat_var.sqrt().view(n, c, 1, 1)
    feat_mean = feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1)
    return feat_mean, feat_std


def test_mean_std_matches_reference() -> None:
    f = torch.randn(2, 8, 5, 7) * 3 + 1
    m, s = mean_std(f)
    rm, rs = reference_calc_mean_std(f)
    torch.testing.assert_close(m, rm)
    torch.testing.assert_close(s, rs)


def test_mean_std_is_fp32_for_half_input() -> None:
    m, s = mean_std(torch.randn(1, 4, 6, 6).to(torch.bfloat16))
    assert m.dtype == torch.float32 and s.dtype == torch.float32


def test_single_position_has_no_nan() -> None:
    m, s = mean_std(torch.randn(1, 4, 1, 1))
    assert torch.isfinite(s).all() and torch.allclose(s, torch.full_like(s, 1e-5**0.5))


def test_adain_output_has_style_statistics() -> None:
    c = torch.randn(1, 16, 9, 9)
    sm, ss = torch.randn(1, 16, 1, 1), torch.rand(1, 16, 1, 1) + 0.5
    out = adain(c, sm, ss)
    m, s = mean_std(out)
    torch.testing.assert_close(m, sm, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(s, ss, atol=1e-3, rtol=1e-3)


def test_mixing_statistics_equals_mixing_adain_features() -> None:
    c = torch.randn(1, 16, 6, 6)
    styles = [StyleStats(torch.randn(16), torch.rand(16) + 0.1) for _ in range(3)]
    w = [0.2, 0.5, 0.3]
    paper = sum(wi * adain(c, *s.as_4d()) for wi, s in zip(w, styles, strict=True))
    mixed = adain(c, *mix_stats(styles, w).as_4d())
    torch.testing.assert_close(mixed, paper, atol=1e-5, rtol=1e-5)


def test_mix_weights_are_normalised_and_validated() -> None:
    a = StyleStats(torch.zeros(4), torch.ones(4))
    b = StyleStats(torch.ones(4), torch.ones(4) * 3)
    torch.testing.assert_close(mix_stats([a, b], [1, 3]).mean, torch.full((4,), 0.75))
    with pytest.raises(ValueError, match="sum to 0"):
        mix_stats([a, b], [1, -1])
    with pytest.raises(ValueError, match="one weight per style"):
        mix_stats([a, b], [1])


def test_masked_stats_match_region_stats() -> None:
    f = torch.randn(1, 4, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :, :3] = 1
    m, s = masked_mean_std(f, mask)
    rm, rs = mean_std(f[..., :, :3])
    torch.testing.assert_close(m, rm, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(s, rs, atol=1e-5, rtol=1e-5)


def test_style_stats_roundtrip_and_validation() -> None:
    s = StyleStats(torch.randn(8), torch.rand(8))
    back = StyleStats.from_state_dict(s.state_dict())
    torch.testing.assert_close(back.mean, s.mean)
    with pytest.raises(ValueError, match="NaN"):
        StyleStats.from_state_dict({"mean": torch.full((8,), float("nan")), "std": torch.ones(8)})
    with pytest.raises(ValueError):
        StyleStats(torch.zeros(3), torch.zeros(4))
