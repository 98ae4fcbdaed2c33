"""adain-live: real-time arbitrary style transfer (AdaIN) for webcams and video files."""

from __future__ import annotations

__version__ = "0.1.0"


class AdainLiveWarning(UserWarning):
    """Warnings raised by adain-live itself (tests turn them into errors)."""
