"""The size governor: when the device runs out of memory, step the processing size down a ladder.

It reacts to one typed error, :class:`~adain_live.errors.DeviceMemoryError` (the pipeline raises it when a
frame cannot fit; :func:`as_memory_error` turns torch's allocation failure into one), never to message text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

from adain_live.errors import DeviceMemoryError

log = logging.getLogger(__name__)

#: Processing sizes (short side) tried in turn when the device runs out of memory.
SIZE_LADDER: tuple[int, ...] = (1080, 720, 480, 360, 240, 180)


def lower_size(size: int, short_side: int) -> int | None:
    """Return the next ladder size below the size in effect (``size``; 0 = native ``short_side``), or None."""
    current = short_side if size <= 0 else min(size, short_side)
    return next((s for s in SIZE_LADDER if s < current), None)


def as_memory_error(exc: BaseException, device: torch.device) -> DeviceMemoryError | None:
    """``exc`` as a :class:`DeviceMemoryError` if it means the device ran out of memory, else None.

    The pipeline raises DeviceMemoryError itself when it can tell beforehand; torch raises OutOfMemoryError
    (CUDA) when an allocation fails.
    """
    if isinstance(exc, DeviceMemoryError):
        return exc
    if isinstance(exc, torch.OutOfMemoryError):
        return DeviceMemoryError(f"out of memory on {device} at this resolution", device=str(device))
    return None


class SizeGovernor:
    """Choose a smaller processing size after an out-of-memory failure.

    Parameters
    ----------
    device
        The pipeline's device (its cache is emptied before the retry on CUDA).
    on_size, on_error
        Told the new size, and a one-line message saying why it changed.
    """

    def __init__(self, device: torch.device, on_size: Callable[[int], None],
                 on_error: Callable[[str], None]) -> None:
        self.device = device
        self._on_size, self._on_error = on_size, on_error

    def react(self, exc: BaseException, size: int, short_side: int) -> int | None:
        """Return the size to continue at if ``exc`` is out of memory and a smaller size is left, else None."""
        if as_memory_error(exc, self.device) is None:
            return None
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        smaller = lower_size(size, short_side)
        if smaller is None:
            return None
        self._on_size(smaller)
        self._on_error(f"out of memory on {self.device} at this resolution; lowered the processing size to "
                       f"{smaller}p")
        return smaller
