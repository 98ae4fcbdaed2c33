"""Style collection: image files and folders, thumbnails, and their style codes cached in memory and on disk.

A style code (:class:`~adain_live.core.codes.StyleCode`: AdaIN statistics, or MicroAST's statistics and
modulation vectors) is keyed by the style file's content hash, the model's identity and the style size, so a
renamed file is still a cache hit and a different model never reuses another model's code. Computing it is
the caller's ``compute`` function (the engine pipeline's ``style_code``), run in a worker thread. On disk a
code is a small safetensors file whose metadata names its family.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from safetensors import safe_open
from safetensors.torch import save_file

from adain_live._fs import atomic_write_path, image_suffix_list, is_image_file, list_images, sha256_file
from adain_live.core.codes import StyleCode, code_from_state_dict
from adain_live.errors import MediaError, UserError
from adain_live.media.images import read_image

log = logging.getLogger(__name__)


#: ``compute(rgb_uint8_hwc) -> StyleCode``
ComputeStats = Callable[[np.ndarray], StyleCode]


@dataclass(frozen=True)
class StyleEntry:
    """One style image in the gallery."""

    path: Path
    digest: str

    @property
    def name(self) -> str:
        """Display name (the file stem)."""
        return self.path.stem.replace("_", " ")


def file_digest(path: Path) -> str:
    """Hex sha256 of a file's content (MediaError when it cannot be read)."""
    try:
        return sha256_file(path)
    except OSError as exc:
        raise MediaError(f"cannot read style image {path} ({exc.strerror or exc})") from exc


def collect_images(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[str]]:
    """Image files named directly or found in the given folders (one level, sorted), and one-line problems."""
    found: list[Path] = []
    problems: list[str] = []
    for raw in paths:
        p = Path(raw).expanduser()
        if p.is_dir():
            found.extend(list_images(p))
        elif is_image_file(p):
            found.append(p)
        elif p.exists():
            problems.append(f"{p.name} is not an image file ({image_suffix_list()})")
        else:
            problems.append(f"style image not found: {p}")
    return found, problems


def model_identity(model: torch.nn.Module) -> str:
    """Return a short content hash of a model's weights (shapes plus a sample of every tensor's values)."""
    h = hashlib.sha256()
    for name, t in sorted(model.state_dict().items()):
        flat = t.detach().reshape(-1)
        sample = flat[:: max(1, flat.numel() // 4096)].float().cpu().numpy()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(sample.tobytes())
    return h.hexdigest()[:16]


def _read_rgb(path: Path) -> np.ndarray:
    rgb, _alpha = read_image(path)
    return np.asarray(rgb)


class StyleGallery:
    """An ordered set of styles with a two-level statistics cache.

    Parameters
    ----------
    compute
        Statistics of an RGB uint8 image; only called on a cache miss, from the caller's thread.
    model_id
        Identity of the model the statistics belong to (see :func:`model_identity`).
    cache_root
        Folder of cached codes (``weights.cache_dir() / "stats"``); None keeps them in memory only.
    style_size
        Short side the style images are resized to before their statistics are taken (part of the key).
    """

    def __init__(self, compute: ComputeStats, model_id: str, cache_root: Path | None = None,
                 style_size: int = 512, read: Callable[[Path], np.ndarray] = _read_rgb) -> None:
        self._compute, self.model_id = compute, model_id
        self.cache_root, self.style_size = cache_root, style_size
        self._read = read
        self.entries: list[StyleEntry] = []
        self._memory: dict[str, StyleCode] = {}
        self._lock = threading.Lock()

    def add(self, paths: Iterable[str | os.PathLike[str]]) -> tuple[list[StyleEntry], list[str]]:
        """Add image files / folders; returns the new entries and one-line problems (duplicates skipped)."""
        files, problems = collect_images(paths)
        known = {e.digest for e in self.entries}
        added: list[StyleEntry] = []
        for f in files:
            try:
                entry = StyleEntry(f.resolve(), file_digest(f))
            except UserError as exc:
                problems.append(str(exc))
                continue
            if entry.digest not in known:
                known.add(entry.digest)
                self.entries.append(entry)
                added.append(entry)
        return added, problems

    def remove(self, entry: StyleEntry) -> None:
        """Forget a style (its cached statistics stay on disk)."""
        self.entries = [e for e in self.entries if e.digest != entry.digest]

    def find(self, path: str | os.PathLike[str]) -> StyleEntry | None:
        """Return the entry for ``path``, or None."""
        p = Path(path).expanduser().resolve()
        return next((e for e in self.entries if e.path == p), None)

    def key(self, entry: StyleEntry) -> str:
        """Cache key: content hash, model identity and style size."""
        return f"{entry.digest[:32]}-{self.model_id}-{self.style_size}"

    def cached(self, entry: StyleEntry) -> StyleCode | None:
        """The code if already in memory, without computing anything."""
        with self._lock:
            return self._memory.get(self.key(entry))

    def code(self, entry: StyleEntry) -> StyleCode:
        """Style code of ``entry``: from memory, else disk, else computed (then cached in both)."""
        key = self.key(entry)
        hit = self.cached(entry) or self._load(key)
        if hit is None:
            hit = self._compute(self._read(entry.path)).to("cpu")
            self._save(key, hit)
        with self._lock:
            self._memory[key] = hit
        return hit

    def _path(self, key: str) -> Path | None:
        return None if self.cache_root is None else self.cache_root / f"{key}.safetensors"

    #: The name used when codes were AdaIN statistics only; same as :meth:`code`.
    stats = code

    def _load(self, key: str) -> StyleCode | None:
        p = self._path(key)
        if p is None or not p.is_file():
            return None
        try:
            with safe_open(str(p), framework="pt") as f:
                state = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open is not a dict
                meta = f.metadata()
            return code_from_state_dict(state, meta)
        except Exception as exc:  # noqa: BLE001 - a corrupt cache entry is recomputed, not fatal
            log.warning("ignoring unreadable cached statistics %s (%s)", p, exc)
            return None

    def _save(self, key: str, code: StyleCode) -> None:
        p = self._path(key)
        if p is None:
            return
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write_path(p) as tmp:
                save_file(code.state_dict(), str(tmp), metadata=code.metadata())
        except OSError as exc:
            log.warning("cannot cache style statistics in %s (%s); they stay in memory", p.parent, exc)


def thumbnail(path: Path, max_side: int = 160) -> np.ndarray:
    """Return a small RGB uint8 copy of an image (JPEGs decode at reduced size); MediaError if unreadable."""
    try:
        with Image.open(path) as im:
            im.draft("RGB", (max_side, max_side))
            rgb = ImageOps.exif_transpose(im).convert("RGB")
            rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise MediaError(f"cannot read style image {path.name}: not a readable image ({exc})") from exc
