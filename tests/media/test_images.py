from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adain_live.errors import MediaError
from adain_live.media.images import read_image, write_image


def test_rgb_roundtrip_png(tmp_path: Path) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", rgb)
    out, alpha = read_image(tmp_path / "a.png")
    assert alpha is None and np.array_equal(out, rgb) and out.flags.c_contiguous


def test_png_keeps_alpha_jpeg_composites_on_white(tmp_path: Path) -> None:
    rgb = np.zeros((4, 4, 3), np.uint8)
    alpha = np.zeros((4, 4), np.uint8)
    alpha[:2] = 255
    write_image(tmp_path / "a.png", rgb, alpha)
    out, a = read_image(tmp_path / "a.png")
    assert a is not None and np.array_equal(a, alpha)
    write_image(tmp_path / "a.jpg", rgb, alpha)
    out, a = read_image(tmp_path / "a.jpg")
    assert a is None
    assert out[0].mean() < 20 and out[3].mean() > 235  # opaque black on top, white where transparent


def test_16bit_grey_png(tmp_path: Path) -> None:
    Image.fromarray(np.full((3, 2), 65535, np.uint16)).save(tmp_path / "g16.png")
    out, _ = read_image(tmp_path / "g16.png")
    assert out.shape == (3, 2, 3) and out.dtype == np.uint8 and (out == 255).all()


def test_16bit_rgb_png(tmp_path: Path) -> None:
    # Pillow cannot write 16-bit RGB; build the PNG by hand (one row of a 2x1 image: white, black).
    raw = b"\x00" + struct.pack(">6H", 65535, 65535, 65535, 0, 0, 0)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 1, 16, 2, 0, 0, 0)) + \
        chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    (tmp_path / "rgb16.png").write_bytes(png)
    out, _ = read_image(tmp_path / "rgb16.png")
    assert out.shape == (1, 2, 3) and out[0, 0].tolist() == [255, 255, 255] and out[0, 1].tolist() == [0, 0, 0]


def test_cmyk_grey_palette(tmp_path: Path) -> None:
    Image.new("CMYK", (3, 2), (0, 255, 0, 0)).save(tmp_path / "c.jpg")
    out, _ = read_image(tmp_path / "c.jpg")
    assert out.shape == (2, 3, 3) and out[0, 0, 1] < 40 and out[0, 0, 0] > 200  # magenta
    Image.new("L", (2, 2), 128).save(tmp_path / "l.png")
    assert read_image(tmp_path / "l.png")[0][0, 0].tolist() == [128, 128, 128]
    pal = Image.new("P", (2, 2), 0)
    pal.putpalette([10, 20, 30] * 256)
    pal.info["transparency"] = 0
    pal.save(tmp_path / "p.png", transparency=0)
    rgb, alpha = read_image(tmp_path / "p.png")
    assert rgb[0, 0].tolist() == [10, 20, 30] and alpha is not None and alpha.max() == 0


def test_exif_orientation(tmp_path: Path) -> None:
    im = Image.new("RGB", (4, 2), (255, 0, 0))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 CW to display
    im.save(tmp_path / "o.jpg", exif=exif)
    assert read_image(tmp_path / "o.jpg")[0].shape == (4, 2, 3)


def test_one_pixel(tmp_path: Path) -> None:
    write_image(tmp_path / "p.png", np.full((1, 1, 3), 7, np.uint8))
    assert read_image(tmp_path / "p.png")[0].tolist() == [[[7, 7, 7]]]


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="not found"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        read_image(tmp_path / "empty.png")
    (tmp_path / "text.png").write_text("hello")
    with pytest.raises(MediaError, match="not an image"):
        read_image(tmp_path / "text.png")
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(buf, "PNG")
    (tmp_path / "cut.png").write_bytes(buf.getvalue()[:-40])
    with pytest.raises(MediaError, match="truncated or corrupt") as err:
        read_image(tmp_path / "cut.png")
    assert "\n" not in str(err.value)


def test_huge_image_refused_from_header(tmp_path: Path) -> None:
    # A PNG header claiming 40000x40000 with almost no data: refused before decoding, with the memory needed.
    Image.new("L", (1, 1)).save(tmp_path / "small.png")
    data = bytearray((tmp_path / "small.png").read_bytes())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4: ihdr + 12] = struct.pack(">II", 40000, 40000)
    data[ihdr + 17: ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr: ihdr + 17])))
    (tmp_path / "huge.png").write_bytes(bytes(data))
    with pytest.raises(MediaError, match=r"40000x40000 \(1600 MP; decoding needs about 6.4 GB\); the limit is 500 MP"):
        read_image(tmp_path / "huge.png")
    # A caller's own limit applies the same way.
    data[ihdr + 4: ihdr + 12] = struct.pack(">II", 10000, 10000)
    data[ihdr + 17: ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr: ihdr + 17])))
    (tmp_path / "big.png").write_bytes(bytes(data))
    with pytest.raises(MediaError, match=r"is 10000x10000 \(100 MP; decoding needs about 0.4 GB\)"):
        read_image(tmp_path / "big.png", max_pixels=80_000_000)


def test_write_is_atomic_and_checks_extension(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="unknown image extension"):
        write_image(tmp_path / "a.xyz", np.zeros((2, 2, 3), np.uint8))
    write_image(tmp_path / "a.png", np.zeros((2, 2, 3), np.uint8))
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temp file left
    with pytest.raises(MediaError, match="cannot write"):
        write_image(tmp_path / "nodir" / "a.png", np.zeros((2, 2, 3), np.uint8))
