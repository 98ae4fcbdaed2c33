"""MicroAST (Wang et al., AAAI 2023) rebuilt from its file-format description, used as a distillation teacher.

The weights live outside the repository (``../shared/teachers/microast/``, MIT); this module only knows
their layout: four plain ``state_dict`` files (content encoder, style encoder, modulator, decoder) whose
convolutions are reflection-padded ``ConvLayer``s. Images are RGB in [0, 1] without normalisation.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from adain_live.errors import WeightsError

#: File name of each part, keyed by the attribute of :class:`MicroAST` it loads into.
TEACHER_FILES: dict[str, str] = {
    "content_encoder": "content_encoder_iter_160000.pth.tar",
    "style_encoder": "style_encoder_iter_160000.pth.tar",
    "modulator": "modulator_iter_160000.pth.tar",
    "decoder": "decoder_iter_160000.pth.tar",
}

EPS = 1e-5


class ConvLayer(nn.Module):
    """Reflection padding of ``k // 2`` then a convolution stored as ``conv_layer``."""

    def __init__(self, cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        self.pad = nn.ReflectionPad2d(k // 2)
        self.conv_layer = nn.Conv2d(cin, cout, k, stride, groups=groups)

    def forward(self, x: Tensor) -> Tensor:
        """Pad and convolve."""
        return self.conv_layer(self.pad(x))


class ResidualBlock(nn.Module):
    """64-channel residual block, plain or modulated by per-channel ``w``/``b``."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.conv1 = ConvLayer(channels, channels, 3)
        self.conv2 = ConvLayer(channels, channels, 3)

    def forward(self, x: Tensor, w: Tensor | None = None, b: Tensor | None = None) -> Tensor:
        """``x + conv2(relu(conv1(x)))``, or the modulated form when ``w`` and ``b`` are given."""
        if w is None or b is None:
            return x + self.conv2(F.relu(self.conv1(x)))
        h1 = self.conv1(x)
        h2 = F.relu(w * h1 + b * x)
        h3 = self.conv2(h2)
        return x + (w * h3 + b * h2)


class Encoder(nn.Module):
    """MicroAST encoder: returns ``[f1, f2]``, 64 channels at 1/4 resolution."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1 = nn.Sequential(
            ConvLayer(3, 16, 9), nn.ReLU(),
            ConvLayer(16, 32, 3, 2, groups=16), nn.ReLU(),
            ConvLayer(32, 32, 1), nn.ReLU(),
            ConvLayer(32, 64, 3, 2, groups=32), nn.ReLU(),
            ConvLayer(64, 64, 1), nn.ReLU(),
            ResidualBlock(),
        )  # fmt: skip
        self.enc2 = nn.Sequential(ResidualBlock())

    def forward(self, x: Tensor) -> list[Tensor]:
        """Features ``[f1, f2]`` of an image batch."""
        f1 = self.enc1(x)
        return [f1, self.enc2(f1)]


class Modulator(nn.Module):
    """Per-channel modulation weights and biases from the style features."""

    def __init__(self) -> None:
        super().__init__()
        for name in ("weight1", "bias1", "weight2", "bias2"):
            setattr(self, name, nn.Sequential(ConvLayer(64, 64, 3, groups=64), nn.AdaptiveAvgPool2d(1)))

    def forward(self, feats: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """Return ``w = [weight1(s1), weight2(s2)]`` and ``b = [bias1(s1), bias2(s2)]``."""
        s1, s2 = feats
        return [self.weight1(s1), self.weight2(s2)], [self.bias1(s1), self.bias2(s2)]


class Decoder(nn.Module):
    """MicroAST decoder: two modulated residual blocks with AdaIN, then upsampling to full resolution."""

    def __init__(self) -> None:
        super().__init__()
        self.dec1 = ResidualBlock()
        self.dec2 = ResidualBlock()
        self.dec3 = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            ConvLayer(64, 32, 3, groups=32), nn.ReLU(),
            ConvLayer(32, 32, 1), nn.ReLU(),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            ConvLayer(32, 16, 3, groups=16), nn.ReLU(),
            ConvLayer(16, 16, 1), nn.ReLU(),
            ConvLayer(16, 3, 9),
        )  # fmt: skip

    def forward(
        self, content: list[Tensor], style: list[Tensor], w: list[Tensor], b: list[Tensor], alpha: Tensor
    ) -> Tensor:
        """Decode content features restyled by the style features; ``alpha`` broadcasts as (N, 1, 1, 1)."""
        c1, c2 = content
        del c1  # the decoder only uses the deeper content features
        s1, s2 = style
        t = alpha * teacher_adain(c2, s2) + (1 - alpha) * c2
        u = self.dec1(t, w[1], b[1])
        v = alpha * teacher_adain(u, s1) + (1 - alpha) * u
        y = self.dec2(v, w[0], b[0])
        return self.dec3(y)


def teacher_adain(x: Tensor, y: Tensor) -> Tensor:
    """AdaIN with the unbiased variance plus 1e-5 under the square root (the teacher's definition), in fp32."""
    n, c = x.shape[:2]
    xf, yf = x.reshape(n, c, -1).float(), y.reshape(n, c, -1).float()
    x_mean, y_mean = xf.mean(2).view(n, c, 1, 1), yf.mean(2).view(n, c, 1, 1)
    x_std = (xf.var(2) + EPS).sqrt().view(n, c, 1, 1)
    y_std = (yf.var(2) + EPS).sqrt().view(n, c, 1, 1)
    return ((xf.view_as(x) - x_mean) / x_std * y_std + y_mean).to(x.dtype)


class MicroAST(nn.Module):
    """The whole teacher: ``forward(content, style, alpha) -> stylized`` in [0, 1].

    Content and style images may have different sizes; both sides of the content should be multiples of 4
    for the output to match its size exactly (other sizes are resized back by :meth:`forward`).
    """

    def __init__(self) -> None:
        super().__init__()
        self.content_encoder = Encoder()
        self.style_encoder = Encoder()
        self.modulator = Modulator()
        self.decoder = Decoder()

    def forward(self, content: Tensor, style: Tensor, alpha: float | Tensor = 1.0) -> Tensor:
        """Stylize ``content`` (N, 3, H, W) with ``style`` (N or 1, 3, h, w); ``alpha`` scalar or (N,)."""
        a = torch.as_tensor(alpha, dtype=content.dtype, device=content.device).reshape(-1, 1, 1, 1)
        c_feats = self.content_encoder(content)
        s_feats = self.style_encoder(style)
        if s_feats[0].shape[0] != c_feats[0].shape[0]:
            s_feats = [f.expand(c_feats[0].shape[0], -1, -1, -1) for f in s_feats]
        w, b = self.modulator(s_feats)
        out = self.decoder(c_feats, s_feats, w, b, a)
        if out.shape[-2:] != content.shape[-2:]:
            out = F.interpolate(out, size=content.shape[-2:], mode="bilinear", align_corners=False)
        return out.clamp(0.0, 1.0)


def load_teacher(folder: str | Path, device: torch.device | str = "cpu") -> MicroAST:
    """Load the four MicroAST files from ``folder`` into a frozen :class:`MicroAST` in eval mode.

    Raises
    ------
    WeightsError
        When a file is missing, unreadable, or its keys/shapes do not match the described architecture.
    """
    folder = Path(folder)
    model = MicroAST()
    for part, filename in TEACHER_FILES.items():
        path = folder / filename
        if not path.is_file():
            raise WeightsError(f"teacher file {path} is missing; point --teacher at the MicroAST folder")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad file for the user
            raise WeightsError(f"cannot read teacher file {path}: {exc}") from None
        _check_state(getattr(model, part), state, path)
        getattr(model, part).load_state_dict(state)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval().to(device)


def _check_state(module: nn.Module, state: object, path: Path) -> None:
    """Raise :class:`WeightsError` unless ``state`` has exactly the keys and shapes of ``module``."""
    if not isinstance(state, dict):
        raise WeightsError(f"teacher file {path} is not a state_dict (got {type(state).__name__})")
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise WeightsError(f"teacher file {path} does not match MicroAST: missing {missing[:3]}, "
                           f"unexpected {extra[:3]}; is it the right file?")
    for key, shape in expected.items():
        value = state[key]
        if not isinstance(value, Tensor) or tuple(value.shape) != shape:
            got = tuple(value.shape) if isinstance(value, Tensor) else type(value).__name__
            raise WeightsError(f"teacher file {path}: {key} has shape {got}, expected {shape}")
        if not torch.isfinite(value).all():
            raise WeightsError(f"teacher file {path}: {key} contains NaN or infinity")
