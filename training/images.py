"""Decoding image folders: scanning (unreadable files skipped and counted), Pillow and nvJPEG decoding.

Used by :mod:`training.data`; every function here is deterministic (no randomness).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from adain_live._fs import IMAGE_SUFFIXES
from adain_live.errors import UserError

log = logging.getLogger(__name__)

_JPEG_SUFFIXES = frozenset({".jpg", ".jpeg"})


@dataclass(frozen=True)
class FolderScan:
    """The readable images of a folder (sorted) with their (width, height), and what was skipped."""

    folder: Path
    files: list[Path]
    sizes: list[tuple[int, int]]
    skipped: list[Path] = field(default_factory=list)
    #: Readable images kept out of ``files`` for validation (``scan_folder(hold_out=N)``).
    held_out: list[Path] = field(default_factory=list)


def _probe(path: Path) -> tuple[int, int] | None:
    """Return (width, height) if ``path`` decodes as an image (JPEGs at 1/8 scale: cheap), else None."""
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        return None
    try:
        with Image.open(path) as im:
            size = im.size
            im.draft("RGB", (max(1, size[0] // 8), max(1, size[1] // 8)))
            im.load()  # a truncated or corrupt file fails here, not at training time
        return size
    except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return None


def scan_folder(folder: str | Path, role: str = "image", hold_out: int = 0) -> FolderScan:
    """List the readable images under ``folder`` (recursively); raise a one-line UserError if there are none.

    ``role`` ("content", "style") names the folder in messages. Unreadable and non-image files are skipped and
    counted in :attr:`FolderScan.skipped`. ``hold_out`` evenly spaced images go to :attr:`FolderScan.held_out`
    instead of ``files`` (a validation set that training never sees).
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise UserError(f"{role} folder {root} does not exist or is not a folder; pass a folder of images")
    candidates = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # Pillow decodes without GIL
        probed = list(pool.map(_probe, candidates))
    files = [p for p, s in zip(candidates, probed, strict=True) if s is not None]
    sizes = [s for s in probed if s is not None]
    skipped = [p for p, s in zip(candidates, probed, strict=True) if s is None]
    if not files:
        raise UserError(f"{role} folder {root} has no readable images ({len(skipped)} other files skipped); "
                        f"put .jpg/.png images in it")
    if skipped:
        log.warning("%s folder %s: skipped %d unreadable or non-image files (e.g. %s)",
                    role, root, len(skipped), skipped[0].name)
    held = set(_spread(files, hold_out)) if hold_out > 0 and len(files) > 1 else set()
    keep = [i for i, p in enumerate(files) if p not in held]
    return FolderScan(root, [files[i] for i in keep], [sizes[i] for i in keep], skipped, sorted(held))


def _spread(paths: list[Path], count: int) -> list[Path]:
    """``count`` evenly spaced items of ``paths`` (at most all but one: training keeps at least one)."""
    step = max(1, len(paths) // count)
    return paths[step // 2 :: step][: min(count, len(paths) - 1)]


def resized_size(width: int, height: int, resize: int) -> tuple[int, int]:
    """(height, width) after scaling the shorter side to ``resize`` (0 keeps the size)."""
    if resize <= 0:
        return height, width
    scale = resize / min(width, height)
    return max(resize, round(height * scale)), max(resize, round(width * scale))


def load_resized(path: Path, resize: int) -> Tensor:
    """Decode ``path`` with Pillow as RGB and resize its shorter side to ``resize``; (3, H, W) uint8."""
    with Image.open(path) as im:
        h, w = resized_size(im.size[0], im.size[1], resize)
        im.draft("RGB", (w, h))  # JPEG: decode at the smallest DCT scale that still covers the target
        rgb = im.convert("RGB")
        if rgb.size != (w, h):
            rgb = rgb.resize((w, h), Image.Resampling.BILINEAR)
        return torch.from_numpy(np.asarray(rgb).copy()).permute(2, 0, 1).contiguous()


# --- resident back end ------------------------------------------------------------------------------------
def _resize_on_device(image: Tensor, resize: int) -> Tensor:
    """Resize a (3, H, W) uint8 image's shorter side to ``resize`` on its device (bilinear, antialiased)."""
    h, w = resized_size(int(image.shape[2]), int(image.shape[1]), resize)
    if (h, w) == tuple(image.shape[1:]):
        return image.contiguous()
    out = F.interpolate(image[None].float(), size=(h, w), mode="bilinear", antialias=True,
                        align_corners=False)
    return out[0].round_().clamp_(0, 255).to(torch.uint8)


def _decode_jpegs_cuda(paths: Sequence[Path], device: torch.device) -> list[Tensor | None]:
    """Decode JPEGs on the GPU (nvJPEG, batched); None for a file that nvJPEG refuses (e.g. CMYK)."""
    from torchvision.io import ImageReadMode, decode_jpeg, read_file

    data = [read_file(str(p)) for p in paths]
    try:
        return list(decode_jpeg(data, mode=ImageReadMode.RGB, device=device))
    except RuntimeError:
        out: list[Tensor | None] = []
        for d in data:  # one bad file fails the whole batch: retry one by one
            try:
                out.append(decode_jpeg(d, mode=ImageReadMode.RGB, device=device))
            except RuntimeError:
                out.append(None)
        return out


def decode_resident(scan: FolderScan, resize: int, device: torch.device, chunk: int = 64) -> list[Tensor]:
    """Decode every image of ``scan`` once, resized, as (3, H, W) uint8 tensors on ``device``.

    On CUDA, JPEGs are decoded by nvJPEG on the GPU in batches of ``chunk``; other formats (and JPEGs nvJPEG
    refuses) are decoded by Pillow and copied over.
    """
    images: list[Tensor | None] = [None] * len(scan.files)
    if device.type == "cuda":
        jpegs = [i for i, p in enumerate(scan.files) if p.suffix.lower() in _JPEG_SUFFIXES]
        for start in range(0, len(jpegs), chunk):
            idx = jpegs[start:start + chunk]
            for i, img in zip(idx, _decode_jpegs_cuda([scan.files[i] for i in idx], device), strict=True):
                images[i] = None if img is None else _resize_on_device(img, resize)
    rest = [i for i, img in enumerate(images) if img is None]
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        decoded = pool.map(lambda i: load_resized(scan.files[i], resize), rest)
        for i, img in zip(rest, decoded, strict=True):
            images[i] = img.to(device)
    return [img for img in images if img is not None]


def fixed_images(scan: FolderScan, count: int, size: int) -> Tensor:
    """Return ``count`` images spread over the folder, resized and centre-cropped: (count, 3, size, size).

    Values in [0, 1]. Used for sample grids that show the same pairs throughout a run.
    """
    count = min(count, len(scan.files))
    picks = np.linspace(0, len(scan.files) - 1, count).round().astype(int).tolist()
    out = []
    for i in picks:
        img = load_resized(scan.files[i], size)
        top, left = (img.shape[1] - size) // 2, (img.shape[2] - size) // 2
        out.append(img[:, top:top + size, left:left + size])
    return torch.stack(out).float().div_(255.0)
