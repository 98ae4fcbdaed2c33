from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from adain_live.errors import UserError
from training.data import ImageStream, _Order, fixed_images, make_batches, scan_folder


def test_scan_skips_and_counts_bad_files(image_dirs: tuple[Path, Path]) -> None:
    scan = scan_folder(image_dirs[0], "content")
    assert len(scan.files) == 5
    assert sorted(p.name for p in scan.skipped) == ["broken.jpg", "notes.txt"]
    assert scan.sizes[0] == (48, 40)


@pytest.mark.parametrize("kind", ["missing", "empty", "junk"])
def test_bad_folder_is_one_line_user_error(tmp_path: Path, kind: str) -> None:
    folder = tmp_path / "c"
    if kind != "missing":
        folder.mkdir()
    if kind == "junk":
        (folder / "a.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(UserError) as info:
        scan_folder(folder, "content")
    msg = str(info.value)
    assert "\n" not in msg and "content folder" in msg and str(folder) in msg


def test_batches_shape_range_and_determinism(image_dirs: tuple[Path, Path]) -> None:
    a = make_batches(*image_dirs, batch=3, crop=32, resize=40, seed=5, workers=0)
    b = make_batches(*image_dirs, batch=3, crop=32, resize=40, seed=5, workers=0)
    c1, s1 = next(a)
    assert c1.shape == s1.shape == (3, 3, 32, 32) and c1.dtype == torch.float32
    assert 0.0 <= float(c1.min()) and float(c1.max()) <= 1.0
    c2, s2 = next(b)
    assert torch.equal(c1, c2) and torch.equal(s1, s2)
    other = make_batches(*image_dirs, batch=3, crop=32, resize=40, seed=6, workers=0)
    assert not torch.equal(next(other)[0], c1)


def test_state_dict_resumes_exactly_on_every_backend(image_dirs: tuple[Path, Path]) -> None:
    ref = make_batches(*image_dirs, batch=2, crop=32, resize=40, workers=0)
    next(ref)
    state = ref.state_dict()
    expected = [next(ref) for _ in range(4)]  # crosses an epoch boundary (5 content images)
    for kwargs in ({"workers": 0}, {"resident": True}, {"workers": 1}):
        stream = make_batches(*image_dirs, batch=2, crop=32, resize=40, **kwargs)
        stream.load_state_dict(state)
        got = [next(stream) for _ in range(4)]
        stream.close()
        for (ec, es), (gc, gs) in zip(expected, got, strict=True):
            assert torch.equal(ec, gc) and torch.equal(es, gs), kwargs


def test_epoch_order_is_a_permutation() -> None:
    order = _Order(7, seed=3, stream=0)
    first, second = order(np.arange(7)), order(np.arange(7, 14))
    assert sorted(first.tolist()) == list(range(7)) == sorted(second.tolist())
    assert first.tolist() != second.tolist()


def test_stream_validates_sizes(image_dirs: tuple[Path, Path]) -> None:
    with pytest.raises(UserError):
        ImageStream(image_dirs[0], batch=2, crop=64, resize=32)


def test_fixed_images_are_centre_crops(image_dirs: tuple[Path, Path]) -> None:
    imgs = fixed_images(scan_folder(image_dirs[1]), 3, 24)
    assert imgs.shape == (3, 3, 24, 24) and float(imgs.max()) <= 1.0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_resident_gpu_decode_matches_positions(image_dirs: tuple[Path, Path]) -> None:
    gpu = make_batches(*image_dirs, batch=4, crop=32, resize=40, device="cuda")
    assert gpu.content.backend == "resident"
    c, s = next(gpu)
    assert c.is_cuda and c.shape == (4, 3, 32, 32)
    cpu = make_batches(*image_dirs, batch=4, crop=32, resize=40, workers=0)
    c_cpu, _ = next(cpu)
    # nvJPEG and Pillow differ slightly in decoding/resizing; the crops are of the same places
    assert float((c.cpu() - c_cpu).abs().mean()) < 0.05


def test_random_scale_crops_and_holdout_resume_on_every_backend(image_dirs: tuple[Path, Path]) -> None:
    scan = scan_folder(image_dirs[0], "content", hold_out=2)
    assert len(scan.held_out) == 2 and not set(scan.held_out) & set(scan.files)
    opts = {"batch": 3, "crop": 16, "resize": 40, "seed": 1, "scale": (0.3, 1.0), "flip": True}
    ref = ImageStream(scan, workers=0, **opts)
    first = next(ref)
    assert first.shape == (3, 3, 16, 16) and 0.0 <= float(first.min()) and float(first.max()) <= 1.0
    state, expected = ref.state_dict(), [next(ref) for _ in range(2)]
    for kwargs in ({"workers": 0}, {"resident": True}):
        stream = ImageStream(scan, **opts, **kwargs)
        stream.load_state_dict(state)
        for want in expected:
            torch.testing.assert_close(next(stream), want, atol=1e-6, rtol=0)  # resize on either side
    plain = ImageStream(scan, workers=0, **{**opts, "scale": None, "flip": False})
    assert not torch.equal(next(plain), first)
