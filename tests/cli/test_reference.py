"""Our CLI must reproduce pytorch-AdaIN's test.py maths (fp32, CPU, native sizes) pixel for pixel.

The random model here is given a high-contrast output (std ≈ 35/255) so that a rounding or statistics fault is
visible: truncating instead of rounding moves ~half of all pixels by one level, a biased variance changes the
statistics of the small feature maps by several per cent. ≥ 99 % of pixels must be *identical* (the rest may
differ by one level where fp32 sums are ordered differently) and none by more than 1/255.

The reference below is an independent transcription of pytorch-AdaIN's ``net.py``/``function.py``/``test.py``
(module lists, ``calc_mean_std``, ``adaptive_instance_normalization``, ``ToTensor`` and ``save_image``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torchvision import transforms
from torchvision.utils import save_image

from adain_live.assets import DEMO_CONTENT, STYLES_DIR
from adain_live.cli import main
from adain_live.core.model import AdaINModel
from adain_live.core.vgg import build_vgg


def _reference_vgg() -> nn.Sequential:
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(cin, cout, (3, 3)), nn.ReLU()]

    def pool() -> nn.Module:
        return nn.MaxPool2d((2, 2), (2, 2), (0, 0), ceil_mode=True)

    layers: list[nn.Module] = [nn.Conv2d(3, 3, (1, 1))]
    layers += block(3, 64) + block(64, 64) + [pool()] + block(64, 128) + block(128, 128) + [pool()]
    layers += block(128, 256) + block(256, 256) * 1 + block(256, 256) + block(256, 256) + [pool()]
    layers += block(256, 512) + block(512, 512) + block(512, 512) + block(512, 512) + [pool()]
    layers += block(512, 512) + block(512, 512) + block(512, 512) + block(512, 512)
    return nn.Sequential(*layers)


def _reference_decoder() -> nn.Sequential:
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(cin, cout, (3, 3)), nn.ReLU()]

    up = nn.Upsample(scale_factor=2, mode="nearest")
    layers = block(512, 256) + [up] + block(256, 256) + block(256, 256) + block(256, 256) + block(256, 128)
    layers += [nn.Upsample(scale_factor=2, mode="nearest")] + block(128, 128) + block(128, 64)
    layers += [nn.Upsample(scale_factor=2, mode="nearest")] + block(64, 64)
    layers += [nn.ReflectionPad2d((1, 1, 1, 1)), nn.Conv2d(64, 3, (3, 3))]
    return nn.Sequential(*layers)


def _calc_mean_std(feat: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    n, c = feat.size()[:2]
    feat_var = feat.view(n, c, -1).var(dim=2) + eps
    return feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1), feat_var.sqrt().view(n, c, 1, 1)


def _adain(content_feat: torch.Tensor, style_feat: torch.Tensor) -> torch.Tensor:
    size = content_feat.size()
    style_mean, style_std = _calc_mean_std(style_feat)
    content_mean, content_std = _calc_mean_std(content_feat)
    normalized = (content_feat - content_mean.expand(size)) / content_std.expand(size)
    return normalized * style_std.expand(size) + style_mean.expand(size)


def _reference_output(vgg_path: Path, dec_path: Path, content: Path, style: Path, alpha: float,
                      out: Path) -> np.ndarray:
    vgg, decoder = _reference_vgg(), _reference_decoder()
    vgg.load_state_dict(torch.load(vgg_path, weights_only=True))
    decoder.load_state_dict(torch.load(dec_path, weights_only=True))
    vgg = nn.Sequential(*list(vgg.children())[:31]).eval()
    decoder.eval()
    tf = transforms.Compose([transforms.ToTensor()])
    c = tf(Image.open(content).convert("RGB")).unsqueeze(0)
    s = tf(Image.open(style).convert("RGB")).unsqueeze(0)
    with torch.no_grad():
        content_f, style_f = vgg(c), vgg(s)
        feat = _adain(content_f, style_f)
        feat = feat * alpha + content_f * (1 - alpha)
        output = decoder(feat)
    save_image(output, str(out))
    return np.asarray(Image.open(out).convert("RGB"))


def _crop_to_multiple_of_8(src: Path, dst: Path, box: tuple[int, int]) -> Path:
    Image.open(src).convert("RGB").crop((0, 0, *box)).save(dst)
    return dst


@pytest.fixture(scope="module")
def contrasty_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Random canonical-layout weights whose decoder output spans much of [0, 1] (see the module docstring)."""
    d = tmp_path_factory.mktemp("contrasty")
    model = AdaINModel.random(seed=1234)
    with torch.no_grad():
        last = model.decoder[-1]
        assert isinstance(last, nn.Conv2d)
        last.weight.mul_(5.0)
    vgg = build_vgg()
    vgg.load_state_dict({**vgg.state_dict(), **model.encoder.state_dict()})
    torch.save(vgg.state_dict(), d / "vgg_normalised.pth")
    torch.save(model.decoder.state_dict(), d / "decoder.pth")
    return d / "vgg_normalised.pth", d / "decoder.pth"


@pytest.mark.parametrize(("alpha", "box", "style_box"), [
    (1.0, (200, 136), (160, 120)),
    (0.6, (203, 141), (160, 120)),
    (1.0, (27, 21), (30, 22)),  # tiny maps: the unbiased variance matters (4×3 relu4_1 positions)
])
def test_matches_pytorch_adain_test_py(tmp_path: Path, contrasty_files: tuple[Path, Path], alpha: float,
                                       box: tuple[int, int], style_box: tuple[int, int]) -> None:
    vgg_path, dec_path = contrasty_files
    content = _crop_to_multiple_of_8(DEMO_CONTENT, tmp_path / "content.png", box)
    style = _crop_to_multiple_of_8(STYLES_DIR / "great_wave.jpg", tmp_path / "style.png", style_box)
    ref = _reference_output(vgg_path, dec_path, content, style, alpha, tmp_path / "ref.png")
    ours_path = tmp_path / "ours.png"
    rc = main(["stylize", str(content), "-s", str(style), "--alpha", str(alpha), "--size", "0", "--style-size", "0",
               "--vgg", str(vgg_path), "--decoder", str(dec_path), "--device", "cpu", "--precision", "fp32",
               "-o", str(ours_path)])
    assert rc == 0
    ours = np.asarray(Image.open(ours_path).convert("RGB"))
    assert ours.shape == (box[1], box[0], 3)  # exactly the input size
    ref = ref[: box[1], : box[0]]  # the reference decoder pads to a multiple of 8
    diff = np.abs(ours.astype(int) - ref.astype(int))
    exact = (diff == 0).all(axis=-1).mean()
    if exact < 0.99 or diff.max() > 1:
        Image.fromarray(np.concatenate([ours, ref], axis=1)).save(tmp_path / "ours_vs_ref.png")
    where = f"see {tmp_path / 'ours_vs_ref.png'}"
    assert exact >= 0.99, f"only {exact:.4%} of pixels identical to the reference ({where})"
    assert diff.max() <= 1, f"a pixel differs by {diff.max()}/255 ({where})"
    assert ref.std() > 25  # a high-contrast image: the comparison can see rounding and statistics faults
