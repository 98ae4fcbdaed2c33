"""The AdaIN paper's training losses (Huang & Belongie 2017, section 5), computed in fp32.

* content loss: MSE between the relu4_1 features of the re-encoded output and the AdaIN target ``t``;
* style loss: sum over relu1_1, relu2_1, relu3_1, relu4_1 of MSE(mean) + MSE(std) between the output's and the
  style image's features, with :func:`adain_live.core.stats.mean_std` (unbiased std + 1e-5, fp32).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from adain_live.core.model import AdaINModel
from adain_live.core.stats import adain, mean_std
from adain_live.core.vgg import ENCODER_SLICES


def content_loss(output_feat: Tensor, target: Tensor) -> Tensor:
    """Return the MSE between the output's relu4_1 features and the (constant) AdaIN target, in fp32."""
    return F.mse_loss(output_feat.float(), target.detach().float())


def style_loss(output_feats: Sequence[Tensor], style_feats: Sequence[Tensor]) -> Tensor:
    """Return the sum over layers of MSE(mean) + MSE(std) of output vs style features, in fp32."""
    if len(output_feats) != len(style_feats):
        raise ValueError(f"got {len(output_feats)} output layers and {len(style_feats)} style layers")
    total = output_feats[0].new_zeros((), dtype=torch.float32)
    for out, sty in zip(output_feats, style_feats, strict=True):
        o_mean, o_std = mean_std(out)
        s_mean, s_std = mean_std(sty.detach())
        total = total + F.mse_loss(o_mean, s_mean) + F.mse_loss(o_std, s_std)
    return total


def encode_layers(model: AdaINModel, image: Tensor) -> list[Tensor]:
    """Return relu1_1, relu2_1, relu3_1 and relu4_1 of ``image`` (layers indexed one by one: compile-friendly)."""
    feats: list[Tensor] = []
    x = image
    for start, stop in ENCODER_SLICES.values():
        for i in range(start, stop):
            x = model.encoder[i](x)
        feats.append(x)
    return feats


def adain_losses(model: AdaINModel, content: Tensor, style: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Run one training forward pass; return ``(content_loss, style_loss, output)``.

    Content and style go through the frozen encoder in one batch (no graph); the decoder maps the AdaIN target
    to an image, which is re-encoded with gradients flowing back to the decoder only.

    Parameters
    ----------
    model
        The model whose ``decoder`` is trained; its ``encoder`` must be frozen.
    content, style
        (N, 3, H, W) images in [0, 1], same shape.
    """
    n = content.shape[0]
    with torch.no_grad():
        feats = encode_layers(model, torch.cat([content, style]))
        style_feats = [f[n:] for f in feats]
        s_mean, s_std = mean_std(style_feats[-1])
        target = adain(feats[-1][:n], s_mean, s_std)
    output = model.decoder(target)
    out_feats = encode_layers(model, output)
    return content_loss(out_feats[-1], target), style_loss(out_feats, style_feats), output
