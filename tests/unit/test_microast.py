"""The model interface with the MicroAST family (random weights of the real architecture) and style codes."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from adain_live.core.codes import code_from_state_dict, mix_codes
from adain_live.core.color import luma
from adain_live.core.microast import MicroASTCode, MicroASTModel, load_microast
from adain_live.core.model import AdaINModel
from adain_live.core.stats import StyleStats
from adain_live.errors import WeightsError
from tests.helpers import write_microast_parts


@pytest.fixture(scope="module")
def model() -> MicroASTModel:
    return MicroASTModel.random(seed=7)


def _code(model: MicroASTModel, seed: int) -> MicroASTCode:
    g = torch.Generator().manual_seed(seed)
    return model.encode_style(torch.rand(1, 3, 40, 36, generator=g))


@torch.inference_mode()
@pytest.mark.parametrize("size", [(32, 48), (33, 47), (9, 30), (5, 5), (64, 4)])
def test_output_has_exactly_the_input_size(model: MicroASTModel, size: tuple[int, int]) -> None:
    out = model.stylize(torch.rand(2, 3, *size), _code(model, 1))
    assert out.shape == (2, 3, *size) and 0.0 <= out.min() and out.max() <= 1.0


@torch.inference_mode()
def test_code_is_eight_fp32_vectors_and_random_model_varies(model: MicroASTModel) -> None:
    code = _code(model, 1)
    assert code.shapes() == ((64,),) * 8 and all(t.dtype == torch.float32 for t in code.tensors())
    out = model.stylize(torch.rand(1, 3, 32, 32), code)
    assert out.std() > 0.02  # not a constant image: comparisons below mean something


@torch.inference_mode()
def test_frame_net_matches_stylize(model: MicroASTModel) -> None:
    code, x = _code(model, 2), torch.rand(1, 3, 30, 45)
    net = model.frame_net()
    for alpha, pc in ((1.0, False), (0.4, True)):
        ref = model.stylize(x, code, alpha, preserve_color=pc)
        out = net(x, *code.tensors(), torch.tensor(alpha), pc)
        torch.testing.assert_close(out, ref)


@torch.inference_mode()
def test_alpha_zero_is_the_reconstruction_path(model: MicroASTModel) -> None:
    """α = 0 skips both AdaINs but keeps the modulated blocks (MicroAST's reconstruction path)."""
    code, x = _code(model, 3), torch.rand(1, 3, 32, 32)
    c2 = model.content_encoder(x)[1]
    v = code.as_4d()
    u = model.decoder.dec1(c2, v[6], v[7])
    expected = model.decoder.dec3(model.decoder.dec2(u, v[4], v[5])).clamp(0, 1)
    torch.testing.assert_close(model.stylize(x, code, 0.0), expected)
    assert (model.stylize(x, code, 1.0) - expected).abs().max() > 0.01


@torch.inference_mode()
def test_preserve_color_keeps_content_chroma(model: MicroASTModel) -> None:
    x = torch.rand(1, 3, 32, 32) * 0.5 + 0.25
    code = _code(model, 4)
    plain, kept = model.stylize(x, code), model.stylize(x, code, preserve_color=True)
    # the content's chroma (rgb - luma) with the stylized luma (of the unclamped decoder output)
    torch.testing.assert_close(luma(kept), luma(plain), atol=0.05, rtol=0)
    assert (luma(kept) - luma(x)).abs().mean() > 0.02
    unclipped = ((kept > 0) & (kept < 1)).all(dim=1, keepdim=True)
    assert unclipped.float().mean() > 0.5
    torch.testing.assert_close((kept - luma(kept))[unclipped.expand_as(kept)], (x - luma(x))[unclipped.expand_as(x)],
                               atol=1e-5, rtol=0)


@torch.inference_mode()
def test_mask_with_two_styles(model: MicroASTModel) -> None:
    x = torch.rand(1, 3, 32, 40)
    fg = _code(model, 5)
    bg = fg.replace(s1_mean=fg.s1_mean + 0.5, s2_mean=fg.s2_mean - 0.5, s2_std=fg.s2_std * 2)  # far apart
    ones, zeros = torch.ones(1, 1, 32, 40), torch.zeros(1, 1, 32, 40)
    torch.testing.assert_close(model.stylize(x, fg, mask=ones, background=bg), model.stylize(x, fg),
                               atol=1e-4, rtol=0)
    torch.testing.assert_close(model.stylize(x, fg, mask=zeros, background=bg), model.stylize(x, bg),
                               atol=1e-4, rtol=0)
    half = torch.zeros(1, 1, 32, 40)
    half[..., :20] = 1
    split = model.stylize(x, fg, mask=half, background=bg)
    only_fg, only_bg = model.stylize(x, fg), model.stylize(x, bg)
    # each side is closer to its own style than to the other one (away from the seam)
    assert (split[..., :12] - only_fg[..., :12]).abs().mean() < (split[..., :12] - only_bg[..., :12]).abs().mean()
    assert (split[..., 28:] - only_bg[..., 28:]).abs().mean() < (split[..., 28:] - only_fg[..., 28:]).abs().mean()
    with pytest.raises(ValueError, match="background"):
        model.stylize(x, fg, mask=half)


def test_code_save_load_round_trip(tmp_path: Path, model: MicroASTModel) -> None:
    for code in (_code(model, 1), StyleStats(torch.randn(8), torch.rand(8) + 0.1)):
        path = tmp_path / f"{code.family}.safetensors"
        save_file(code.state_dict(), str(path), metadata=code.metadata())
        with safe_open(str(path), framework="pt") as f:
            back = code_from_state_dict({k: f.get_tensor(k) for k in f.keys()}, f.metadata())  # noqa: SIM118
        assert type(back) is type(code)
        assert all(torch.equal(a, b) for a, b in zip(back.tensors(), code.tensors(), strict=True))
    with pytest.raises(ValueError, match="lacks"):
        MicroASTCode.from_state_dict({"s1_mean": torch.zeros(64)})
    bad = {**_code(model, 1).state_dict(), "w1": torch.full((64,), float("nan"))}
    with pytest.raises(ValueError, match="NaN"):
        MicroASTCode.from_state_dict(bad)


def test_mixing_codes(model: MicroASTModel) -> None:
    a, b = _code(model, 1), _code(model, 2)
    same = mix_codes([a])
    assert all(torch.equal(x, y) for x, y in zip(same.tensors(), a.tensors(), strict=True))
    m1, m2 = mix_codes([a, b], [1, 3]), mix_codes([a, b], [0.25, 0.75])  # weights are normalised
    assert all(torch.allclose(x, y) for x, y in zip(m1.tensors(), m2.tensors(), strict=True))
    torch.testing.assert_close(m1.w1, 0.25 * a.w1 + 0.75 * b.w1)
    ext = mix_codes([a, b], [3, -2.9])  # extrapolation keeps standard deviations positive
    assert ext.s1_std.min() > 0 and ext.s2_std.min() > 0
    with pytest.raises(ValueError, match="different models"):
        mix_codes([a, StyleStats(torch.zeros(64), torch.ones(64))])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="sum to 0"):
        mix_codes([a, b], [1, -1])


@torch.inference_mode()
def test_mixed_level2_adain_is_exact(model: MicroASTModel) -> None:
    """The first AdaIN is affine in (σ, μ): mixing codes equals mixing that AdaIN's outputs exactly."""
    from adain_live.core.stats import adain

    a, b = _code(model, 1), _code(model, 2)
    c2 = model.content_encoder(torch.rand(1, 3, 32, 32))[1]
    m = mix_codes([a, b], [0.3, 0.7])
    mixed = adain(c2, m.s2_mean.view(1, -1, 1, 1), m.s2_std.view(1, -1, 1, 1))
    separate = 0.3 * adain(c2, a.s2_mean.view(1, -1, 1, 1), a.s2_std.view(1, -1, 1, 1)) + \
        0.7 * adain(c2, b.s2_mean.view(1, -1, 1, 1), b.s2_std.view(1, -1, 1, 1))
    torch.testing.assert_close(mixed, separate, atol=1e-5, rtol=1e-5)


def test_wrong_code_family_is_refused(model: MicroASTModel) -> None:
    with pytest.raises(TypeError):
        model.stylize(torch.rand(1, 3, 16, 16), StyleStats(torch.zeros(64), torch.ones(64)))
    with pytest.raises(TypeError):
        AdaINModel.random().stylize(torch.rand(1, 3, 16, 16), _code(model, 1))


def test_loading_validates_every_part(tmp_path: Path, model: MicroASTModel) -> None:
    files = write_microast_parts(tmp_path, model)
    loaded = load_microast(files)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values(),
                                                 strict=True))
    with pytest.raises(WeightsError, match="modulator file is missing"):
        load_microast({k: v for k, v in files.items() if k != "modulator"})
    with pytest.raises(WeightsError, match="not found"):
        load_microast({**files, "decoder": tmp_path / "nope.safetensors"})
    bad = {k: v.contiguous() for k, v in model.decoder.state_dict().items()}
    bad["dec3.10.conv_layer.weight"] = torch.zeros(3, 16, 7, 7)
    save_file(bad, str(tmp_path / "bad.safetensors"))
    with pytest.raises(WeightsError, match=r"dec3\.10\.conv_layer\.weight has shape \(3, 16, 7, 7\)"):
        load_microast({**files, "decoder": tmp_path / "bad.safetensors"})
    with pytest.raises(WeightsError, match="looks like the modulator"):
        load_microast({**files, "decoder": files["modulator"]})
