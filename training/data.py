"""Image-folder data for training: infinite, seeded, resumable streams of random crops.

The recipe is pytorch-AdaIN's: resize the shorter side to ``resize`` (512), then take a random ``crop`` (256)
square. Every random choice is a pure function of ``(seed, stream, sample number)`` — the epoch permutation of
the files and each crop's position — so a stream's whole state is the number of samples it has handed out
(:meth:`ImageStream.state_dict`), and a resumed run sees exactly the batches an uninterrupted one would,
however many loader workers there are.

Two back ends give identical crop positions:

* **resident** (default on CUDA when the folder fits ``resident_gb``): every file is decoded once — JPEGs with
  ``torchvision.io.decode_jpeg(device="cuda")`` —, resized on the device and kept there as ``uint8``; a batch
  is a few slices and a stack, so the training loop never waits on data.
* **workers** (default on CPU, or a folder too large for the device): a ``DataLoader`` with worker processes
  decoding with Pillow (JPEG draft mode: decoded at reduced scale when that still covers ``resize``), pinned
  memory and non-blocking copies.

Usage::

    batches = make_batches("data/content", "data/style", batch=8, device="cuda", seed=0)
    content, style = next(batches)            # float [0, 1], (8, 3, 256, 256), on the device
    state = batches.state_dict()              # save with the checkpoint ...
    batches.load_state_dict(state)            # ... and continue bit-for-bit after a restart
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from adain_live.errors import UserError
from training.images import (
    FolderScan,
    decode_resident,
    fixed_images,
    load_resized,
    resized_size,
    scan_folder,
)

__all__ = ["CropSpec", "FolderScan", "ImageStream", "PairStream", "fixed_images", "make_batches", "scan_folder"]

log = logging.getLogger(__name__)

_MASK64 = (1 << 64) - 1


# --- stateless randomness ---------------------------------------------------------------------------------
def _splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on uint64 arrays (wrapping arithmetic): a cheap, well-mixed integer hash."""
    x = (x + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(_MASK64)
    x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & np.uint64(_MASK64)
    x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & np.uint64(_MASK64)
    return x ^ (x >> np.uint64(31))


def sample_uniform(seed: int, stream: int, samples: np.ndarray, salt: int) -> np.ndarray:
    """Uniform [0, 1) numbers that depend only on (seed, stream, sample number, salt)."""
    key = _splitmix(np.array([(seed * 1_000_003 + stream * 7919 + salt) & _MASK64], dtype=np.uint64))
    with np.errstate(over="ignore"):
        h = _splitmix(samples.astype(np.uint64) ^ key)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def crop_boxes(seed: int, stream: int, samples: np.ndarray, heights: np.ndarray, widths: np.ndarray, crop: int,
               scale: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top, left and side of the random squares cut for the given sample numbers from images of these sizes.

    Without ``scale`` every square is ``crop`` pixels. With ``scale=(lo, hi)`` its side is a random fraction
    in ``[lo, hi]`` of the image's shorter side (never below ``crop``), later resized to ``crop``.
    """
    if scale is None:
        side = np.full(len(samples), crop, dtype=np.int64)
    else:
        short = np.minimum(heights, widths)
        lo = np.minimum(1.0, np.maximum(scale[0], crop / short))
        hi = np.maximum(scale[1], lo)
        frac = lo + (hi - lo) * sample_uniform(seed, stream, samples, 3)
        side = np.clip(np.round(frac * short), crop, short).astype(np.int64)
    top = np.floor(sample_uniform(seed, stream, samples, 1) * (heights - side + 1)).astype(np.int64)
    left = np.floor(sample_uniform(seed, stream, samples, 2) * (widths - side + 1)).astype(np.int64)
    return top, left, side


@dataclass(frozen=True)
class CropSpec:
    """How a sample is cut: ``crop`` px squares; random-scale squares (``scale``) and mirroring (``flip``)."""

    crop: int
    scale: tuple[float, float] | None = None
    flip: bool = False

    def cut_samples(self, images: Sequence[Tensor], samples: np.ndarray, seed: int, stream: int) -> list[Tensor]:
        """Cut sample ``samples[j]``'s square from ``images[j]`` (float when ``scale`` is set, else uint8)."""
        heights = np.array([int(im.shape[1]) for im in images])
        widths = np.array([int(im.shape[2]) for im in images])
        top, left, side = crop_boxes(seed, stream, samples, heights, widths, self.crop, self.scale)
        flips = (sample_uniform(seed, stream, samples, 4) < 0.5) if self.flip else np.zeros(len(samples), bool)
        out = [cut(im, int(t), int(x), int(sd), self.crop, bool(f))
               for im, t, x, sd, f in zip(images, top, left, side, flips, strict=True)]
        return [o.float() for o in out] if self.scale is not None else out


def cut(image: Tensor, top: int, left: int, side: int, crop: int, flip: bool = False) -> Tensor:
    """The ``side`` square at (top, left) of a (3, H, W) image, resized to ``crop`` (then float) and mirrored."""
    patch = image[:, top:top + side, left:left + side]
    if side != crop:
        patch = F.interpolate(patch[None].float(), size=(crop, crop), mode="bilinear", align_corners=False,
                              antialias=True)[0]
    return patch.flip(-1) if flip else patch


class _Order:
    """Maps a sample number to a file index: a fresh seeded permutation of the files every epoch."""

    def __init__(self, count: int, seed: int, stream: int) -> None:
        self.count, self.seed, self.stream = count, seed, stream
        self._epoch, self._perm = -1, np.arange(count)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        out = np.empty(len(samples), dtype=np.int64)
        for i, k in enumerate(samples.tolist()):
            epoch, pos = divmod(int(k), self.count)
            if epoch != self._epoch:
                self._perm = np.random.default_rng((self.seed, self.stream, epoch)).permutation(self.count)
                self._epoch = epoch
            out[i] = self._perm[pos]
        return out


# --- workers back end -------------------------------------------------------------------------------------
class _CropDataset(Dataset[Tensor]):
    """Dataset indexed by *sample number*: returns that sample's random crop as (3, crop, crop)."""

    def __init__(self, scan: FolderScan, spec: CropSpec, resize: int, seed: int, stream: int) -> None:
        self.files, self.spec, self.resize, self.seed, self.stream = scan.files, spec, resize, seed, stream
        self.order = _Order(len(scan.files), seed, stream)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, sample: int) -> Tensor:
        k = np.array([sample])
        index = int(self.order(k)[0])
        try:
            image = load_resized(self.files[index], self.resize)
        except (OSError, ValueError) as exc:  # changed on disk since the scan: use a neighbour
            log.warning("skipping %s: %s", self.files[index], exc)
            image = load_resized(self.files[(index + 1) % len(self.files)], self.resize)
        return self.spec.cut_samples([image], k, self.seed, self.stream)[0]


class _CountSampler(Sampler[int]):
    """Yields sample numbers ``start, start+1, ...`` forever."""

    def __init__(self, start: int) -> None:
        self.start = start

    def __iter__(self) -> Iterator[int]:
        k = self.start
        while True:
            yield k
            k += 1


def _resident_bytes(scan: FolderScan, resize: int) -> int:
    return sum(3 * h * w for h, w in (resized_size(sw, sh, resize) for sw, sh in scan.sizes))


def _default_resident_budget(device: torch.device) -> int:
    """Return a quarter of the GPU's memory (at most 20 GiB) for the resident images of one folder."""
    if device.type != "cuda":
        return 0
    total = torch.cuda.get_device_properties(device).total_memory
    return min(total // 4, 20 << 30)


def default_workers() -> int:
    """Loader processes per stream: half the cores (two streams), 1 to 6."""
    return max(1, min(6, ((os.cpu_count() or 2) - 1) // 2))


# --- streams ----------------------------------------------------------------------------------------------
class ImageStream:
    """Infinite, resumable stream of random-crop batches from one folder: float [0, 1] (B, 3, crop, crop).

    Parameters
    ----------
    source
        A folder, or a :class:`FolderScan` of one (scan once, reuse).
    batch, crop, resize
        Batch size, crop side, and the shorter side images are resized to first (``resize >= crop``).
    device
        Where batches are delivered.
    seed, stream
        Randomness key: two streams over the same folder with different ``stream`` numbers are independent.
    role
        Name of the folder in messages ("content", "style").
    resident
        Keep all images decoded on ``device``; None: on CUDA when they fit in ``resident_gb``.
    workers
        Loader processes for the non-resident path (None: :func:`default_workers`; 0: in this process).
    resident_gb
        Memory budget for ``resident=None`` (default: a quarter of the GPU's memory, at most 20 GiB).
    scale, flip
        Random-scale crops: squares of a random fraction in ``scale`` of the shorter side, resized to ``crop``
        (None: plain ``crop`` squares, the paper's recipe); mirror half of the crops left-right.
    """

    def __init__(self, source: str | Path | FolderScan, batch: int, crop: int = 256, resize: int = 512,
                 device: torch.device | str = "cpu", seed: int = 0, stream: int = 0, *, role: str = "image",
                 resident: bool | None = None, workers: int | None = None,
                 resident_gb: float | None = None, scale: tuple[float, float] | None = None,
                 flip: bool = False) -> None:
        if batch < 1 or crop < 8 or resize < crop:
            raise UserError(f"need batch >= 1, crop >= 8 and resize >= crop; got batch {batch}, crop {crop}, "
                            f"resize {resize}")
        self.scan = source if isinstance(source, FolderScan) else scan_folder(source, role)
        self.batch, self.crop, self.resize, self.seed, self.stream = batch, crop, resize, seed, stream
        self.spec = CropSpec(crop, scale, flip)
        self.device = torch.device(device)
        self.workers = default_workers() if workers is None else workers
        self.consumed = 0
        self._order = _Order(len(self.scan.files), seed, stream)
        self._loader_iter: Iterator[Tensor] | None = None
        if resident is None:
            budget = (_default_resident_budget(self.device) if resident_gb is None
                      else int(resident_gb * 2**30))
            resident = _resident_bytes(self.scan, resize) <= budget
        self._images: list[Tensor] | None = None
        if resident:
            self._images = decode_resident(self.scan, resize, self.device)

    @property
    def backend(self) -> str:
        """``"resident"`` (images kept decoded on the device) or ``"workers"`` (decoded per batch)."""
        return "resident" if self._images is not None else "workers"

    def __iter__(self) -> ImageStream:
        return self

    def __next__(self) -> Tensor:
        if self._images is not None:
            out = self._resident_batch()
        else:
            if self._loader_iter is None:
                self._loader_iter = iter(self._make_loader())
            out = next(self._loader_iter).to(self.device, non_blocking=True)
        self.consumed += self.batch
        return out.float().div_(255.0)

    def _resident_batch(self) -> Tensor:
        assert self._images is not None
        ks = np.arange(self.consumed, self.consumed + self.batch)
        images = [self._images[i] for i in self._order(ks).tolist()]
        return torch.stack(self.spec.cut_samples(images, ks, self.seed, self.stream))

    def _make_loader(self) -> DataLoader[Tensor]:
        dataset = _CropDataset(self.scan, self.spec, self.resize, self.seed, self.stream)
        extra: dict[str, Any] = {"prefetch_factor": 4, "persistent_workers": False} if self.workers else {}
        # Own generator: creating the loader's iterator must not draw from the global RNG (exact resume).
        return DataLoader(dataset, batch_size=self.batch, sampler=_CountSampler(self.consumed),
                          num_workers=self.workers, pin_memory=self.device.type == "cuda",
                          generator=torch.Generator().manual_seed(self.seed), **extra)

    def state_dict(self) -> dict[str, int]:
        """Return the stream's whole state: how many samples it has delivered."""
        return {"consumed": self.consumed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """Continue from a :meth:`state_dict` (restarts the loader workers at that sample)."""
        self.close()
        self.consumed = int(state["consumed"])

    def close(self) -> None:
        """Stop loader workers (idempotent; the stream can still be iterated afterwards)."""
        self._loader_iter = None


class PairStream:
    """Two :class:`ImageStream` s (content, style) iterated together: yields ``(content, style)`` batches."""

    def __init__(self, content: ImageStream, style: ImageStream) -> None:
        self.content, self.style = content, style

    def __iter__(self) -> PairStream:
        return self

    def __next__(self) -> tuple[Tensor, Tensor]:
        return next(self.content), next(self.style)

    def state_dict(self) -> dict[str, dict[str, int]]:
        """States of both streams."""
        return {"content": self.content.state_dict(), "style": self.style.state_dict()}

    def load_state_dict(self, state: dict[str, dict[str, int]]) -> None:
        """Continue both streams from :meth:`state_dict`."""
        self.content.load_state_dict(state["content"])
        self.style.load_state_dict(state["style"])

    def close(self) -> None:
        """Stop both streams' workers."""
        self.content.close()
        self.style.close()

    def __enter__(self) -> PairStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_batches(content_dir: str | Path, style_dir: str | Path, batch: int = 8, crop: int = 256,
                 resize: int = 512, device: torch.device | str = "cpu", seed: int = 0,
                 **kwargs: Any) -> PairStream:
    """Infinite, resumable ``(content, style)`` batches, float [0, 1] (B, 3, crop, crop) on ``device``.

    ``kwargs`` (``resident``, ``workers``, ``resident_gb``) go to both :class:`ImageStream` s.
    Raises :class:`UserError` (one line) for a missing or empty folder.
    """
    content = ImageStream(content_dir, batch, crop, resize, device, seed, 0, role="content", **kwargs)
    style = ImageStream(style_dir, batch, crop, resize, device, seed, 1, role="style", **kwargs)
    return PairStream(content, style)
