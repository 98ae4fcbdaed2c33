"""What MicroAST promises beyond the basic tests: the training call, the per-frame net, precision, devices,
masks and the one-line messages for bad input and misplaced weight files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from adain_live.core.microast import MicroASTCode, MicroASTModel, load_microast
from adain_live.core.stats import StyleStats
from adain_live.errors import WeightsError
from tests.helpers import write_microast_parts


@pytest.fixture(scope="module")
def model() -> MicroASTModel:
    return MicroASTModel.random(seed=7)


def _image(seed: int, *shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def _code(model: MicroASTModel, seed: int) -> MicroASTCode:
    return model.encode_style(_image(seed, 1, 3, 40, 36))


# --- the training call ------------------------------------------------------------------------------------
@torch.inference_mode()
@pytest.mark.parametrize("size", [(32, 40), (33, 47)])
def test_stylize_images_is_stylize_with_each_samples_own_style(model: MicroASTModel, size: tuple[int, int]) -> None:
    content, styles = _image(1, 2, 3, *size), _image(2, 2, 3, 36, 44)
    alpha = torch.tensor([1.0, 0.3])
    out = model.stylize_images(content, styles, alpha)
    assert out.shape == content.shape
    for i in range(2):
        ref = model.stylize(content[i : i + 1], model.encode_style(styles[i : i + 1]), float(alpha[i]))
        torch.testing.assert_close(out[i : i + 1], ref, atol=1e-5, rtol=1e-5)


@torch.inference_mode()
def test_stylize_images_shares_one_style_across_the_batch(model: MicroASTModel) -> None:
    content, style = _image(3, 3, 3, 32, 32), _image(4, 1, 3, 40, 40)
    code = model.encode_style(style)
    for alpha, out in ((0.7, model.stylize_images(content, style, 0.7)), (1.0, model.stylize_images(content, style))):
        for i in range(3):
            torch.testing.assert_close(out[i : i + 1], model.stylize(content[i : i + 1], code, alpha),
                                       atol=1e-5, rtol=1e-5)


# --- the per-frame net -----------------------------------------------------------------------------------
@torch.inference_mode()
def test_frame_net_defaults_to_full_colour_and_announces_its_code(model: MicroASTModel) -> None:
    code, x = _code(model, 2), _image(5, 1, 3, 32, 32)
    net = model.frame_net()
    assert net.code_shapes() == code.shapes()
    torch.testing.assert_close(net(x, *code.tensors(), torch.tensor(1.0)), model.stylize(x, code))


@torch.inference_mode()
def test_frame_net_output_is_clamped_for_an_extreme_code(model: MicroASTModel) -> None:
    code, x = _code(model, 2), _image(6, 1, 3, 32, 32)
    loud = code.replace(s1_std=code.s1_std * 5, s2_std=code.s2_std * 5)  # decoder output leaves [0, 1]
    out = model.frame_net()(x, *loud.tensors(), torch.tensor(1.0))
    assert out.min() == 0.0 and out.max() == 1.0


@torch.inference_mode()
def test_content_hook_sees_both_levels_in_stylize_and_frame_net(model: MicroASTModel) -> None:
    code, x = _code(model, 3), _image(7, 1, 3, 32, 32)
    net = model.frame_net()
    sites: list[str] = []

    def record(site: str, mean: torch.Tensor, std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sites.append(site)
        return mean, std

    model.content_hook = net.content_hook = record
    try:
        model.stylize(x, code)
        net(x, *code.tensors(), torch.tensor(1.0))
    finally:
        model.content_hook = net.content_hook = None
    assert sites == ["microast/level2", "microast/level1"] * 2


# --- precision and devices --------------------------------------------------------------------------------
@torch.inference_mode()
def test_bf16_model_takes_fp32_frames_and_styles() -> None:
    model = MicroASTModel.random(seed=7).to(torch.bfloat16)
    code = model.encode_style(_image(1, 1, 3, 40, 36))  # fp32 image into a bf16 style encoder
    assert code.s1_mean.dtype == torch.float32
    x = _image(2, 1, 3, 32, 32)
    for out in (model.stylize(x, code, preserve_color=True),
                model.frame_net()(x, *code.tensors(), torch.tensor(1.0), True),
                model.stylize_images(x, _image(1, 1, 3, 40, 36))):
        assert out.dtype == torch.bfloat16 and out.shape == x.shape


def test_model_is_frozen_so_stylize_builds_no_graph() -> None:
    model = MicroASTModel.random(seed=1)  # a fresh model, not the shared one
    out = model.stylize(_image(1, 1, 3, 16, 16), _code(model, 1))
    assert not out.requires_grad


def test_random_model_is_seeded() -> None:
    a, b, c = MicroASTModel.random(seed=3), MicroASTModel.random(seed=3), MicroASTModel.random(seed=4)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert not torch.equal(a.decoder.dec3[-1].conv_layer.weight, c.decoder.dec3[-1].conv_layer.weight)
    default = MicroASTModel.random()
    assert torch.equal(default.decoder.dec3[-1].conv_layer.weight,
                       MicroASTModel.random(seed=0).decoder.dec3[-1].conv_layer.weight)


@torch.inference_mode()
@pytest.mark.parametrize("seed", [0, 3, 7])
def test_random_model_output_varies_over_0_1(seed: int) -> None:
    """What the tests built on random weights rely on: a picture, neither flat nor saturated."""
    model = MicroASTModel.random(seed=seed)
    code = model.encode_style(_image(1, 1, 3, 48, 48))
    out = model.stylize(_image(2, 2, 3, 48, 48), code)
    unclipped = ((out > 0) & (out < 1)).float().mean()
    assert 0.25 < out.mean() < 0.75 and out.std() > 0.04 and unclipped > 0.5


def test_codes_made_on_the_cpu_follow_the_model_to_its_device(model: MicroASTModel) -> None:
    """A cached (CPU) code and a CPU mask work with a model on another device ("meta" stands in for CUDA)."""
    fg, bg = _code(model, 1), _code(model, 2)
    moved = MicroASTModel.random(seed=7).to("meta")
    x, mask = torch.empty(1, 3, 32, 32, device="meta"), torch.ones(1, 1, 32, 32)
    for out in (moved.stylize(x, fg), moved.stylize(x, fg, mask=mask, background=bg)):
        assert out.device.type == "meta" and out.shape == x.shape


# --- masks ------------------------------------------------------------------------------------------------
@torch.inference_mode()
def test_background_without_a_mask_is_ignored(model: MicroASTModel) -> None:
    fg, bg, x = _code(model, 1), _code(model, 2), _image(8, 1, 3, 32, 32)
    torch.testing.assert_close(model.stylize(x, fg, background=bg), model.stylize(x, fg))


@torch.inference_mode()
def test_mask_values_outside_0_1_count_as_0_and_1(model: MicroASTModel) -> None:
    """An 8-bit mask passed as it is (255) is all foreground; negative noise is all background."""
    fg, bg, x = _code(model, 1), _code(model, 2), _image(9, 1, 3, 32, 32)
    ones = torch.ones(1, 1, 32, 32)
    for given, meant in ((ones * 255, ones), (ones * -3, ones * 0)):
        torch.testing.assert_close(model.stylize(x, fg, mask=given, background=bg),
                                   model.stylize(x, fg, mask=meant, background=bg))


@torch.inference_mode()
def test_thin_foreground_stripes_still_count(model: MicroASTModel) -> None:
    """The mask is averaged over each feature cell (4x4 pixels): 1-pixel stripes are not sampled away."""
    fg, bg, x = _code(model, 1), _code(model, 2), _image(10, 1, 3, 32, 32)
    stripes = torch.zeros(1, 1, 32, 32)
    stripes[..., ::4] = 1  # a quarter of the rows
    only_bg = model.stylize(x, fg, mask=torch.zeros(1, 1, 32, 32), background=bg)
    assert (model.stylize(x, fg, mask=stripes, background=bg) - only_bg).abs().mean() > 1e-3


# --- messages ---------------------------------------------------------------------------------------------
def test_bad_input_messages(model: MicroASTModel) -> None:
    code, x = _code(model, 1), _image(1, 1, 3, 16, 16)
    with pytest.raises(ValueError, match=r"^encode_style takes one image \(1, 3, H, W\), got \(2, 3, 20, 20\)$"):
        model.encode_style(torch.rand(2, 3, 20, 20))
    with pytest.raises(ValueError, match=r"^alpha must be in \[0, 1\], got 1\.5$"):
        model.stylize(x, code, alpha=1.5)
    with pytest.raises(TypeError, match="^microast needs MicroASTCode codes, got StyleStats$"):
        model.stylize(x, StyleStats(torch.zeros(64), torch.ones(64)))
    with pytest.raises(ValueError, match="^a mask needs a background style as well as a foreground style$"):
        model.stylize(x, code, mask=torch.ones(1, 1, 16, 16))


def test_misplaced_weight_files_are_named(tmp_path: Path, model: MicroASTModel) -> None:
    files = write_microast_parts(tmp_path, model)
    with pytest.raises(WeightsError, match="^MicroAST needs four files; the style encoder, decoder file is missing$"):
        load_microast({k: v for k, v in files.items() if k in ("content_encoder", "modulator")})
    enc = files["style_encoder"]
    with pytest.raises(WeightsError, match=rf"^{enc} does not fit the MicroAST decoder \(missing .*\); it looks like "
                                           r"an encoder file of MicroAST$"):
        load_microast({**files, "decoder": enc})
    other = tmp_path / "other.safetensors"
    save_file({"conv.weight": torch.zeros(4, 3, 3, 3)}, str(other))
    with pytest.raises(WeightsError, match=rf"^{other} does not fit the MicroAST modulator \(.*\); it is not a "
                                           r"MicroAST weights file$"):
        load_microast({**files, "modulator": other})
