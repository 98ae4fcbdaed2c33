"""Read and write still images as RGB uint8 (+ optional alpha), with one-line errors and atomic writes."""

from __future__ import annotations

import logging
import re
import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from adain_live._fs import atomic_write_path
from adain_live.errors import MediaError

logger = logging.getLogger(__name__)

#: Largest image accepted, in pixels (500 MP, e.g. 22000 x 22000); checked from the header before decoding.
#: Processing limits are separate: the pipeline refuses a processing size that cannot fit, with the GiB needed.
MAX_PIXELS = 500_000_000
#: Pillow's own decompression-bomb check runs inside ``Image.open``; we lift it there (under a lock, it is a
#: global) and apply ``max_pixels`` ourselves so the message can say what decoding would need.
_OPEN_LOCK = threading.Lock()
_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP",
            ".tif": "TIFF", ".tiff": "TIFF"}


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MediaError(f"image not found: {path}")
    if path.is_dir():
        raise MediaError(f"{path} is a folder, not an image file")
    if path.stat().st_size == 0:
        raise MediaError(f"image {path} is empty (0 bytes)")


def _too_big(path: Path, pixels: int, limit: int, dims: str = "") -> MediaError:
    what = f"{dims} ({pixels / 1e6:.0f} MP; " if dims else f"{pixels / 1e6:.0f} MP ("
    return MediaError(f"image {path} is {what}decoding needs about {pixels * 4 / 1e9:.1f} GB); "
                      f"the limit is {limit / 1e6:.0f} MP: downscale it first")


def _open(path: Path) -> Image.Image:
    with _OPEN_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _to_rgb_alpha(im: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    """Any Pillow mode → (RGB uint8 HxWx3, alpha uint8 HxW or None)."""
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        arr = np.asarray(im)
        if im.mode.startswith("I;16") or arr.max(initial=0) > 255:
            arr = arr.astype(np.float64) / 257.0  # 16-bit range → 8-bit
        grey = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2)), None
    has_alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        im.mode == "P" and "transparency" in im.info) or (im.mode in ("L", "RGB") and "transparency" in im.info)
    if has_alpha:
        rgba = np.asarray(im.convert("RGBA"))
        return np.ascontiguousarray(rgba[:, :, :3]), np.ascontiguousarray(rgba[:, :, 3])
    return np.ascontiguousarray(np.asarray(im.convert("RGB"))), None


def read_image(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, np.ndarray | None]:
    """Read an image file upright (EXIF orientation applied).

    Returns
    -------
    rgb, alpha
        RGB ``uint8`` HxWx3 and the alpha channel ``uint8`` HxW (``None`` when the image has none).
        16-bit, grey, palette and CMYK images are converted.

    Raises
    ------
    MediaError
        Missing, empty, corrupt or unsupported files, and images over ``max_pixels`` (checked from the
        header, before decoding).
    """
    path = Path(path)
    _check_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we check the size ourselves
            with _open(path) as im:
                if im.width * im.height > max_pixels:
                    raise _too_big(path, im.width * im.height, max_pixels, f"{im.width}x{im.height}")
                im.load()
                return _to_rgb_alpha(ImageOps.exif_transpose(im))
    except Image.DecompressionBombError as exc:  # Pillow refuses in open() past ~179 MP; same message
        found = re.search(r"\((\d+) pixels\)", str(exc))
        raise _too_big(path, int(found.group(1)) if found else max_pixels + 1, max_pixels) from exc
    except UnidentifiedImageError as exc:
        raise MediaError(f"{path} is not an image Pillow can read (corrupt file or unsupported format)") \
            from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"image {path} is truncated or corrupt ({exc}); re-export or re-download it") from exc


def write_image(path: str | Path, rgb: np.ndarray, alpha: np.ndarray | None = None, *,
                quality: int = 95) -> Path:
    """Write ``rgb`` (+ ``alpha``) atomically (temporary file, then rename); return ``path``.

    PNG/WebP/TIFF keep alpha; JPEG and BMP composite it on white. The format follows the extension.
    """
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise MediaError(f"cannot write {path}: unknown image extension; use one of {', '.join(_FORMATS)}")
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be uint8 HxWx3, got {rgb.dtype} {rgb.shape}")
    if alpha is not None and alpha.shape != rgb.shape[:2]:
        raise ValueError(f"alpha of shape {alpha.shape} does not match the image {rgb.shape[:2]}")
    image = _compose(rgb, alpha, fmt)
    if not path.parent.is_dir():
        raise MediaError(f"cannot write {path}: folder {path.parent} does not exist; choose another folder")
    try:
        with atomic_write_path(path) as tmp:
            image.save(tmp, format=fmt, **({"quality": quality} if fmt in ("JPEG", "WEBP") else {}))
    except OSError as exc:
        raise MediaError(f"cannot write {path}: {exc.strerror or exc}; check free space and permissions") \
            from exc
    return path


def _compose(rgb: np.ndarray, alpha: np.ndarray | None, fmt: str) -> Image.Image:
    if alpha is None:
        return Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    if fmt in ("PNG", "WEBP", "TIFF"):
        return Image.fromarray(np.ascontiguousarray(np.dstack([rgb, alpha])), "RGBA")
    a = alpha.astype(np.float32)[:, :, None] / 255.0
    flat = rgb.astype(np.float32) * a + 255.0 * (1.0 - a)  # composite on white
    return Image.fromarray(np.clip(np.rint(flat), 0, 255).astype(np.uint8), "RGB")
