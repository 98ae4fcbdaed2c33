"""User-facing error types.

Every expected failure (bad file, missing weights, no camera, ...) is raised as a :class:`UserError`
whose message is one line saying what failed, on which file or device, and what to do. Front ends print
that line and exit non-zero; anything else is a bug and gets a traceback only with ``--debug``.
"""

from __future__ import annotations


class UserError(Exception):
    """An expected failure with a one-line, actionable message."""


class WeightsError(UserError):
    """A weights file is missing, malformed, of the wrong architecture or unsafe."""


class MediaError(UserError):
    """An image or video cannot be read or written, or a camera cannot be opened."""


class DeviceError(UserError):
    """The requested device or precision is not available."""
