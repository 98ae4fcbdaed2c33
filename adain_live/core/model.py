"""The AdaIN model: fixed encoder to relu4_1, AdaIN on cached style statistics, trained decoder."""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adain_live.core.codes import StyleCode
from adain_live.core.color import preserve_content_color
from adain_live.core.fast import FastAdaIN
from adain_live.core.interface import StyleModel
from adain_live.core.sizing import MIN_SIDE, enlarge, restore_size
from adain_live.core.stats import StyleStats, hooked, masked_mean_std, mean_std
from adain_live.core.vgg import ENCODER_SLICES, build_decoder, build_encoder

__all__ = ["MIN_SIDE", "AdaINModel"]


class AdaINModel(StyleModel):
    """The AdaIN-VGG family: encoder (normalised VGG-19 to relu4_1) + decoder.

    Its style code is :class:`StyleStats` (relu4_1 mean/std, 512 + 512 floats).

    Used for the canonical ``adain-vgg19`` pair (bit-faithful to pytorch-AdaIN) and ``adain-live-student``.
    Images are (N, 3, H, W) RGB in [0, 1] in any float dtype; they are cast to the model's dtype. Outputs have
    exactly the input's height and width, whatever they are (the decoder's multiple-of-8 output is cropped).
    """

    family: ClassVar[str] = "adain-vgg"
    code_type: ClassVar[type[StyleCode]] = StyleStats
    tiles: ClassVar[bool] = True

    def __init__(self, encoder: nn.Sequential | None = None, decoder: nn.Sequential | None = None) -> None:
        super().__init__()
        self.encoder = encoder if encoder is not None else build_encoder()
        self.decoder = decoder if decoder is not None else build_decoder()
        for p in self.encoder.parameters():
            p.requires_grad_(False)

    @classmethod
    def random(cls, seed: int = 0) -> AdaINModel:
        """A model with seeded random weights of the real shapes (tests, benchmarks).

        He-initialised so activations keep their scale through the 18 convolutions and outputs span [0, 1]
        (PyTorch's default init shrinks them to a near-constant image).
        """
        gen = torch.Generator().manual_seed(seed)
        model = cls().eval()
        with torch.no_grad():
            for conv in (m for m in model.modules() if isinstance(m, nn.Conv2d)):
                fan_in = conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1]
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if conv.bias is not None:
                    conv.bias.zero_()
            last = model.decoder[-1]
            assert isinstance(last, nn.Conv2d)
            last.weight.mul_(0.1)
            if last.bias is not None:
                last.bias.fill_(0.5)
        return model

    # --- encoder ---------------------------------------------------------------------------------------
    def encode(self, image: Tensor) -> Tensor:
        """relu4_1 features of ``image`` in the model's dtype."""
        return self.encoder(image.to(self.dtype))

    def encode_layers(self, image: Tensor) -> list[Tensor]:
        """relu1_1, relu2_1, relu3_1 and relu4_1 features (for the training losses)."""
        feats: list[Tensor] = []
        x = image.to(self.dtype)
        for start, stop in ENCODER_SLICES.values():
            x = self.encoder[start:stop](x)
            feats.append(x)
        return feats

    def style_stats(self, style: Tensor) -> StyleStats:
        """Compute a style's statistics once (fp32, on the model's device). ``style`` is (1, 3, H, W)."""
        if style.dim() != 4 or style.shape[0] != 1:
            raise ValueError(f"style_stats takes one image (1, 3, H, W), got {tuple(style.shape)}")
        feat = self.encode(enlarge(style))
        mean, std = mean_std(feat)
        return StyleStats(mean.view(-1), std.view(-1))

    def encode_style(self, style: Tensor) -> StyleStats:
        """The style code: relu4_1 mean/std of one image (1, 3, H, W), fp32 (same as :meth:`style_stats`)."""
        return self.style_stats(style)

    def frame_net(self) -> FastAdaIN:
        """The inference-only network (:class:`FastAdaIN`, converted from these weights, same device/dtype)."""
        return FastAdaIN.from_model(self)

    # --- content path ----------------------------------------------------------------------------------
    def stylize(
        self,
        content: Tensor,
        style: StyleCode,
        alpha: float = 1.0,
        *,
        mask: Tensor | None = None,
        background: StyleCode | None = None,
        preserve_color: bool = False,
    ) -> Tensor:
        """Stylize a batch of content images with cached style statistics.

        Parameters
        ----------
        content
            (N, 3, H, W) RGB in [0, 1].
        style
            Statistics of the (possibly mixed) style; for a mask, the foreground style.
        alpha
            Content-style trade-off in [0, 1]: 0 reconstructs the content, 1 is full style.
        mask
            Optional (N or 1, 1, H, W) weights in [0, 1]: where 1, ``style`` is used, where 0 ``background``.
        background
            Style statistics for the mask's background (required with ``mask``).
        preserve_color
            Keep the content's colours, taking only the stylized luminance.

        Returns
        -------
        Tensor
            (N, 3, H, W) RGB in [0, 1], in the model's dtype.
        """
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        h, w = content.shape[-2:]
        if not isinstance(style, StyleStats) or not (background is None or isinstance(background, StyleStats)):
            raise TypeError(f"{self.family} needs StyleStats codes, got {type(style).__name__}")
        x = enlarge(content.to(self.dtype))
        feat = self.encoder(x)
        target = self._adain_target(feat, style, mask, background)
        if alpha < 1.0:
            target = alpha * target + (1.0 - alpha) * feat.float()
        out = self.decoder(target.to(self.dtype))
        out = restore_size(out, x.shape[-2:], (h, w))
        if preserve_color:
            out = preserve_content_color(out, content.to(out.dtype))
        return out.clamp(0.0, 1.0)

    def _adain_target(
        self, feat: Tensor, style: StyleStats, mask: Tensor | None, background: StyleStats | None
    ) -> Tensor:
        s_mean, s_std = style.to(feat.device).as_4d()
        if mask is None:
            c_mean, c_std = hooked(self.content_hook, "relu4_1", *mean_std(feat))
            return (feat.float() - c_mean) / c_std * s_std + s_mean
        if background is None:
            raise ValueError("a mask needs a background style as well as a foreground style")
        m = F.interpolate(mask.float().to(feat.device), size=feat.shape[-2:], mode="bilinear",
                          align_corners=False, antialias=True).clamp(0, 1)
        hard = (m >= 0.5).float()
        b_mean, b_std = background.to(feat.device).as_4d()
        fg_mean, fg_std = hooked(self.content_hook, "relu4_1/fg", *masked_mean_std(feat, hard))
        bg_mean, bg_std = hooked(self.content_hook, "relu4_1/bg", *masked_mean_std(feat, 1.0 - hard))
        f = feat.float()
        fg = (f - fg_mean) / fg_std * s_std + s_mean
        bg = (f - bg_mean) / bg_std * b_std + b_mean
        return m * fg + (1.0 - m) * bg
