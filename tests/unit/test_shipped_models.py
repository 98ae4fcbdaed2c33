"""The models this repository ships in ``models/``: intact (manifest sha256 and size), loadable, and working.

A bad merge, a Git LFS pointer instead of the file, or a manifest edited without the file (or the other way
round) would otherwise reach users as a model that refuses to load or, worse, loads different weights.
"""

from __future__ import annotations

import pytest
import torch

from adain_live import weights
from adain_live._fs import sha256_file
from adain_live.core.interface import StyleModel


@pytest.fixture(autouse=True)
def _repository_models(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADAIN_LIVE_MODELS", raising=False)  # the copy in this checkout, not an override


def _image(seed: int, h: int = 40, w: int = 48) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    smooth = torch.stack([x, y, (x + y) / 2])[None]
    return (0.7 * smooth + 0.3 * torch.rand(1, 3, h, w, generator=g)).clamp(0, 1)


@pytest.mark.parametrize("name", [weights.MICROAST.name, weights.STUDENT.name])
def test_shipped_style_model_matches_its_manifest_and_runs(name: str) -> None:
    ws = weights.get(name)
    assert ws.bundled and weights.is_available(ws)
    listed = (weights.manifest(ws) or {}).get("files")
    assert isinstance(listed, dict), f"{weights.set_dir(ws)} has no readable manifest with a files table"
    for role, path in weights.paths(ws).items():
        entry = listed[role]
        assert entry["file"] == path.name
        assert path.stat().st_size == entry["bytes"], f"{path.name}: size differs from the manifest"
        assert sha256_file(path) == entry["sha256"], f"{path.name}: sha256 differs from the manifest"

    model = weights.load_model(name)  # the real loader (it checks the hashes too)
    assert isinstance(model, StyleModel) and model.name == name
    content = _image(0)
    with torch.inference_mode():
        code = model.encode_style(_image(1, 64, 64).flip(1))
        out = model.stylize(content, code)
    assert out.shape == content.shape and out.dtype == torch.float32
    assert torch.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert (out - content).abs().mean() > 0.02, "the shipped model returned its input"
    assert out.std() > 0.02, "the shipped model returned a flat image"


@pytest.mark.parametrize("variant", [v for v, _ in weights.SEGMENTER.files])
def test_shipped_segmenter_matches_its_manifest_and_runs(variant: str) -> None:
    import json

    path = weights.segmenter_path(variant)
    entry = json.loads((path.parent / weights.MANIFEST).read_text())["variants"][variant]
    assert entry["file"] == path.name
    assert sha256_file(path) == entry["sha256"], f"{path.name}: sha256 differs from the manifest"

    seg = weights.load_segmenter(variant)
    with torch.inference_mode():
        mask = seg(_image(2, 48, 64))
    assert mask.shape == (1, 1, 48, 64)
    assert torch.isfinite(mask).all() and mask.min() >= 0 and mask.max() <= 1
