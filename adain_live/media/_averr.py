"""Translate PyAV / OS errors into one-line :class:`MediaError` messages."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import av

from adain_live.errors import MediaError

_DISK_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}


def quiet_ffmpeg() -> None:
    """Keep PyAV's FFmpeg-to-Python log bridge off.

    STYLE habit 7 suggests ``set_level(ERROR)`` for richer exception messages, but that bridge calls into
    Python from FFmpeg's worker threads and deadlocks with threaded decoding/encoding (PyAV issues #751,
    #909; reproduced here under pytest's log capture). Exceptions still carry FFmpeg's error string.
    """
    if av.logging.get_level() is not None:
        logging.getLogger(__name__).debug("turning PyAV's log bridge off (deadlocks with codec threads)")
    av.logging.set_level(None)


def is_disk_full(exc: BaseException) -> bool:
    """Return True when ``exc`` (or its cause) is a no-space / file-too-large error."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def disk_full_error(path: Path | str) -> MediaError:
    """Return the one-line error for a full disk (or a file-size limit) while writing ``path``."""
    return MediaError(
        f"disk full while writing {path}: free some space or choose another output location (-o)"
    )


def reason(exc: BaseException) -> str:
    """Return a short reason string from a PyAV error, without FFmpeg's call details."""
    text = getattr(exc, "strerror", None) or str(exc)
    log = getattr(exc, "log", None)
    if log and isinstance(log, tuple) and len(log) >= 3 and log[2]:
        text = f"{text} ({str(log[2]).strip()})"
    return " ".join(str(text).split())
