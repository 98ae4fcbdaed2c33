from __future__ import annotations

import torch
from torch import nn

from adain_live.core.model import AdaINModel
from adain_live.core.stats import mean_std
from training.losses import adain_losses, content_loss, style_loss


def test_losses_vanish_for_identical_features() -> None:
    feats = [torch.rand(2, c, s, s) for c, s in ((8, 16), (16, 8))]
    assert float(style_loss(feats, feats)) == 0.0
    assert float(content_loss(feats[1], feats[1])) == 0.0


def test_style_loss_is_mse_of_means_and_stds() -> None:
    a, b = torch.rand(2, 4, 6, 6), torch.rand(2, 4, 6, 6) * 2 + 1
    (am, as_), (bm, bs) = mean_std(a), mean_std(b)
    expected = ((am - bm) ** 2).mean() + ((as_ - bs) ** 2).mean()
    torch.testing.assert_close(style_loss([a], [b]), expected)


def test_loss_falls_when_overfitting_one_batch(encoder: nn.Sequential) -> None:
    torch.manual_seed(0)
    model = AdaINModel(encoder, None)
    content, style = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    opt = torch.optim.Adam(model.decoder.parameters(), lr=2e-4)
    totals = []
    for _ in range(15):
        lc, ls, out = adain_losses(model, content, style)
        loss = lc + 10 * ls
        opt.zero_grad()
        loss.backward()
        opt.step()
        totals.append(float(loss.detach()))
    assert out.shape == content.shape
    assert all(p.grad is None for p in model.encoder.parameters())
    assert max(totals[-3:]) < 0.6 * totals[0], totals
