"""Process-wide settings that must be in place before torch or OpenCV load (called by entry points only)."""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

#: Environment each platform needs, set only where the user has not set it already.
_PLATFORM_ENV: dict[str, dict[str, str]] = {
    # Operators without an MPS kernel run on the CPU instead of failing; torch reads this when it loads.
    "darwin": {"PYTORCH_ENABLE_MPS_FALLBACK": "1"},
    # Media Foundation's hardware transforms make each camera open take seconds (OpenCV's documented switch).
    "win32": {"OPENCV_VIDEOIO_MSMF_ENABLE_HW_TRANSFORMS": "0"},
}


def prepare_environment(environ: MutableMapping[str, str] | None = None, platform: str | None = None) -> None:
    """Set the platform's environment defaults; call first thing in an entry point, before torch is imported."""
    environ = os.environ if environ is None else environ
    for key, value in _PLATFORM_ENV.get(platform or sys.platform, {}).items():
        environ.setdefault(key, value)
