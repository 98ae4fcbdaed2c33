"""File-system helpers shared by every layer (standard library only).

One copy of each file idiom: the atomic write (:func:`atomic_write_path` and its wrappers), normal permissions
for files made by ``tempfile`` (:func:`make_public`), the content hash (:func:`sha256_file`) and the set of image
file suffixes the package reads (:data:`IMAGE_SUFFIXES`).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

_LOCK = threading.Lock()

#: Suffixes (lower case) of the image files the package reads: content and style images, training data.
IMAGE_SUFFIXES: frozenset[str] = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def is_image_file(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is an existing file whose suffix is in :data:`IMAGE_SUFFIXES`."""
    p = Path(path)
    return p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()


def list_images(folder: str | os.PathLike[str]) -> list[Path]:
    """The image files directly inside ``folder``, sorted by name (raises OSError like ``iterdir``)."""
    return sorted(p for p in Path(folder).iterdir() if is_image_file(p))


def image_suffix_list(suffixes: Iterable[str] = IMAGE_SUFFIXES) -> str:
    """``".bmp, .jpeg, ..."`` for messages that tell a person which files are accepted."""
    return ", ".join(sorted(suffixes))


def make_public(path: str | os.PathLike[str]) -> None:
    """Give a ``tempfile.mkstemp`` file (created 0600) the permissions a normal file would get (0666 & ~umask).

    Outputs are written to a temporary file and renamed; without this they would end up readable by their owner
    only, unlike every other file the user creates.
    """
    with _LOCK:  # os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


@contextmanager
def atomic_write_path(path: str | os.PathLike[str], *, sync: bool = True) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block ends without error, move it into place.

    The temporary file is created empty in the target's folder (so the rename stays on one file system) and
    keeps the target's suffix (so libraries that pick a format from the extension still work). On success it is
    flushed to disk (``sync``), given normal permissions and renamed over ``path`` in one step, so a reader sees
    the old file or the new one, never half of one. On any error, Ctrl-C included, it is removed and the error
    propagates; ``path`` is untouched. The folder must exist (OSError otherwise).

    The temporary name carries this process's id (``.<name>.<pid>.<random>.part<suffix>``), so temporary files
    that a killed writer (SIGKILL, power loss) left behind are recognised and removed here.
    """
    target = Path(path)
    clean_stale_parts(target)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=part_prefix(target), suffix=f".part{target.suffix}")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if sync:
            _fsync_file(tmp)
        make_public(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync:
        _fsync_dir(target.parent)


def check_replaceable(path: str | os.PathLike[str], platform: str | None = None) -> None:
    """Raise PermissionError now if an existing ``path`` could not be replaced when a long write ends.

    On Windows a file open in another program (a video player) or marked read-only cannot be replaced; finding
    that out after an encode of several minutes loses the work. Elsewhere a rename replaces any file.
    """
    if (platform or sys.platform) != "win32" or not os.path.isfile(path):
        return
    with open(path, "r+b"):
        pass


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write_path`); return ``path``."""
    with atomic_write_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_path`); return ``path``."""
    with atomic_write_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable where the platform allows it (not on Windows; best effort)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's content, read in 1 MiB chunks (raises OSError like ``open``)."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


#: Temporary files are named ``.<name>.<pid>.<random>.part<suffix>``: the pid says whether the writer is alive.
_PART_RE = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.part(?P<suffix>\.[^.]*)?$")


def part_prefix(target: Path) -> str:
    """Prefix of this process's temporary files for ``target`` (the pid marks who writes them)."""
    return f".{target.name}.{os.getpid()}."


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def clean_stale_parts(target: str | os.PathLike[str]) -> list[Path]:
    """Remove temporary files of ``target`` whose writing process is gone; return what was removed."""
    target = Path(target)
    removed: list[Path] = []
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        m = _PART_RE.match(entry.name)
        if m is None or m.group("name") != target.name or _pid_alive(int(m.group("pid"))):
            continue
        try:
            entry.unlink()
            removed.append(entry)
        except OSError:
            continue
    return removed
