"""Frozen, validated configuration of a stylization run."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: Largest processing size we accept for the short side (beyond this, use tiling or --size).
MAX_SIZE = 16384


def check_alpha(alpha: float) -> float:
    """Return ``alpha`` as a float; ValueError with the value and the range unless 0 <= alpha <= 1.

    Every setting that enters the engine (command line, config, the live runner's setters) goes through one of
    these checks, so the same value is accepted or refused everywhere with the same message.
    """
    value = float(alpha)
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    return value


def check_size(size: int, name: str = "size") -> int:
    """Return ``size`` as an int; ValueError unless it is 0 (native) or 1..:data:`MAX_SIZE`."""
    value = int(size)
    if value != size or not 0 <= value <= MAX_SIZE:
        raise ValueError(f"{name} must be 0 (native) or 1..{MAX_SIZE}, got {size}")
    return value


def check_mix(mix: Sequence[float] | None) -> tuple[float, ...] | None:
    """Return ``mix`` as floats; ValueError unless every weight and their sum are finite and the sum is non-zero.

    Weights are normalised to sum 1 (negative ones extrapolate); NaN, infinity or a sum that overflows
    (``1e308,1e308``) would otherwise turn every pixel black without an error.
    """
    if mix is None:
        return None
    weights = tuple(float(w) for w in mix)
    if not weights:
        raise ValueError("--mix needs one weight per style, e.g. 0.3,0.7")
    if not all(math.isfinite(w) for w in weights):
        raise ValueError(f"mix weights {list(mix)} must be finite numbers, e.g. 0.3,0.7")
    total = sum(weights)  # may overflow to inf (1e308,1e308): refused below
    if not math.isfinite(total) or abs(total) < 1e-8:
        raise ValueError(f"mix weights {list(mix)} must have a finite, non-zero sum, e.g. 0.3,0.7")
    if not all(math.isfinite(w / total) and abs(w / total) <= 1e6 for w in weights):
        raise ValueError(f"mix weights {list(mix)} are out of range: keep them within a million times their sum")
    return weights


@dataclass(frozen=True)
class StyleConfig:
    """What the output looks like: α, style mix weights, colour preservation, processing size.

    ``size`` is the processing size of the content's shorter side (0 = native). ``style_size`` is the same
    for style images. ``mix`` holds one weight per style (None = equal weights).
    """

    alpha: float = 1.0
    mix: tuple[float, ...] | None = None
    preserve_color: bool = False
    size: int = 512
    style_size: int = 512

    def __post_init__(self) -> None:
        check_alpha(self.alpha)
        check_size(self.size, "size")
        check_size(self.style_size, "style_size")
        check_mix(self.mix)

    def check_styles(self, n_styles: int) -> None:
        """Raise ValueError unless ``mix`` has one weight per style."""
        if self.mix is not None and len(self.mix) != n_styles:
            raise ValueError(f"--mix has {len(self.mix)} weights for {n_styles} styles; give one per style")


#: What a pipeline's outputs are sized to: the input frame's size, or the processing size.
OUTPUT_SIZES = ("input", "processing")


@dataclass(frozen=True)
class RuntimeConfig:
    """Which model runs where and how: what :func:`adain_live.engine.session.open_session` builds.

    ``model`` names a registered model (None: the default); ``vgg``/``decoder`` are weight files given
    instead. ``size`` is the processing size of the short side (0 = native; None = what suits live video on
    the device). ``compile`` turns on torch.compile on CUDA (worth it when every frame has one size: video);
    ``cuda_graphs`` replays each frame shape as a CUDA graph (CUDA only). ``live`` leaves a CPU core free for
    capture, encoding and the GUI; ``threads`` sets the CPU threads instead.
    """

    model: str | None = None
    vgg: Path | None = None
    decoder: Path | None = None
    device: str = "auto"
    precision: str = "auto"
    size: int | None = 512
    output_size: str = "input"
    compile: bool = False
    cuda_graphs: bool = True
    live: bool = False
    threads: int | None = None
    tile: int | None = None
    max_memory_gb: float | None = None

    def __post_init__(self) -> None:
        if self.size is not None:
            check_size(self.size)
        if self.output_size not in OUTPUT_SIZES:
            raise ValueError(f"output_size must be one of {', '.join(OUTPUT_SIZES)}, got {self.output_size!r}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"--threads must be at least 1, got {self.threads}")
        if self.max_memory_gb is not None and not self.max_memory_gb > 0:
            raise ValueError(f"--max-memory-gb must be positive, got {self.max_memory_gb}")


def parse_mix(text: str | None) -> tuple[float, ...] | None:
    """Parse ``"0.3,0.7"`` into weights; raise ValueError with the bad text."""
    if text is None:
        return None
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"--mix {text!r} is not a comma-separated list of numbers, e.g. 0.3,0.7") from None


def parse_sizes(items: Sequence[str]) -> list[tuple[int, int]]:
    """Parse ``["1280x720", ...]`` into (width, height) pairs."""
    out = []
    for item in items:
        try:
            w, h = (int(v) for v in item.lower().split("x"))
        except ValueError:
            raise ValueError(f"size {item!r} is not WIDTHxHEIGHT, e.g. 1280x720") from None
        if w < 1 or h < 1:
            raise ValueError(f"size {item!r} must be positive")
        out.append((w, h))
    return out
