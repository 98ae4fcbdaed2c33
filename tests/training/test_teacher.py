"""MicroAST teacher: architecture from the format description, validated loading, behaviour on real images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from adain_live.core import adain, mean_std
from adain_live.errors import WeightsError
from training.teacher import TEACHER_FILES, MicroAST, load_teacher, teacher_adain

TEACHER_DIR = Path(os.environ.get("ADAIN_LIVE_TEACHER",
                                  Path(__file__).resolve().parents[2].parent / "shared" / "teachers" / "microast"))
EVAL_DIR = TEACHER_DIR.parents[1] / "data" / "eval"
needs_teacher = pytest.mark.skipif(not (TEACHER_DIR / TEACHER_FILES["decoder"]).is_file(),
                                   reason=f"MicroAST weights not found in {TEACHER_DIR}")


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def write_random_teacher(folder: Path, seed: int = 0) -> MicroAST:
    """Save a random-weight MicroAST in the four-file layout (for tests that need no real weights)."""
    torch.manual_seed(seed)
    model = MicroAST()
    folder.mkdir(parents=True, exist_ok=True)
    for part, name in TEACHER_FILES.items():
        torch.save(getattr(model, part).state_dict(), folder / name)
    return model


def test_parameter_counts_match_the_readme() -> None:
    model = MicroAST()
    assert _params(model.content_encoder) == 157_792
    assert _params(model.style_encoder) == 157_792
    assert _params(model.modulator) == 2_560
    assert _params(model.decoder) == 153_843


def test_teacher_adain_uses_unbiased_variance_like_core() -> None:
    x, y = torch.randn(2, 8, 5, 7), torch.randn(2, 8, 6, 4) * 3 + 1
    s_mean, s_std = mean_std(y)
    torch.testing.assert_close(teacher_adain(x, y), adain(x, s_mean, s_std), atol=1e-5, rtol=1e-5)


def test_random_teacher_round_trip_and_shapes(tmp_path: Path) -> None:
    ref = write_random_teacher(tmp_path)
    teacher = load_teacher(tmp_path)
    assert not any(p.requires_grad for p in teacher.parameters())
    content, style = torch.rand(2, 3, 36, 44), torch.rand(1, 3, 40, 40)
    out = teacher(content, style, 1.0)
    assert out.shape == content.shape and 0.0 <= out.min() and out.max() <= 1.0
    torch.testing.assert_close(out, ref.eval()(content, style, 1.0))


def test_per_sample_alpha_equals_scalar_alpha(tmp_path: Path) -> None:
    write_random_teacher(tmp_path)
    teacher = load_teacher(tmp_path)
    content, style = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    both = teacher(content, style, torch.tensor([0.3, 1.0]))
    torch.testing.assert_close(both[:1], teacher(content[:1], style[:1], 0.3))
    torch.testing.assert_close(both[1:], teacher(content[1:], style[1:], 1.0))


def test_missing_file_is_a_weights_error(tmp_path: Path) -> None:
    write_random_teacher(tmp_path)
    (tmp_path / TEACHER_FILES["modulator"]).unlink()
    with pytest.raises(WeightsError, match="missing"):
        load_teacher(tmp_path)


def test_wrong_shape_is_a_weights_error(tmp_path: Path) -> None:
    write_random_teacher(tmp_path)
    path = tmp_path / TEACHER_FILES["decoder"]
    state = torch.load(path, weights_only=True)
    state["dec3.10.conv_layer.bias"] = torch.zeros(4)
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"dec3\.10\.conv_layer\.bias has shape \(4,\)"):
        load_teacher(tmp_path)


def test_wrong_keys_and_unsafe_pickles_are_refused(tmp_path: Path) -> None:
    write_random_teacher(tmp_path)
    torch.save({"something": torch.zeros(1)}, tmp_path / TEACHER_FILES["style_encoder"])
    with pytest.raises(WeightsError, match="does not fit the MicroAST style encoder"):
        load_teacher(tmp_path)
    torch.save({"x": Path("not allowed")}, tmp_path / TEACHER_FILES["style_encoder"])
    with pytest.raises(WeightsError, match="refused"):
        load_teacher(tmp_path)


def _image(path: Path) -> torch.Tensor:
    array = np.array(Image.open(path).convert("RGB"))
    return torch.from_numpy(array).permute(2, 0, 1).float().div(255)[None, :, :256, :256]


@needs_teacher
def test_real_teacher_moves_colours_towards_the_style() -> None:
    teacher = load_teacher(TEACHER_DIR)
    content = _image(EVAL_DIR / "content" / "gcompris_explore_monuments_chichenitza.jpg")
    style = _image(EVAL_DIR / "style" / "gcompris_lang_dragon.jpg")
    with torch.no_grad():
        out = teacher(content, style, 1.0)
    assert out.shape == content.shape
    c_mean, s_mean, o_mean = (x.mean(dim=(2, 3)) for x in (content, style, out))
    assert (o_mean - s_mean).abs().sum() < (c_mean - s_mean).abs().sum()
    # content stays readable: the output's edges correlate with the content's
    def edges(x: torch.Tensor) -> torch.Tensor:
        g = x.mean(1)
        return (g[:, 1:, 1:] - g[:, :-1, 1:]).abs() + (g[:, 1:, 1:] - g[:, 1:, :-1]).abs()

    corr = torch.corrcoef(torch.stack([edges(content).flatten(), edges(out).flatten()]))[0, 1]
    assert corr > 0.3
