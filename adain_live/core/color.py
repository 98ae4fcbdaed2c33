"""Colour preservation by luminance-only transfer.

We keep the *content's* chroma and take only the stylized image's luminance (BT.601 YCbCr), as in Gatys et al.
"Preserving Color in Neural Artistic Style Transfer" (luminance-only variant). Unlike the reference's
``--preserve_color`` (which re-colours the *style image* to the content's colour statistics before encoding),
this needs no per-content re-encoding of the style, so a style's statistics are still computed once and live
video stays fast. Costs a few elementwise ops per frame on the device.
"""

from __future__ import annotations

from torch import Tensor

_KR, _KG, _KB = 0.299, 0.587, 0.114


def luma(rgb: Tensor) -> Tensor:
    """BT.601 luma of an (N, 3, H, W) RGB tensor in [0, 1], shape (N, 1, H, W)."""
    r, g, b = rgb[:, 0:1], rgb[:, 1:2], rgb[:, 2:3]
    return _KR * r + _KG * g + _KB * b


def preserve_content_color(stylized: Tensor, content: Tensor) -> Tensor:
    """Return an image with the luminance of ``stylized`` and the chroma of ``content``.

    Both are (N, 3, H, W) RGB in [0, 1] of the same size. Works in the input dtype.
    """
    y_content = luma(content)
    y_styled = luma(stylized)
    # content = Y_c + chroma offsets; replacing Y_c by Y_s keeps Cb/Cr (a constant shift of all channels).
    return (content - y_content + y_styled).clamp(0.0, 1.0)


