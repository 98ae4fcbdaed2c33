"""An inference-only form of the AdaIN network, built from the canonical :class:`AdaINModel` weights.

Differences from the canonical layout, all exact up to floating-point rounding:

* the encoder's 1x1 colour conv is folded into the first 3x3 conv (a pointwise affine map commutes with
  reflection padding, so ``W3 * pad(A x + a) + b == (W3 A) * pad(x) + (b + sum W3 a)``);
* ``ReflectionPad2d(1) + Conv2d(pad=0)`` becomes one ``Conv2d(padding=1, padding_mode="reflect")``, which
  ``torch.compile`` can fuse (the eager cost is the same);
* ReLUs run in place, and AdaIN, the α blend, cropping and clamping live in one ``forward`` that takes the
  style statistics and α as *tensors*, so a compiled graph or a CUDA graph survives style and α changes.

The statistics and the AdaIN maths stay in fp32 whatever the network's dtype. :func:`stylize_tiled` runs the
same network in overlapping tiles so very large frames (4K) fit in a small GPU.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from adain_live.core.color import preserve_content_color
from adain_live.core.interface import FrameNet
from adain_live.core.sizing import MIN_SIDE, enlarge, restore_size
from adain_live.core.stats import EPS, ContentStatsHook, hooked, mean_std

#: Encoder downsampling factor (three ceil-mode max-pools).
STRIDE = 8
#: Halo in input pixels around an encoder tile: above the relu4_1 receptive-field radius (~37 px), multiple of 8.
ENCODER_HALO = 64
#: Halo in relu4_1 pixels around a decoder tile: above the decoder's receptive-field radius (~4 px).
DECODER_HALO = 6


def _reflect_conv(conv: nn.Conv2d, weight: Tensor | None = None, bias: Tensor | None = None) -> nn.Conv2d:
    """A 3x3 conv with built-in reflection padding, carrying ``conv``'s (or the given) weights."""
    w = conv.weight.detach() if weight is None else weight
    b = conv.bias.detach() if conv.bias is not None and bias is None else bias
    out = nn.Conv2d(w.shape[1], w.shape[0], kernel_size=(w.shape[2], w.shape[3]), padding=1, padding_mode="reflect",
                    bias=b is not None).to(device=w.device, dtype=w.dtype)
    with torch.no_grad():
        out.weight.copy_(w)
        if b is not None and out.bias is not None:
            out.bias.copy_(b)
    return out


def _fold_colour_conv(colour: nn.Conv2d, conv: nn.Conv2d) -> tuple[Tensor, Tensor]:
    """Weights of ``conv ∘ colour`` where ``colour`` is the encoder's 1x1 conv (computed in float64)."""
    a = colour.weight.detach().double()[:, :, 0, 0]  # (3, 3): [mid, in]
    a_bias = colour.bias.detach().double() if colour.bias is not None else torch.zeros(a.shape[0]).double()
    w = conv.weight.detach().double()  # (out, mid, 3, 3)
    b = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w.shape[0]).double()
    w_folded = torch.einsum("omhw,mi->oihw", w, a)
    b_folded = b + torch.einsum("omhw,m->o", w, a_bias)
    return w_folded.to(conv.weight.dtype), b_folded.to(conv.weight.dtype)


def _convert(seq: nn.Sequential, fold_first: bool) -> nn.Sequential:
    """Rewrite a canonical pad/conv/relu Sequential into reflect-padded convs (see the module docstring)."""
    mods = list(seq.children())
    out: list[nn.Module] = []
    colour: nn.Conv2d | None = None
    i = 0
    if fold_first:
        first = mods[0]
        if not (isinstance(first, nn.Conv2d) and first.kernel_size == (1, 1)):
            raise ValueError(f"expected the encoder to start with a 1x1 conv, got {first}")
        colour, i = first, 1
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.ReflectionPad2d) and i + 1 < len(mods) and isinstance(mods[i + 1], nn.Conv2d):
            conv = mods[i + 1]
            assert isinstance(conv, nn.Conv2d)
            if colour is not None:
                out.append(_reflect_conv(conv, *_fold_colour_conv(colour, conv)))
                colour = None
            else:
                out.append(_reflect_conv(conv))
            i += 2
            continue
        if isinstance(m, nn.ReLU):
            out.append(nn.ReLU(inplace=True))
        elif isinstance(m, nn.MaxPool2d | nn.Upsample):
            out.append(m)
        else:
            raise ValueError(f"unexpected module {m} at position {i}; is this the canonical AdaIN layout?")
        i += 1
    return nn.Sequential(*out)


class FastAdaIN(FrameNet):
    """Inference-only AdaIN network equivalent to :class:`AdaINModel` (see the module docstring).

    Its code arguments are the style statistics ``(mean, std)``: ``net(x, mean, std, alpha, preserve_color)``.
    """

    code_len = 2

    def __init__(self, encoder: nn.Sequential, decoder: nn.Sequential) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.requires_grad_(False)

    @classmethod
    def from_model(cls, model: nn.Module) -> FastAdaIN:
        """Build from an :class:`~adain_live.core.model.AdaINModel`'s ``encoder``/``decoder`` (its device/dtype)."""
        encoder, decoder = model.encoder, model.decoder
        if not isinstance(encoder, nn.Sequential) or not isinstance(decoder, nn.Sequential):
            raise ValueError("FastAdaIN.from_model needs a model with Sequential encoder and decoder")
        return cls(_convert(encoder, fold_first=True), _convert(decoder, fold_first=False)).eval()

    def encode(self, x: Tensor) -> Tensor:
        """relu4_1 features of RGB images in [0, 1]."""
        return self.encoder(x.to(self.dtype))

    def decode(self, target: Tensor) -> Tensor:
        """Decode (fp32 or compute-dtype) AdaIN targets into images of 8x their size (not clamped)."""
        return self.decoder(target.to(self.dtype))

    def forward(self, x: Tensor, mean: Tensor, std: Tensor, alpha: Tensor,
                preserve_color: bool = False) -> Tensor:
        """Stylize (N, 3, H, W) images in [0, 1] with style statistics (C,) and α (a 0-d tensor).

        Returns (N, 3, H, W) in [0, 1] in the network's dtype, like :meth:`AdaINModel.stylize`.
        """
        xin = enlarge(x)
        feat = self.encode(xin)
        target = _adain_blend(feat, mean, std, alpha, self.content_hook)
        out = restore_size(self.decode(target), xin.shape[-2:], x.shape[-2:])
        if preserve_color:
            out = preserve_content_color(out, x.to(out.dtype))
        return out.clamp(0.0, 1.0)

    def code_shapes(self) -> tuple[tuple[int, ...], ...]:
        """(C,) mean and (C,) std, C the channels of the encoder's output (512 for relu4_1)."""
        convs = [m for m in self.encoder.modules() if isinstance(m, nn.Conv2d)]
        c = int(convs[-1].out_channels)
        return ((c,), (c,))

    def forward_tiled(self, x: Tensor, code: tuple[Tensor, ...], alpha: Tensor, tile: int,
                      preserve_color: bool = False) -> Tensor:
        """:func:`stylize_tiled` (halo tiles; the same result as ``forward`` up to rounding)."""
        mean, std = code
        return stylize_tiled(self, x, mean, std, alpha, tile, preserve_color)


def _adain_blend(feat: Tensor, mean: Tensor, std: Tensor, alpha: Tensor,
                 hook: ContentStatsHook | None = None) -> Tensor:
    """AdaIN to (mean, std) in fp32, blended with the content features by α: ``α t + (1 - α) f``."""
    f = feat.float()
    c_mean, c_std = hooked(hook, "relu4_1", *mean_std(f, EPS))
    target = (f - c_mean) / c_std * std.view(1, -1, 1, 1) + mean.view(1, -1, 1, 1)
    a = alpha.float()
    return a * target + (1.0 - a) * f  # not lerp: α = 1 must give the target exactly, as the reference does


def _spans(n: int, tile: int, halo: int) -> list[tuple[int, int, int, int]]:
    """(core start, core stop, read start, read stop) of tiles of ``tile`` covering ``range(n)``."""
    out = []
    for start in range(0, n, tile):
        stop = min(n, start + tile)
        out.append((start, stop, max(0, start - halo), min(n, stop + halo)))
    return out


def encode_tiled(net: FastAdaIN, x: Tensor, tile: int) -> Tensor:
    """relu4_1 features of one large image, encoded in overlapping tiles of ``tile`` px (multiple of 8)."""
    if tile % STRIDE:
        raise ValueError(f"tile must be a multiple of {STRIDE}, got {tile}")
    n, _c, h, w = x.shape
    fh, fw = math.ceil(h / STRIDE), math.ceil(w / STRIDE)
    feat: Tensor | None = None
    for y0, y1, ry0, ry1 in _spans(h, tile, ENCODER_HALO):
        for x0, x1, rx0, rx1 in _spans(w, tile, ENCODER_HALO):
            f = net.encode(x[..., ry0:ry1, rx0:rx1])
            oy, ox = (y0 - ry0) // STRIDE, (x0 - rx0) // STRIDE
            th, tw = math.ceil((y1 - y0) / STRIDE), math.ceil((x1 - x0) / STRIDE)
            if feat is None:
                feat = f.new_empty((n, f.shape[1], fh, fw))
            feat[..., y0 // STRIDE: y0 // STRIDE + th, x0 // STRIDE: x0 // STRIDE + tw] = \
                f[..., oy:oy + th, ox:ox + tw]
    assert feat is not None
    return feat


def decode_tiled(net: FastAdaIN, target: Tensor, tile: int, out_dtype: torch.dtype) -> Tensor:
    """Decode AdaIN targets in overlapping tiles of ``tile`` output px (multiple of 8); output not clamped."""
    n, _c, fh, fw = target.shape
    ft = tile // STRIDE
    out = torch.empty((n, 3, fh * STRIDE, fw * STRIDE), device=target.device, dtype=out_dtype)
    for y0, y1, ry0, ry1 in _spans(fh, ft, DECODER_HALO):
        for x0, x1, rx0, rx1 in _spans(fw, ft, DECODER_HALO):
            d = net.decode(target[..., ry0:ry1, rx0:rx1])
            oy, ox = (y0 - ry0) * STRIDE, (x0 - rx0) * STRIDE
            out[..., y0 * STRIDE: y1 * STRIDE, x0 * STRIDE: x1 * STRIDE] = \
                d[..., oy:oy + (y1 - y0) * STRIDE, ox:ox + (x1 - x0) * STRIDE]
    return out


@torch.inference_mode()
def stylize_tiled(net: FastAdaIN, x: Tensor, mean: Tensor, std: Tensor, alpha: Tensor, tile: int = 1024,
                  preserve_color: bool = False) -> Tensor:
    """Like :meth:`FastAdaIN.forward` but in tiles, so peak memory depends on ``tile``, not the frame size.

    The AdaIN statistics are still those of the whole frame (computed on the assembled relu4_1 map, which is
    1/64 of the pixels), and each tile reads a halo wider than the receptive field, so the result matches the
    untiled network up to floating-point rounding.
    """
    h, w = x.shape[-2:]
    if min(h, w) < MIN_SIDE + 2 * ENCODER_HALO:
        return net(x, mean, std, alpha, preserve_color)
    feat = encode_tiled(net, x, tile)
    target = _adain_blend(feat, mean, std, alpha, net.content_hook)
    out = decode_tiled(net, target, tile, net.dtype)[..., :h, :w]
    if preserve_color:
        out = preserve_content_color(out, x.to(out.dtype))
    return out.clamp(0.0, 1.0)
