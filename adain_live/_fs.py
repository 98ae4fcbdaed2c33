"""File-system helpers shared by every layer (standard library only)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

_LOCK = threading.Lock()


def make_public(path: str | os.PathLike[str]) -> None:
    """Give a ``tempfile.mkstemp`` file (created 0600) the permissions a normal file would get (0666 & ~umask).

    Outputs are written to a temporary file and renamed; without this they would end up readable by their owner
    only, unlike every other file the user creates.
    """
    with _LOCK:  # os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's content, read in 1 MiB chunks (raises OSError like ``open``)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
