"""MicroAST as a distillation teacher, with the upstream file names and call.

The network lives in :mod:`adain_live.core.microast`; :class:`MicroAST` adds the upstream call
``teacher(content, style, alpha)``.

The weights live outside the repository (``../shared/teachers/microast/``, MIT): four plain ``state_dict``
files (content encoder, style encoder, modulator, decoder). The bundled copy in ``models/microast/`` holds the
same tensors as safetensors.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from adain_live.core.microast import MicroASTModel, load_microast
from adain_live.core.stats import adain, mean_std
from adain_live.errors import WeightsError

#: File name of each part, keyed by the attribute of :class:`MicroAST` it loads into.
TEACHER_FILES: dict[str, str] = {
    "content_encoder": "content_encoder_iter_160000.pth.tar",
    "style_encoder": "style_encoder_iter_160000.pth.tar",
    "modulator": "modulator_iter_160000.pth.tar",
    "decoder": "decoder_iter_160000.pth.tar",
}


class MicroAST(MicroASTModel):
    """The whole teacher, called as upstream: ``teacher(content, style, alpha) -> stylized`` in [0, 1].

    Content and style images may have different sizes; the output has the content's size (cropped from the
    network's multiple-of-4 output). ``alpha`` is a scalar or one value per sample.
    """

    def forward(self, content: Tensor, style: Tensor, alpha: float | Tensor = 1.0) -> Tensor:  # type: ignore[override]
        """Stylize ``content`` (N, 3, H, W) with ``style`` (N or 1, 3, h, w)."""
        return self.stylize_images(content, style, alpha)


def teacher_adain(x: Tensor, y: Tensor) -> Tensor:
    """AdaIN of ``x`` to ``y``'s statistics (unbiased variance + 1e-5 under the root), computed in fp32."""
    s_mean, s_std = mean_std(y)
    return adain(x, s_mean, s_std).to(x.dtype)


def load_teacher(folder: str | Path, device: torch.device | str = "cpu") -> MicroAST:
    """Load the four upstream MicroAST files from ``folder`` into a frozen :class:`MicroAST` in eval mode.

    Raises
    ------
    WeightsError
        When a file is missing, unreadable, or its keys/shapes do not match the architecture.
    """
    folder = Path(folder)
    for filename in TEACHER_FILES.values():
        if not (folder / filename).is_file():
            raise WeightsError(f"teacher file {folder / filename} is missing; point --teacher at the MicroAST folder")
    loaded = load_microast({part: folder / name for part, name in TEACHER_FILES.items()})
    model = MicroAST()
    model.load_state_dict(loaded.state_dict())
    return model.eval().to(device)
