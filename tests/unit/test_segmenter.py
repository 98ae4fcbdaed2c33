from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from adain_live.core.checkpoint import save_safetensors
from adain_live.core.segmenter import VARIANTS, PersonSegmenter, _Conv, load_segmenter
from adain_live.errors import WeightsError
from adain_live.weights import SEGMENTER, segmenter_path
from adain_live.weights import load_segmenter as load_bundled

ASTRONAUT = Path(__file__).resolve().parent.parent / "data" / "astronaut.jpg"


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("size", [(144, 256), (37, 61), (360, 640), (8, 8)])
def test_random_segmenter_mask_has_input_size(variant: str, size: tuple[int, int]) -> None:
    seg = PersonSegmenter.random(variant)
    x = torch.rand(2, 3, *size)
    with torch.inference_mode():
        m = seg(x)
    assert m.shape == (2, 1, *size)
    assert float(m.min()) >= 0.0 and float(m.max()) <= 1.0
    assert float(m.std()) > 0  # not a constant: the random network reacts to the image


def test_batch_items_are_independent() -> None:
    """Batch-size-dependent convolution kernels differ by up to ~7e-4 (measured, 1 or 2 CPU threads); an item
    that leaked into another would move the mask far more."""
    seg = PersonSegmenter.random()
    x = torch.rand(3, 3, 90, 160, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        whole, single = seg(x), seg(x[1:2])
    torch.testing.assert_close(whole[1:2], single, atol=2e-3, rtol=0)


@pytest.mark.parametrize("n", [7, 8, 9, 144, 256])
@pytest.mark.parametrize("k", [3, 5])
def test_stride2_conv_uses_tf_same_geometry(n: int, k: int) -> None:
    conv = _Conv(1, 1, k, 2)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 0, 0] = 1.0  # picks the top-left tap: shows where the padding went
        conv.bias.zero_()
    x = torch.arange(n * n, dtype=torch.float32).view(1, 1, n, n) + 1
    with torch.no_grad():
        y = conv(x)
    assert y.shape[-1] == -(-n // 2)
    pad_before = max((-(-n // 2) - 1) * 2 + k - n, 0) // 2  # TF puts the odd pixel after
    assert float(y[0, 0, 1, 1]) == float(x[0, 0, 2 - pad_before, 2 - pad_before])


def test_wrong_weights_file_is_refused(tmp_path: Path) -> None:
    state = PersonSegmenter.random().net.state_dict()
    state["stem.weight"] = state["stem.weight"][:8]
    path = save_safetensors(state, tmp_path / "bad.safetensors")
    with pytest.raises(WeightsError):
        load_segmenter(path, "general")


def test_converted_weights_round_trip(tmp_path: Path) -> None:
    seg = PersonSegmenter.random("general", seed=3)
    path = save_safetensors(seg.net.state_dict(), tmp_path / "s.safetensors", dtype=torch.float16)
    loaded = load_segmenter(path, "general")
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():
        torch.testing.assert_close(loaded(x), seg.half().float()(x), atol=1e-5, rtol=0)


def test_damaged_bundled_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = segmenter_path("general").parent
    dst = tmp_path / SEGMENTER.folder
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    data = bytearray((dst / SEGMENTER.file("general")).read_bytes())
    data[-1] ^= 1
    (dst / SEGMENTER.file("general")).write_bytes(bytes(data))
    monkeypatch.setenv("ADAIN_LIVE_MODELS", str(tmp_path))
    with pytest.raises(WeightsError, match="sha256"):
        load_bundled("general")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_real_weights_find_the_astronaut(variant: str) -> None:
    img = np.asarray(Image.open(ASTRONAUT).convert("RGB"))
    x = torch.from_numpy(img.copy()).permute(2, 0, 1)[None].float() / 255.0
    with torch.inference_mode():
        m = load_bundled(variant)(x)[0, 0].numpy()
    h, w = m.shape
    assert m[int(0.15 * h), int(0.5 * w)] > 0.9   # face
    assert m[int(0.6 * h), int(0.35 * w)] > 0.9   # chest
    # The top corners are flag and background; the bottom ones are the suit, which reaches the frame's edge.
    assert m[2, 2] < 0.1 and m[2, w - 3] < 0.1
    assert 0.3 < float((m > 0.5).mean()) < 0.7
