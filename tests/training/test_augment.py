"""Style augmentation and image reading."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from training.augment import augment_styles, hue_saturation, list_images, load_image, mix_styles


def write_images(folder: Path, sizes: list[tuple[int, int]], seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i, size in enumerate(sizes):
        img = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize(size, Image.Resampling.BICUBIC)
        path = folder / f"im{i}.{'png' if i % 2 else 'jpg'}"
        img.save(path)
        paths.append(path)
    return paths


def test_list_images_skips_non_images(tmp_path: Path) -> None:
    write_images(tmp_path, [(80, 64), (64, 96)])
    (tmp_path / "readme.txt").write_text("no")
    assert [p.name for p in list_images(tmp_path)] == ["im0.jpg", "im1.png"]


def test_load_image_returns_none_for_corrupt_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG garbage")
    assert load_image(bad) is None


def test_hue_identity_rotation_and_desaturation() -> None:
    x = torch.rand(3, 3, 8, 8)
    torch.testing.assert_close(hue_saturation(x, torch.zeros(3), torch.ones(3)), x, atol=1e-6, rtol=0)
    red = torch.zeros(1, 3, 2, 2)
    red[:, 0] = 0.8
    green = hue_saturation(red, torch.tensor([2 * math.pi / 3]), torch.ones(1))
    assert green[0, 1].mean() > 0.7 and green[0, 0].mean() < 0.1 and green[0, 2].mean() < 0.1
    grey = hue_saturation(x, torch.zeros(3), torch.zeros(3))
    torch.testing.assert_close(grey[:, 0], grey[:, 1])
    torch.testing.assert_close(grey[:, 1], grey[:, 2])


def test_mixing_probability_bounds() -> None:
    x = torch.rand(4, 3, 16, 16)
    gen = torch.Generator().manual_seed(0)
    torch.testing.assert_close(mix_styles(x, gen, prob=0.0), x)
    mixed = mix_styles(x, gen, prob=1.0)
    assert all(not torch.equal(mixed[i], x[i]) for i in range(4))
    assert torch.equal(mix_styles(x[:1], gen, prob=1.0), x[:1])


def test_augment_styles_keeps_shape_and_range() -> None:
    x = torch.rand(6, 3, 24, 24)
    out = augment_styles(x, torch.Generator().manual_seed(1))
    assert out.shape == x.shape and 0.0 <= out.min() and out.max() <= 1.0
    assert not torch.equal(out, x)
