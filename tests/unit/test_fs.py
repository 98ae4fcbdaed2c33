import os
import stat

import pytest

from adain_live._fs import (
    IMAGE_SUFFIXES,
    atomic_write_bytes,
    atomic_write_path,
    atomic_write_text,
    is_image_file,
    list_images,
)
from adain_live.engine.config import StyleConfig, check_alpha, check_size


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_atomic_write_replaces_in_one_step_with_normal_permissions(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    old_mask = os.umask(0o022)
    try:
        with atomic_write_path(target) as tmp:
            assert tmp.parent == tmp_path and tmp.suffix == ".json" and tmp.exists()
            assert target.read_text() == "old"  # readers still see the old file while writing
            tmp.write_text("new")
    finally:
        os.umask(old_mask)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # not mkstemp's 0600
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_atomic_write_failure_keeps_old_file_and_removes_temp(tmp_path, error):
    target = tmp_path / "model.safetensors"
    target.write_bytes(b"old")
    with pytest.raises(error), atomic_write_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise error("boom")
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_atomic_write_missing_folder_raises_oserror(tmp_path):
    with pytest.raises(OSError), atomic_write_path(tmp_path / "nope" / "x.txt"):
        pass


def test_wrappers(tmp_path):
    assert atomic_write_text(tmp_path / "a.txt", "é\n").read_text(encoding="utf-8") == "é\n"
    assert atomic_write_bytes(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"


def test_one_set_of_image_suffixes(tmp_path):
    for name in ("a.JPG", "b.png", "c.tiff", "d.txt", "e.gif"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "dir.png").mkdir()
    assert [p.name for p in list_images(tmp_path)] == ["a.JPG", "b.png", "c.tiff"]
    assert is_image_file(tmp_path / "a.JPG") and not is_image_file(tmp_path / "dir.png")
    assert all(s == s.lower() and s.startswith(".") for s in IMAGE_SUFFIXES)


def test_settings_checks_accept_range_and_refuse_outside():
    assert check_alpha(0) == 0.0 and check_alpha(1) == 1.0
    for bad in (-0.01, 1.01, float("nan")):
        with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
            check_alpha(bad)
    assert check_size(0) == 0 and check_size(720) == 720
    for bad in (-1, 10**6, 512.5):
        with pytest.raises(ValueError, match="size must be 0"):
            check_size(bad)
    with pytest.raises(ValueError, match="alpha"):
        StyleConfig(alpha=2.0)
    with pytest.raises(ValueError, match="style_size"):
        StyleConfig(style_size=-3)
