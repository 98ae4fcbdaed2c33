"""The live loop's settings as one frozen, validated snapshot, replaced atomically.

Any thread (the GUI's worker) changes settings with :meth:`SettingsBox.update`; the inference loop reads the
whole snapshot once per frame with :meth:`SettingsBox.get`, so a frame never sees half of a change and no
setting is applied by name.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

from adain_live.engine.config import check_alpha, check_size
from adain_live.engine.mask import check_region
from adain_live.engine.temporal import StabilizeSettings


@dataclass(frozen=True)
class LiveSettings:
    """What the live output looks like (the style itself is handled by the fader)."""

    #: Content–style trade-off in [0, 1].
    alpha: float = 1.0
    #: Keep the content's colours.
    preserve_color: bool = False
    #: Processing size of the short side asked for (0 = native; a smaller source runs natively).
    size: int = 0
    #: Output frozen on the current frame (settings changes still re-render it).
    paused: bool = False
    #: Frames flipped left–right before stylizing.
    mirror: bool = False
    #: Temporal stabilisation (mode ``off`` = none).
    stabilize: StabilizeSettings = dataclasses.field(default_factory=StabilizeSettings)
    #: What gets the style: everything, person, background or person+background (engine.mask.REGIONS).
    region: str = "everything"

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", check_alpha(self.alpha))
        object.__setattr__(self, "size", check_size(self.size))
        object.__setattr__(self, "preserve_color", bool(self.preserve_color))
        object.__setattr__(self, "paused", bool(self.paused))
        object.__setattr__(self, "mirror", bool(self.mirror))
        object.__setattr__(self, "region", check_region(self.region))


class SettingsBox:
    """Holds the current :class:`LiveSettings` and a version number that grows with every change."""

    def __init__(self, initial: LiveSettings, on_change: Any = None) -> None:
        self._lock = threading.Lock()
        self._settings, self._version = initial, 0
        self._on_change = on_change

    def update(self, **changes: Any) -> LiveSettings:
        """Replace the snapshot with ``changes`` applied (validated: ValueError, nothing changed); return it."""
        with self._lock:
            new = dataclasses.replace(self._settings, **changes)
            if new != self._settings:
                self._settings, self._version = new, self._version + 1
        if self._on_change is not None:
            self._on_change()
        return new

    def get(self) -> tuple[int, LiveSettings]:
        """Return ``(version, snapshot)``."""
        with self._lock:
            return self._version, self._settings

    @property
    def current(self) -> LiveSettings:
        """The current snapshot."""
        return self.get()[1]
