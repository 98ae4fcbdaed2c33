"""Types shared by the parts of the live loop and its consumers; imports nothing else of the loop.

A source yields frames, the inference loop turns the newest one into a :class:`LiveResult`, and every
:class:`FrameSink` (recording, virtual camera, the GUI) receives it. Keeping these here lets the sinks and the
runner import them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from adain_live.errors import UserError


class FrameSource(Protocol):
    """What the live loop needs from a media source: ``read()`` → frame or None at the end, ``close()``."""

    def read(self) -> Any:
        """Return the next ``Frame`` (RGB uint8 ``image``, ``index``, ``timestamp``), or None at the end."""

    def close(self) -> None:
        """Release the device or file (idempotent)."""


@dataclass(frozen=True)
class LiveResult:
    """One stylized frame and what it came from."""

    #: The stylized frame (RGB uint8 HWC, processing resolution).
    image: np.ndarray
    #: The captured frame it was made from (mirrored when mirroring is on).
    original: np.ndarray
    #: The source's frame index and media time in seconds.
    index: int
    timestamp: float
    #: ``time.perf_counter()`` when the frame was captured (capture→display latency).
    captured_at: float
    #: Network time of this frame in milliseconds (0 when no style is set).
    infer_ms: float
    #: Processing size (short side, 0 = native) in effect for this frame.
    size: int
    #: The path the frame took (``eager``, ``compiled``, ``cuda-graph``, ``eager (compiled building)``…; "" unstyled).
    path: str = ""


class FrameSink(Protocol):
    """Anything that receives every new result, called from the inference thread: it must return quickly."""

    def __call__(self, result: LiveResult) -> None:
            """Take ``result`` (queue it, copy it, drop it; never block)."""


@dataclass(frozen=True)
class Captured:
    """A frame as the capture loop hands it to inference."""

    image: np.ndarray
    index: int
    timestamp: float
    #: ``time.perf_counter()`` when it was read.
    captured_at: float


def one_line(exc: BaseException, what: str) -> str:
    """The first line of ``exc``'s message; prefixed with ``what`` unless it is a UserError (already actionable)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if isinstance(exc, UserError) else f"{what}: {text}"
