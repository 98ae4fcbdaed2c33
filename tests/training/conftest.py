"""Fixtures for training tests: tiny image folders and a He-initialised random encoder of the real shapes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from adain_live.core.vgg import build_encoder


def he_encoder(seed: int = 0) -> nn.Sequential:
    """A random encoder whose activations stay O(1) (PyTorch's default init shrinks them to denormals)."""
    torch.manual_seed(seed)
    enc = build_encoder()
    for m in enc.modules():
        if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return enc.eval()


@pytest.fixture(scope="session")
def vgg_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An encoder-only weights file (random, real shapes) accepted by ``load_encoder``."""
    path = tmp_path_factory.mktemp("vgg") / "vgg_encoder.pth"
    torch.save(he_encoder().state_dict(), path)
    return path


def make_images(folder: Path, count: int, seed: int, size: tuple[int, int] = (48, 40)) -> list[Path]:
    """Write ``count`` small smooth-noise images (JPEG and PNG) of (width, height) ``size``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        low = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        img = Image.fromarray(low).resize(size, Image.Resampling.BICUBIC)
        path = folder / f"img{i:02d}.{'png' if i % 3 == 2 else 'jpg'}"
        img.save(path)
        paths.append(path)
    return paths


@pytest.fixture
def image_dirs(tmp_path: Path) -> tuple[Path, Path]:
    """``content/`` (5 images + a text file + a truncated JPEG) and ``style/`` (4 images)."""
    content, style = tmp_path / "content", tmp_path / "style"
    make_images(content, 5, seed=1)
    make_images(style, 4, seed=2, size=(40, 56))
    (content / "notes.txt").write_text("not an image")
    good = (content / "img00.jpg").read_bytes()
    (content / "broken.jpg").write_bytes(good[: len(good) // 2])
    return content, style


@pytest.fixture
def encoder() -> nn.Sequential:
    """A fresh He-initialised random encoder."""
    return he_encoder()


@pytest.fixture(autouse=True)
def _flush_denormals() -> Iterator[None]:
    """Untrained decoders make tiny activations; as CPU denormals they are ~10x slower (train.py does this too)."""
    torch.set_flush_denormal(True)
    yield
    torch.set_flush_denormal(False)
