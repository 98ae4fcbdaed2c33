"""The phase-split convolution is the plain convolution: every phase count, kernel size and frame size."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from adain_live.core.microast import MicroASTModel
from adain_live.core.polyphase import polyphase_conv2d


@pytest.mark.parametrize("s", [2, 3])
@pytest.mark.parametrize(("k", "h", "w"), [(9, 24, 40), (9, 37, 53), (3, 5, 7), (5, 16, 17)])
def test_it_equals_conv2d(s: int, k: int, h: int, w: int) -> None:
    g = torch.Generator().manual_seed(k * 100 + h)
    x = torch.randn(2, 16, h + k - 1, w + k - 1, generator=g)
    weight, bias = torch.randn(3, 16, k, k, generator=g), torch.randn(3, generator=g)
    ref = F.conv2d(x, weight, bias)
    out = polyphase_conv2d(x, weight, bias, s)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(polyphase_conv2d(x, weight, None, s), F.conv2d(x, weight), atol=1e-4, rtol=1e-4)


def test_microast_last_layer_uses_it_on_the_cpu_with_the_same_result() -> None:
    layer = MicroASTModel.random(seed=1).decoder.dec3[-1]
    assert layer.phases == 2
    x = torch.rand(1, 16, 30, 44)
    plain = layer.conv_layer(layer.pad(x))
    torch.testing.assert_close(layer(x), plain, atol=1e-4, rtol=1e-4)
    layer.phases = 1
    assert torch.equal(layer(x), plain)
