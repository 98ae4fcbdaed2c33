"""The live loop's region setting (everything, person, background, person + background) applied to the pipeline.

The person segmenter is loaded the first time a region needs it, on the pipeline's device; the pipeline's
region is replaced only when the setting (or the background's style) changes, so the mask's moving average
carries over from frame to frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from adain_live.core.codes import StyleCode
from adain_live.engine.mask import MaskSettings, PersonMasker, Region, bundled_masker

#: Live masks: half of the previous frame's mask kept (steady edge at 15-30 fps), a 1-px feather.
LIVE_MASK = MaskSettings(smoothing=0.5, feather=1.0)


class RegionSync:
    """Keeps the pipeline's region in step with the live settings (called from the inference thread)."""

    def __init__(self, make_masker: Callable[[torch.device], PersonMasker] | None = None) -> None:
        self._make = make_masker or (lambda device: bundled_masker(device, LIVE_MASK))
        self._masker: PersonMasker | None = None
        self._applied: tuple[str, int] = ("everything", id(None))
        #: The background's style for ``person+background`` (set from any thread; read once per frame).
        self.background: StyleCode | None = None

    def reset(self) -> None:
        """Forget the mask history (a new source)."""
        if self._masker is not None:
            self._masker.reset()

    def apply(self, pipe: Any, region: str) -> None:
        """Install ``region`` in ``pipe`` if it changed (``person+background`` without a background: person)."""
        bg = self.background if region == "person+background" else None
        key = (region, id(bg))
        if key == self._applied:
            return
        if region == "everything":
            pipe.set_region(None)
        else:
            if self._masker is None:
                self._masker = self._make(pipe.device)
            name = "person" if region == "person+background" and bg is None else region
            pipe.set_region(Region(name, self._masker, bg))
        self._applied = key
