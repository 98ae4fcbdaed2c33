from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from adain_live.core.stats import StyleStats
from adain_live.errors import MediaError
from adain_live.gallery import StyleGallery, collect_images, model_identity, thumbnail


def _read(path):
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture
def styles(tmp_path):
    d = tmp_path / "styles"
    d.mkdir()
    for i, name in enumerate(["a.jpg", "b.png"]):
        Image.fromarray(np.full((30, 40, 3), 60 * (i + 1), np.uint8)).save(d / name)
    (d / "notes.txt").write_text("not an image")
    return d


class Counter:
    def __init__(self):
        self.calls = 0

    def __call__(self, rgb):
        self.calls += 1
        v = float(rgb.mean())
        return StyleStats(torch.full((3,), v), torch.ones(3))


def test_collect_images_folders_files_and_problems(styles, tmp_path):
    files, problems = collect_images([styles, styles / "notes.txt", tmp_path / "missing.jpg"])
    assert [f.name for f in files] == ["a.jpg", "b.png"]
    assert len(problems) == 2 and "not an image" in problems[0] and "not found" in problems[1]


def test_add_skips_duplicates_by_content(styles, tmp_path):
    g = StyleGallery(Counter(), "m1", read=_read)
    shutil.copy(styles / "a.jpg", tmp_path / "copy_of_a.jpg")
    added, _ = g.add([styles, tmp_path / "copy_of_a.jpg"])
    assert [e.path.name for e in added] == ["a.jpg", "b.png"]
    assert g.find(styles / "b.png") is added[1]


def test_stats_cached_in_memory_and_on_disk(styles, tmp_path):
    root = tmp_path / "cache" / "stats"
    compute = Counter()
    g = StyleGallery(compute, "m1", root, style_size=256, read=_read)
    (a, _b), _ = g.add([styles])
    assert g.cached(a) is None
    s1 = g.stats(a)
    assert g.stats(a) is s1 and compute.calls == 1
    assert len(list(root.glob("*.safetensors"))) == 1

    # a new session (same model) reads the disk cache, also for a renamed copy of the file
    shutil.copy(a.path, tmp_path / "renamed.jpg")
    compute2 = Counter()
    g2 = StyleGallery(compute2, "m1", root, style_size=256, read=_read)
    (r,), _ = g2.add([tmp_path / "renamed.jpg"])
    assert torch.equal(g2.stats(r).mean, s1.mean) and compute2.calls == 0

    # another model or another style size never reuses these statistics
    for other in (StyleGallery(compute2, "m2", root, 256, read=_read), StyleGallery(compute2, "m1", root, 128,
                                                                                    read=_read)):
        (e,), _ = other.add([a.path])
        other.stats(e)
    assert compute2.calls == 2


def test_corrupt_cache_entry_is_recomputed(styles, tmp_path):
    root = tmp_path / "stats"
    compute = Counter()
    g = StyleGallery(compute, "m1", root, read=_read)
    (a, _), _ = g.add([styles])
    g.stats(a)
    next(root.glob("*.safetensors")).write_bytes(b"garbage")
    g2 = StyleGallery(compute, "m1", root, read=_read)
    (a2, _), _ = g2.add([styles])
    assert float(g2.stats(a2).mean[0]) == pytest.approx(60.0, abs=1) and compute.calls == 2


def test_model_identity_depends_on_weights():
    torch.manual_seed(0)
    a = torch.nn.Linear(3, 2)
    same = torch.nn.Linear(3, 2)
    same.load_state_dict(a.state_dict())  # another object with the same weights: the same identity
    assert model_identity(same) == model_identity(a)
    with torch.no_grad():
        same.bias[1] += 1e-3  # one changed weight: another identity (its cached style codes are not reused)
    assert model_identity(same) != model_identity(a)


def test_thumbnail(styles, tmp_path):
    t = thumbnail(styles / "a.jpg", 20)
    assert t.dtype == np.uint8 and max(t.shape[:2]) == 20 and t.shape[2] == 3
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    with pytest.raises(MediaError, match="bad.jpg"):
        thumbnail(bad)
