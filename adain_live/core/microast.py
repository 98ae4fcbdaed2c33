"""The MicroAST model family behind the model interface.

MicroAST: Wang et al., "MicroAST: Towards Super-Fast Ultra-Resolution Arbitrary Style Transfer", AAAI 2023;
weights from EndyWon/MicroAST at commit 5a6c9050, MIT.

Content encoder → AdaIN to the style's level-2 statistics → residual block modulated by the style's (w2, b2)
→ AdaIN to the level-1 statistics → block modulated by (w1, b1) → decoder (×4 upsampling). The style code
(:class:`MicroASTCode`) holds all the style encoder and modulator produce: mean/std of both style feature
levels and the four modulation vectors — 8 × 64 floats. The style encoder and modulator run once per style.

Mixing codes (:func:`~adain_live.core.codes.mix_codes`): the level-2 AdaIN target is affine in its (σ, μ), so
for that first AdaIN, mixing statistics equals mixing its outputs *exactly*; everything after it is
approximate — the modulation vectors (w, b) enter the residual blocks non-linearly (through a ReLU and
products with the features), and the level-1 AdaIN normalises features that already depend on the mixed
code. Mixes look like a blend of the styles but are not a pixel blend of the single-style results.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adain_live.core.checkpoint import read_state_dict, validate_state
from adain_live.core.codes import StyleCode
from adain_live.core.color import preserve_content_color
from adain_live.core.interface import FrameNet, StyleModel
from adain_live.core.microast_net import CHANNELS, Code4d, ConvLayer, Decoder, Encoder, Modulator
from adain_live.core.sizing import enlarge, restore_size
from adain_live.core.stats import mean_std
from adain_live.core.vgg import conv_shapes
from adain_live.errors import WeightsError

#: The four parts, in loading order: attribute of :class:`MicroASTModel` → what it is called in messages.
PARTS: dict[str, str] = {
    "content_encoder": "content encoder",
    "style_encoder": "style encoder",
    "modulator": "modulator",
    "decoder": "decoder",
}


@dataclass(frozen=True)
class MicroASTCode(StyleCode):
    """MicroAST's style code: per-channel (64,) fp32 vectors.

    ``s1_*``/``s2_*``: mean and std (unbiased variance + 1e-5) of the style encoder's two feature levels;
    ``w1, b1, w2, b2``: the modulator's outputs. See the module docstring for which mixes are exact.
    """

    family: ClassVar[str] = "microast"
    positive: ClassVar[frozenset[str]] = frozenset({"s1_std", "s2_std"})

    s1_mean: Tensor
    s1_std: Tensor
    s2_mean: Tensor
    s2_std: Tensor
    w1: Tensor
    b1: Tensor
    w2: Tensor
    b2: Tensor

    def as_4d(self) -> Code4d:
        """The vectors shaped (1, C, 1, 1), in field order."""
        v = [t.view(1, -1, 1, 1) for t in self.tensors()]
        return (v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])


class MicroASTFrame(FrameNet):
    """Per-frame MicroAST: content encoder + decoder, ``net(x, *code.tensors(), alpha, preserve_color)``."""

    code_len = 8

    def __init__(self, encoder: Encoder, decoder: Decoder) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def code_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Eight (64,) vectors, in :class:`MicroASTCode` order."""
        return ((CHANNELS,),) * len(MicroASTCode.names())

    def forward(self, x: Tensor, s1_mean: Tensor, s1_std: Tensor, s2_mean: Tensor, s2_std: Tensor, w1: Tensor,
                b1: Tensor, w2: Tensor, b2: Tensor, alpha: Tensor, preserve_color: bool = False) -> Tensor:
        """Stylize (N, 3, H, W) in [0, 1] with the code's (C,) vectors and α (0-d); same size out, in [0, 1]."""
        code = tuple(t.view(1, -1, 1, 1) for t in (s1_mean, s1_std, s2_mean, s2_std, w1, b1, w2, b2))
        xin = enlarge(x.to(self.dtype))
        c2 = self.encoder(xin)[1]
        out = self.decoder.decode(c2, code, alpha, hook=self.content_hook)  # type: ignore[arg-type]  # 8 tensors
        out = restore_size(out, xin.shape[-2:], x.shape[-2:])
        if preserve_color:
            out = preserve_content_color(out, x.to(out.dtype))
        return out.clamp(0.0, 1.0)


class MicroASTModel(StyleModel):
    """MicroAST behind the model interface (see the module docstring).

    Any content size works: the network runs on the image as given (as the upstream test script does) and
    its output, ``4 * ceil(H / 4)`` by ``4 * ceil(W / 4)``, is cropped to H×W; sides below 16 px are enlarged
    first and shrunk back. Tiling is not implemented (its two AdaINs need whole-frame statistics at two
    depths): :meth:`FrameNet.forward_tiled` runs the whole frame, whose activations are small (16–64 channels).
    """

    family: ClassVar[str] = "microast"
    code_type: ClassVar[type[StyleCode]] = MicroASTCode
    tiles: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.content_encoder = Encoder()
        self.style_encoder = Encoder()
        self.modulator = Modulator()
        self.decoder = Decoder()
        self.requires_grad_(False)

    @classmethod
    def random(cls, seed: int = 0) -> MicroASTModel:
        """A model of the real shapes with seeded random weights whose outputs vary over [0, 1] (tests)."""
        gen = torch.Generator().manual_seed(seed)
        model = cls().eval()
        with torch.no_grad():
            for conv in (m for m in model.modules() if isinstance(m, nn.Conv2d)):
                fan_in = conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1]
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
                if conv.bias is not None:
                    conv.bias.copy_(torch.randn(conv.bias.shape, generator=gen) * 0.05)
            for branch, value in ((model.modulator.weight1, 1.0), (model.modulator.weight2, 1.0)):
                conv = _branch_conv(branch)
                conv.weight.mul_(0.1)
                assert conv.bias is not None
                conv.bias.add_(value)
            last = _branch_conv(model.decoder.dec3)
            last.weight.mul_(0.1)
            assert last.bias is not None
            last.bias.fill_(0.5)
        return model

    # --- per-style work --------------------------------------------------------------------------------
    def encode_style(self, style: Tensor) -> MicroASTCode:
        """Style code of one image (1, 3, H, W) in [0, 1]: feature statistics and modulation, fp32."""
        if style.dim() != 4 or style.shape[0] != 1:
            raise ValueError(f"encode_style takes one image (1, 3, H, W), got {tuple(style.shape)}")
        feats = self.style_encoder(enlarge(style.to(self.dtype)))
        w, b = self.modulator(feats)
        (s1m, s1s), (s2m, s2s) = mean_std(feats[0]), mean_std(feats[1])
        vecs = (s1m, s1s, s2m, s2s, w[0], b[0], w[1], b[1])
        return MicroASTCode(*(v.float().reshape(-1) for v in vecs))

    # --- per-frame work --------------------------------------------------------------------------------
    def stylize(self, content: Tensor, code: StyleCode, alpha: float = 1.0, *, mask: Tensor | None = None,
                background: StyleCode | None = None, preserve_color: bool = False) -> Tensor:
        """Stylize a content batch (see :meth:`StyleModel.stylize`); α = 0 keeps the modulation, drops AdaIN."""
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if not isinstance(code, MicroASTCode) or not (background is None or isinstance(background, MicroASTCode)):
            raise TypeError(f"{self.family} needs MicroASTCode codes, got {type(code).__name__}")
        if mask is not None and background is None:
            raise ValueError("a mask needs a background style as well as a foreground style")
        x = enlarge(content.to(self.dtype))
        c2 = self.content_encoder(x)[1]
        dev = c2.device
        a = torch.tensor(float(alpha), device=dev)
        m = None
        if mask is not None:
            m = F.interpolate(mask.float().to(dev), size=c2.shape[-2:], mode="bilinear", align_corners=False,
                              antialias=True).clamp(0, 1)
        bg = background.to(dev).as_4d() if background is not None and m is not None else None
        out = self.decoder.decode(c2, code.to(dev).as_4d(), a, m, bg, self.content_hook)
        out = restore_size(out, x.shape[-2:], content.shape[-2:])
        if preserve_color:
            out = preserve_content_color(out, content.to(out.dtype))
        return out.clamp(0.0, 1.0)

    def stylize_images(self, content: Tensor, style: Tensor, alpha: float | Tensor = 1.0) -> Tensor:
        """Upstream-style call for training: content (N, 3, H, W), styles (N or 1, 3, h, w), α scalar or (N,).

        Same maths as :meth:`stylize` with each sample's own style; output cropped to the content's size.
        """
        c_feats = self.content_encoder(content.to(self.dtype))
        s_feats = self.style_encoder(style.to(self.dtype))
        if s_feats[0].shape[0] != c_feats[0].shape[0]:
            s_feats = [f.expand(c_feats[0].shape[0], -1, -1, -1) for f in s_feats]
        w, b = self.modulator(s_feats)
        out = self.decoder(c_feats, s_feats, w, b, alpha)
        return out[..., : content.shape[-2], : content.shape[-1]].clamp(0.0, 1.0)

    def frame_net(self) -> MicroASTFrame:
        """The per-frame network (shares this model's content encoder and decoder)."""
        return MicroASTFrame(self.content_encoder, self.decoder).eval()


def _branch_conv(seq: nn.Sequential) -> nn.Conv2d:
    """The last :class:`ConvLayer`'s conv of a Sequential."""
    layer = [m for m in seq if isinstance(m, ConvLayer)][-1]
    return layer.conv_layer


def part_shapes() -> dict[str, dict[str, tuple[int, ...]]]:
    """``{part: {state-dict key: shape}}`` that the four weight files must match."""
    model = MicroASTModel()
    return {part: conv_shapes(getattr(model, part)) for part in PARTS}


def load_microast(files: Mapping[str, str | os.PathLike[str]]) -> MicroASTModel:
    """Load an fp32 :class:`MicroASTModel` from one file per part (``.safetensors`` or upstream ``.pth.tar``).

    Raises
    ------
    WeightsError
        A part missing from ``files`` or on disk, an unreadable file, or keys/shapes that do not fit.
    """
    missing = [PARTS[p] for p in PARTS if p not in files]
    if missing:
        raise WeightsError(f"MicroAST needs four files; the {', '.join(missing)} file is missing")
    model = MicroASTModel()
    shapes = part_shapes()
    for part, what in PARTS.items():
        state = read_state_dict(files[part])
        validate_state(state, shapes[part], f"MicroAST {what}", files[part], hint=_guess_part)
        getattr(model, part).load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()


def _guess_part(state: Mapping[str, Tensor]) -> str:
    """A hint naming the MicroAST part a misplaced file looks like."""
    for part, shapes in part_shapes().items():
        if set(state) == set(shapes):
            what = "an encoder" if part.endswith("encoder") else f"the {PARTS[part]}"
            return f"; it looks like {what} file of MicroAST"
    return "; it is not a MicroAST weights file"
