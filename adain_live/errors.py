"""User-facing error types.

Every expected failure (bad file, missing weights, no camera, ...) is raised as a :class:`UserError`
whose message is one line saying what failed, on which file or device, and what to do. Front ends print
that line and exit non-zero; anything else is a bug and gets a traceback only with ``--debug``.

Code decides on an error's type and attributes (``isinstance(exc, DeviceMemoryError)``, ``exc.path``), never on
its message: messages are for people and may be reworded.
"""

from __future__ import annotations

import os
from pathlib import Path


class UserError(Exception):
    """An expected failure with a one-line, actionable message.

    Parameters
    ----------
    message
        The line shown to the user.
    path
        The file the failure is about, when there is one (e.g. the style image that cannot be used).
    """

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None) -> None:
        super().__init__(message)
        self.path: Path | None = None if path is None else Path(path)

    @property
    def message(self) -> str:
        """The one-line message."""
        return str(self.args[0]) if self.args else ""


class WeightsError(UserError):
    """A weights file is missing, malformed, of the wrong architecture or unsafe."""


class MediaError(UserError):
    """An image or video cannot be read or written, or a camera cannot be opened."""


class DeviceError(UserError):
    """The requested device or precision is not available."""


class DeviceMemoryError(DeviceError):
    """The device ran out of memory (or would) at this processing size; a smaller size may fit.

    ``device`` names the device (``"cuda:0"``); ``need_bytes``/``free_bytes`` are the estimate and what was free,
    when known (None after a real allocation failure).
    """

    def __init__(self, message: str, *, device: str = "", need_bytes: int | None = None,
                 free_bytes: int | None = None) -> None:
        super().__init__(message)
        self.device = device
        self.need_bytes = need_bytes
        self.free_bytes = free_bytes
