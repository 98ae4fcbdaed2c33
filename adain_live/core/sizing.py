"""Any input size in, the same size out: enlarge tiny images for a network, crop/shrink its output back.

Both families downsample (AdaIN-VGG by 8, MicroAST by 4) and their decoders return a multiple of that, at
least as large as the input; the extra rows/columns are cropped, exactly as the reference implementations'
outputs would be cropped to the input. Images with a side below :data:`MIN_SIDE` are enlarged first (reflection
padding at the lowest resolution needs at least 2 pixels per side) and shrunk back afterwards.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

#: Images with a side shorter than this are enlarged for the network and shrunk back afterwards.
MIN_SIDE = 16


def enlarge(image: Tensor, min_side: int = MIN_SIDE) -> Tensor:
    """Upscale images smaller than ``min_side`` on a side (keeping aspect) so the network can run."""
    h, w = image.shape[-2:]
    if min(h, w) >= min_side:
        return image
    scale = min_side / min(h, w)
    size = (max(min_side, round(h * scale)), max(min_side, round(w * scale)))
    return F.interpolate(image, size=size, mode="bilinear", align_corners=False)


def restore_size(out: Tensor, net_size: tuple[int, int] | torch.Size, size: tuple[int, int] | torch.Size) -> Tensor:
    """Crop a decoder's output to the network input's size, then shrink back to ``size`` if it was enlarged."""
    nh, nw = int(net_size[0]), int(net_size[1])
    out = out[..., :nh, :nw]
    if (nh, nw) != (int(size[0]), int(size[1])):
        out = F.interpolate(out.float(), size=(int(size[0]), int(size[1])), mode="area").to(out.dtype)
    return out
