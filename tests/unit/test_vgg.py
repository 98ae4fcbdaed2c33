from __future__ import annotations

import torch

from adain_live.core.vgg import ENCODER_LENGTH, build_decoder, build_encoder, build_vgg


def _conv_keys(module: torch.nn.Module) -> list[int]:
    return sorted({int(k.split(".")[0]) for k in module.state_dict()})


def test_vgg_conv_keys_match_canonical_file() -> None:
    assert _conv_keys(build_vgg()) == [0, 2, 5, 9, 12, 16, 19, 22, 25, 29, 32, 35, 38, 42, 45, 48, 51]
    assert len(build_vgg()) == 53


def test_decoder_conv_keys_match_canonical_file() -> None:
    assert _conv_keys(build_decoder()) == [1, 5, 8, 11, 14, 18, 21, 25, 28]


def test_encoder_is_vgg_prefix_to_relu4_1() -> None:
    enc = build_encoder()
    assert len(enc) == ENCODER_LENGTH
    assert isinstance(enc[-1], torch.nn.ReLU)
    assert enc[29].out_channels == 512  # relu4_1 follows conv4_1
    assert all(m.ceil_mode for m in enc if isinstance(m, torch.nn.MaxPool2d))


def test_shapes_through_the_network() -> None:
    x = torch.rand(1, 3, 37, 50)
    f = build_encoder()(x)
    assert f.shape == (1, 512, 5, 7)  # ceil(37/8), ceil(50/8)
    assert build_decoder()(f).shape == (1, 3, 40, 56)
