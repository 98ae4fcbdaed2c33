"""Export a trained decoder for the app: safetensors (our format) or the canonical ``decoder.pth`` layout.

Both hold the same keys as pytorch-AdaIN's ``decoder.pth`` (``1.weight``, ``1.bias``, ``5.weight``, ...), so
:func:`adain_live.core.checkpoint.load_decoder` reads either, and the ``.pth`` also works with the reference
scripts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from adain_live._fs import atomic_write_path
from adain_live.core.checkpoint import save_safetensors
from adain_live.core.vgg import build_decoder, conv_shapes


def decoder_state(decoder: nn.Module) -> dict[str, Tensor]:
    """Return the decoder's weights as fp32 CPU tensors, checked against the canonical layout."""
    module = getattr(decoder, "_orig_mod", decoder)  # torch.compile wrapper
    state = {k: v.detach().float().cpu().contiguous() for k, v in module.state_dict().items()}
    expected = conv_shapes(build_decoder())
    got = {k: tuple(v.shape) for k, v in state.items()}
    if got != expected:
        raise ValueError(f"not an AdaIN decoder: keys/shapes {sorted(got)[:4]}... differ from the canonical "
                         "layout")
    return state


def export_decoder(decoder: nn.Module, path: str | os.PathLike[str],
                   metadata: Mapping[str, str] | None = None, half: bool = False) -> Path:
    """Write the decoder to ``path``: ``.safetensors`` (with ``metadata``; fp16 if ``half``) or ``.pth``.

    The ``.pth`` is a plain ``state_dict`` in fp32, exactly the layout of pytorch-AdaIN's ``decoder.pth``.
    Both are written atomically.
    """
    p = Path(path)
    state = decoder_state(decoder)
    if p.suffix == ".safetensors":
        meta = {"architecture": "adain-decoder", "layout": "pytorch-AdaIN decoder.pth",
                **dict(metadata or {})}
        return save_safetensors(state, p, meta, dtype=torch.float16 if half else None)
    if p.suffix not in (".pth", ".pt"):
        raise ValueError(f"export to .safetensors or .pth, not {p.suffix!r}")
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write_path(p) as tmp:
        torch.save(state, tmp)
    return p
