"""``--model microast`` must reproduce the original MicroAST test script's maths to within 2/255.

The reference below is an independent transcription of EndyWon/MicroAST's ``test_microAST.py`` at native sizes
(``--content_size 0 --style_size 0``): ``ToTensor``, its ``TestNet`` forward written out functionally from the
four state dicts (reflection-padded convs, the two encoders, modulator, decoder with AdaIN + modulated residual
blocks, bilinear upsampling) and torchvision's ``save_image`` rounding. It runs with random weights of the real
architecture (always) and with the real weights (when ``../shared/teachers/microast`` is present).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import save_file
from torch import Tensor

from adain_live.assets import DEMO_CONTENT, STYLES_DIR
from adain_live.cli import main
from adain_live.core.microast import MicroASTModel
from adain_live.weights import MICROAST

REPO = Path(__file__).resolve().parents[2]
UPSTREAM = {"content_encoder": "content_encoder_iter_160000.pth.tar",
            "style_encoder": "style_encoder_iter_160000.pth.tar",
            "modulator": "modulator_iter_160000.pth.tar", "decoder": "decoder_iter_160000.pth.tar"}
_CANDIDATES = [os.environ.get("ADAIN_LIVE_TEACHER"), REPO.parent / "shared" / "teachers" / "microast",
               REPO.parent.parent / "shared" / "teachers" / "microast"]
TEACHER_DIR = next((Path(c) for c in _CANDIDATES if c and (Path(c) / UPSTREAM["decoder"]).is_file()), None)
BOXES = [(200, 136), (203, 141)]  # (width, height): sides multiples of 4, and odd sides


# --- the transcription ------------------------------------------------------------------------------------
def _conv(sd: dict[str, Tensor], name: str, x: Tensor, stride: int = 1, groups: int = 1) -> Tensor:
    w, b = sd[f"{name}.conv_layer.weight"], sd[f"{name}.conv_layer.bias"]
    p = w.shape[-1] // 2
    return F.conv2d(F.pad(x, (p, p, p, p), mode="reflect"), w, b, stride=stride, groups=groups)


def _res(sd: dict[str, Tensor], name: str, x: Tensor, w: Tensor | None = None, b: Tensor | None = None) -> Tensor:
    if w is None or b is None:
        return x + _conv(sd, f"{name}.conv2", F.relu(_conv(sd, f"{name}.conv1", x)))
    h1 = _conv(sd, f"{name}.conv1", x)
    h2 = F.relu(w * h1 + b * x)
    return x + (w * _conv(sd, f"{name}.conv2", h2) + b * h2)


def _encoder(sd: dict[str, Tensor], x: Tensor) -> list[Tensor]:
    x = F.relu(_conv(sd, "enc1.0", x))
    x = F.relu(_conv(sd, "enc1.2", x, 2, 16))
    x = F.relu(_conv(sd, "enc1.4", x))
    x = F.relu(_conv(sd, "enc1.6", x, 2, 32))
    x = F.relu(_conv(sd, "enc1.8", x))
    f1 = _res(sd, "enc1.10", x)
    return [f1, _res(sd, "enc2.0", f1)]


def _calc_mean_std(feat: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    n, c = feat.size()[:2]
    var = feat.view(n, c, -1).var(dim=2) + eps
    return feat.view(n, c, -1).mean(dim=2).view(n, c, 1, 1), var.sqrt().view(n, c, 1, 1)


def _adain(content: Tensor, style: Tensor) -> Tensor:
    size = content.size()
    s_mean, s_std = _calc_mean_std(style)
    c_mean, c_std = _calc_mean_std(content)
    return (content - c_mean.expand(size)) / c_std.expand(size) * s_std.expand(size) + s_mean.expand(size)


def _test_net(parts: dict[str, dict[str, Tensor]], content: Tensor, style: Tensor, alpha: float) -> Tensor:
    style_feats = _encoder(parts["style_encoder"], style)
    content_feats = _encoder(parts["content_encoder"], content)
    mod = parts["modulator"]

    def branch(name: str, s: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(_conv(mod, f"{name}.0", s, 1, 64), 1)

    w = [branch("weight1", style_feats[0]), branch("weight2", style_feats[1])]
    b = [branch("bias1", style_feats[0]), branch("bias2", style_feats[1])]
    d = parts["decoder"]
    t = _adain(content_feats[1], style_feats[1])
    t = alpha * t + (1 - alpha) * content_feats[1]
    x = _res(d, "dec1", t, w[1], b[1])
    t = _adain(x, style_feats[0])
    t = alpha * t + (1 - alpha) * x
    x = _res(d, "dec2", t, w[0], b[0])
    x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    x = F.relu(_conv(d, "dec3.3", F.relu(_conv(d, "dec3.1", x, 1, 32))))
    x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    x = F.relu(_conv(d, "dec3.8", F.relu(_conv(d, "dec3.6", x, 1, 16))))
    return _conv(d, "dec3.10", x)


def _to_tensor(path: Path) -> Tensor:
    arr = np.asarray(Image.open(path).convert("RGB"))
    return torch.from_numpy(arr.copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)


def _save_image_bytes(t: Tensor) -> np.ndarray:
    return t[0].mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to("cpu", torch.uint8).numpy()


def reference_output(parts: dict[str, dict[str, Tensor]], content: Path, style: Path, alpha: float) -> np.ndarray:
    """test_microAST.py at native sizes: the image it would save."""
    with torch.no_grad():
        out = _test_net(parts, _to_tensor(content), _to_tensor(style), alpha)
    return _save_image_bytes(out)


# --- the comparison ---------------------------------------------------------------------------------------
def _inputs(tmp_path: Path, box: tuple[int, int]) -> tuple[Path, Path]:
    content = tmp_path / "content.png"
    Image.open(DEMO_CONTENT).convert("RGB").crop((0, 0, *box)).save(content)
    style = tmp_path / "style.png"
    Image.open(STYLES_DIR / "great_wave.jpg").convert("RGB").crop((0, 0, 157, 118)).save(style)
    return content, style


def _compare(tmp_path: Path, parts: dict[str, dict[str, Tensor]], box: tuple[int, int], alpha: float) -> None:
    content, style = _inputs(tmp_path, box)
    ref = reference_output(parts, content, style, alpha)
    ours_path = tmp_path / "ours.png"
    rc = main(["stylize", str(content), "-s", str(style), "--alpha", str(alpha), "--size", "0", "--style-size", "0",
               "--model", "microast", "--device", "cpu", "--precision", "fp32", "-o", str(ours_path)])
    assert rc == 0
    ours = np.asarray(Image.open(ours_path).convert("RGB"))
    assert ours.shape == (box[1], box[0], 3)  # exactly the input size
    ref = ref[: box[1], : box[0]]  # upstream's decoder returns 4 * ceil(side / 4)
    close = (np.abs(ours.astype(int) - ref.astype(int)) <= 2).all(axis=-1).mean()
    if close < 0.999:
        Image.fromarray(np.concatenate([ours, ref], axis=1)).save(tmp_path / "ours_vs_ref.png")
    assert close >= 0.999, f"only {close:.4%} of pixels within 2/255 (see {tmp_path / 'ours_vs_ref.png'})"
    assert ref.std() > 5  # a non-trivial image, so the comparison means something


@pytest.fixture()
def random_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, dict[str, Tensor]]:
    """Random MicroAST weights installed as the bundled model (in a temporary models folder)."""
    model = MicroASTModel.random(seed=11)
    folder = tmp_path / "models" / MICROAST.folder
    folder.mkdir(parents=True)
    parts = {}
    for f in MICROAST.files:
        parts[f.role] = {k: v.contiguous() for k, v in getattr(model, f.role).state_dict().items()}
        save_file(parts[f.role], str(folder / f.filename))
    monkeypatch.setenv("ADAIN_LIVE_MODELS", str(tmp_path / "models"))
    return parts


@pytest.mark.parametrize(("alpha", "box"), [(1.0, BOXES[0]), (0.6, BOXES[1])])
def test_random_weights_match_test_microast_py(tmp_path: Path, random_bundle: dict[str, dict[str, Tensor]],
                                               alpha: float, box: tuple[int, int]) -> None:
    _compare(tmp_path, random_bundle, box, alpha)


@pytest.mark.skipif(TEACHER_DIR is None, reason="upstream MicroAST weights (../shared/teachers/microast) absent")
@pytest.mark.parametrize("box", BOXES)
def test_bundled_weights_match_test_microast_py_with_the_upstream_files(tmp_path: Path,
                                                                        box: tuple[int, int]) -> None:
    """The bundled safetensors (converted) against the upstream .pth.tar files through the transcription."""
    assert TEACHER_DIR is not None
    parts = {p: torch.load(TEACHER_DIR / f, map_location="cpu", weights_only=True) for p, f in UPSTREAM.items()}
    _compare(tmp_path, parts, box, 1.0)
