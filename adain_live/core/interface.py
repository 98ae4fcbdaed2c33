"""The one interface every model family implements (AdaIN-VGG, MicroAST).

A :class:`StyleModel` encodes a style image **once** into a small fp32 :class:`~adain_live.core.codes.StyleCode`
and stylizes content batches with a code, α, colour preservation and an optional two-style mask. The engine,
the gallery's code cache, the benchmark and the fast paths know only this interface:

* :meth:`StyleModel.encode_style` — per-style work (once);
* :meth:`StyleModel.stylize` — the reference per-frame path (eager; masks; any size in, same size out);
* :meth:`StyleModel.frame_net` — an inference-only :class:`FrameNet` for the per-frame fast path:
  ``net(x, *code.tensors(), alpha, preserve_color)`` with the code and α as *tensors*, so ``torch.compile``
  and CUDA graphs survive style and α changes (copy new values into the same tensors);
  :meth:`FrameNet.forward_tiled` is the same for frames too large to run whole.

Images are (N, 3, H, W) RGB in [0, 1]; outputs have exactly the input's height and width.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor, nn

from adain_live.core.codes import StyleCode
from adain_live.core.stats import ContentStatsHook


class FrameNet(nn.Module):
    """Inference-only per-frame network of a family.

    ``forward(x, *code_tensors, alpha, preserve_color=False)``: ``x`` (N, 3, H, W) in [0, 1], the code's
    vectors in :meth:`StyleCode.tensors` order, ``alpha`` a 0-d tensor; returns (N, 3, H, W) in [0, 1] in the
    network's dtype. Statistics are computed in fp32 whatever the dtype.
    """

    #: Number of code vectors ``forward`` takes after ``x``.
    code_len: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__()
        #: Optional content-statistics hook (temporal smoothing) called at every AdaIN site.
        self.content_hook: ContentStatsHook | None = None

    @property
    def dtype(self) -> torch.dtype:
        """The compute dtype (that of the weights)."""
        return next(self.parameters()).dtype

    def code_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Shapes of the code vectors ``forward`` takes (for static device buffers before any style is set)."""
        raise NotImplementedError

    def forward_tiled(self, x: Tensor, code: tuple[Tensor, ...], alpha: Tensor, tile: int,
                      preserve_color: bool = False) -> Tensor:
        """Like ``forward`` with peak memory bounded by ``tile``; families without tiling run the whole frame."""
        return self(x, *code, alpha, preserve_color)


class StyleModel(nn.Module):
    """Base of the model families (see the module docstring).

    Subclasses set :attr:`family` and :attr:`code_type`, and implement :meth:`encode_style`,
    :meth:`stylize` and :meth:`frame_net`. ``name`` is the registry name the model was loaded as (for
    messages and cache keys); it defaults to the family.
    """

    family: ClassVar[str] = ""
    code_type: ClassVar[type[StyleCode]] = StyleCode
    #: Whether :meth:`FrameNet.forward_tiled` really tiles (bounded memory) or runs the whole frame.
    tiles: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.name = self.family
        #: Optional content-statistics hook (temporal smoothing) called at every AdaIN site.
        self.content_hook: ContentStatsHook | None = None

    @property
    def dtype(self) -> torch.dtype:
        """Dtype of the weights (the compute dtype)."""
        return next(self.parameters()).dtype

    @property
    def device(self) -> torch.device:
        """Device of the weights."""
        return next(self.parameters()).device

    def encode_style(self, style: Tensor) -> StyleCode:
        """The fp32 style code of one image (1, 3, H, W) in [0, 1], on the model's device."""
        raise NotImplementedError

    def stylize(self, content: Tensor, code: StyleCode, alpha: float = 1.0, *, mask: Tensor | None = None,
                background: StyleCode | None = None, preserve_color: bool = False) -> Tensor:
        """Stylize a content batch (N, 3, H, W) in [0, 1].

        Parameters
        ----------
        content
            (N, 3, H, W) RGB in [0, 1], any size.
        code
            The (possibly mixed) style code; with a mask, the foreground style.
        alpha
            Content–style trade-off in [0, 1]: 0 is the family's reconstruction path, 1 full style.
        mask
            Optional (N or 1, 1, H, W) weights in [0, 1]: 1 uses ``code``, 0 uses ``background``.
        background
            The mask's background style (required with ``mask``).
        preserve_color
            Keep the content's colours, taking only the stylized luminance.

        Returns
        -------
        Tensor
            (N, 3, H, W) in [0, 1], the input's size, in the model's dtype.
        """
        raise NotImplementedError

    def frame_net(self) -> FrameNet:
        """The inference-only per-frame network (sharing or converting this model's weights)."""
        raise NotImplementedError

    def forward(self, content: Tensor, code: StyleCode, alpha: float = 1.0) -> Tensor:
        """Alias of :meth:`stylize` without mask or colour preservation."""
        return self.stylize(content, code, alpha)
