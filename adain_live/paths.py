"""Where adain-live keeps its files on each OS (``platformdirs``); ``$ADAIN_LIVE_HOME`` moves all of them.

* cache (downloaded weights, style codes): Linux ``$XDG_CACHE_HOME/adain-live`` (``~/.cache``), macOS
  ``~/Library/Caches/adain-live``, Windows ``%LOCALAPPDATA%/adain-live/Cache``;
* config and data: ``$XDG_CONFIG_HOME`` / ``$XDG_DATA_HOME`` on Linux, ``~/Library/Application Support`` on macOS,
  ``%LOCALAPPDATA%`` on Windows, each with an ``adain-live`` folder;
* recordings: an ``adain-live`` folder in the Videos folder (``~/Movies`` on macOS).

With ``ADAIN_LIVE_HOME`` set, the cache is that folder itself and the others are its ``config``, ``data`` and
``recordings`` sub-folders. Nothing is created here: writers create what they write into.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs.api import PlatformDirsABC

APP = "adain-live"


def _home() -> Path | None:
    home = os.environ.get("ADAIN_LIVE_HOME")
    return Path(home).expanduser() if home else None


def _dirs(platform: str | None) -> PlatformDirsABC:
    """The platformdirs rules for ``platform`` (default: this one; tests pass another)."""
    platform = platform or sys.platform
    if platform == "win32":
        from platformdirs.windows import Windows as Dirs
    elif platform == "darwin":
        from platformdirs.macos import MacOS as Dirs  # type: ignore[assignment]
    else:
        from platformdirs.unix import Unix as Dirs  # type: ignore[assignment]
    return Dirs(APP, appauthor=False)


def cache_dir(platform: str | None = None) -> Path:
    """Downloaded weights and cached style codes: ``$ADAIN_LIVE_HOME``, else the OS's cache folder."""
    home = _home()
    return home if home else _dirs(platform).user_cache_path


def config_dir(platform: str | None = None) -> Path:
    """Settings: ``$ADAIN_LIVE_HOME/config``, else the OS's config folder."""
    home = _home()
    return home / "config" if home else _dirs(platform).user_config_path


def data_dir(platform: str | None = None) -> Path:
    """Files the user keeps (e.g. imported styles): ``$ADAIN_LIVE_HOME/data``, else the OS's data folder."""
    home = _home()
    return home / "data" if home else _dirs(platform).user_data_path


def recordings_dir(platform: str | None = None) -> Path:
    """Default folder for recordings and snapshots: an ``adain-live`` folder in the OS's Videos (Movies) folder."""
    home = _home()
    return home / "recordings" if home else _dirs(platform).user_videos_path / APP
