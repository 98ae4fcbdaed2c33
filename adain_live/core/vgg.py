"""Builders for the AdaIN encoder (normalised VGG-19) and decoder.

The module layout is *exactly* pytorch-AdaIN's ``net.py`` so that the canonical ``vgg_normalised.pth`` and
``decoder.pth`` state dicts load key for key: VGG conv keys ``0, 2, 5, 9, 12, 16, ...`` and decoder conv keys
``1, 5, 8, 11, 14, 18, 21, 25, 28``.
"""

from __future__ import annotations

from torch import nn

# (in, out) channels of each 3x3 conv of VGG-19, "M" for a max-pool (ceil_mode, as in the Torch7 original).
_VGG_PLAN: list[tuple[int, int] | str] = [
    (3, 64), (64, 64), "M",
    (64, 128), (128, 128), "M",
    (128, 256), (256, 256), (256, 256), (256, 256), "M",
    (256, 512), (512, 512), (512, 512), (512, 512), "M",
    (512, 512), (512, 512), (512, 512), (512, 512),
]  # fmt: skip

#: Number of modules of the full VGG that make the encoder up to relu4_1 (pytorch-AdaIN's ``[:31]``).
ENCODER_LENGTH = 31

#: Module ranges of the encoder ending at relu1_1, relu2_1, relu3_1 and relu4_1 (used by the style loss).
ENCODER_SLICES: dict[str, tuple[int, int]] = {
    "relu1_1": (0, 4),
    "relu2_1": (4, 11),
    "relu3_1": (11, 18),
    "relu4_1": (18, 31),
}

# Decoder plan: (in, out) 3x3 convs, "U" for nearest x2 upsampling; the last conv has no ReLU.
_DECODER_PLAN: list[tuple[int, int] | str] = [
    (512, 256), "U",
    (256, 256), (256, 256), (256, 256), (256, 128), "U",
    (128, 128), (128, 64), "U",
    (64, 64), (64, 3),
]  # fmt: skip


def build_vgg() -> nn.Sequential:
    """Return the full normalised VGG-19 (53 modules, up to relu5_4) with random weights."""
    layers: list[nn.Module] = [nn.Conv2d(3, 3, kernel_size=1)]
    for item in _VGG_PLAN:
        if isinstance(item, str):
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2, padding=0, ceil_mode=True))
        else:
            cin, cout = item
            layers += [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, kernel_size=3), nn.ReLU()]
    return nn.Sequential(*layers)


def build_encoder() -> nn.Sequential:
    """Return the encoder: the first 31 modules of :func:`build_vgg`, ending at relu4_1."""
    return nn.Sequential(*list(build_vgg().children())[:ENCODER_LENGTH])


def build_decoder() -> nn.Sequential:
    """Return the AdaIN decoder (mirror of the encoder, nearest upsampling) with random weights."""
    layers: list[nn.Module] = []
    last = len([p for p in _DECODER_PLAN if p != "U"]) - 1
    conv_index = 0
    for item in _DECODER_PLAN:
        if isinstance(item, str):
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
            continue
        cin, cout = item
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, kernel_size=3)]
        if conv_index != last:
            layers.append(nn.ReLU())
        conv_index += 1
    return nn.Sequential(*layers)


def conv_shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    """Return ``{state-dict key: shape}`` of a module, the structure a weights file must match."""
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}
