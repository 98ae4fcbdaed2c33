"""Style codes: what a model family keeps of a style image, computed once and reused for every frame.

A style code is a frozen dataclass of per-channel fp32 vectors (shape ``(C,)``). The same small set of
operations works for every family, so the engine, the gallery's disk cache, style interpolation and the live
cross-fade never need to know which model made a code:

* :meth:`StyleCode.to` moves it to a device (kept in fp32);
* :meth:`StyleCode.tensors` gives its vectors in a fixed order — the positional arguments of the family's
  per-frame network (``net(x, *code.tensors(), alpha, preserve_color)``), which a compiled graph or a CUDA
  graph can read from static device tensors;
* :meth:`StyleCode.state_dict` / :func:`code_from_state_dict` save and load it (safetensors, with the family
  in the metadata);
* :func:`mix_codes` mixes codes of one family with weights normalised to sum to 1.

Whether a mix is *exact* depends on the family: mixing AdaIN statistics is exact (AdaIN is affine in σ, μ,
so the mixed statistics give the same features as mixing the AdaIN outputs); see each family's docstring.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import ClassVar, TypeVar

import torch
from torch import Tensor

#: Smallest value a mixed "positive" vector (a standard deviation) is clamped to (sqrt of the AdaIN eps).
MIN_STD = 1e-5**0.5

C = TypeVar("C", bound="StyleCode")

_FAMILIES: dict[str, type[StyleCode]] = {}


@dataclasses.dataclass(frozen=True)
class StyleCode:
    """Base of every family's style code: named fp32 ``(C,)`` vectors (the dataclass fields).

    Subclasses are frozen dataclasses whose fields are all tensors; they set :attr:`family` and list their
    standard deviations in :attr:`positive` (clamped to stay positive when codes are mixed).
    """

    family: ClassVar[str] = ""
    positive: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.family:
            _FAMILIES[cls.family] = cls

    def __post_init__(self) -> None:
        vecs = self.tensors()
        if not vecs:
            raise ValueError(f"{type(self).__name__} has no vectors")
        for name, t in zip(self.names(), vecs, strict=True):
            if not isinstance(t, Tensor) or t.dim() != 1:
                shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(f"{type(self).__name__}.{name} must be a (C,) tensor, got {shape}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Names of the vectors, in the order of :meth:`tensors`."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def tensors(self) -> tuple[Tensor, ...]:
        """The vectors in a fixed order (the per-frame network's code arguments)."""
        return tuple(getattr(self, n) for n in self.names())

    def shapes(self) -> tuple[tuple[int, ...], ...]:
        """Shape of each vector (what static device buffers for this family must hold)."""
        return tuple(tuple(t.shape) for t in self.tensors())

    def replace(self: C, **vectors: Tensor) -> C:
        """A copy with some vectors replaced."""
        return dataclasses.replace(self, **vectors)

    def to(self: C, device: torch.device | str) -> C:
        """A copy on ``device``, in fp32."""
        return type(self)(*(t.to(device, torch.float32) for t in self.tensors()))

    def state_dict(self) -> dict[str, Tensor]:
        """The vectors for saving (CPU, contiguous); see :func:`code_from_state_dict` and :meth:`metadata`."""
        return {n: t.detach().float().cpu().contiguous() for n, t in zip(self.names(), self.tensors(), strict=True)}

    def metadata(self) -> dict[str, str]:
        """String metadata saved with the vectors (the family), so a file of another family is refused."""
        return {"family": self.family}

    @classmethod
    def from_state_dict(cls: type[C], state: Mapping[str, Tensor]) -> C:
        """Rebuild from :meth:`state_dict`; ``ValueError`` on missing, misshapen or non-finite vectors."""
        missing = [n for n in cls.names() if n not in state]
        if missing:
            raise ValueError(f"{cls.family or cls.__name__} style code lacks {', '.join(missing)}")
        vecs = [state[n].float() for n in cls.names()]
        for n, t in zip(cls.names(), vecs, strict=True):
            if not torch.isfinite(t).all():
                raise ValueError(f"style code vector {n} contains NaN or infinity")
        return cls(*vecs)


def code_type(family: str) -> type[StyleCode]:
    """The code class of a family (``ValueError`` for an unknown family)."""
    try:
        return _FAMILIES[family]
    except KeyError:
        raise ValueError(f"unknown style-code family {family!r}; known: {', '.join(sorted(_FAMILIES))}") from None


def code_from_state_dict(state: Mapping[str, Tensor], metadata: Mapping[str, str] | None = None,
                         default_family: str = "adain") -> StyleCode:
    """Load a code saved with :meth:`StyleCode.state_dict` and :meth:`StyleCode.metadata`.

    Files written before codes had a family (plain AdaIN ``mean``/``std``) load as ``default_family``.
    """
    family = (metadata or {}).get("family") or default_family
    return code_type(family).from_state_dict(state)


def mix_codes(codes: Sequence[C], weights: Sequence[float] | None = None) -> C:
    """Mix codes of one family: every vector is the weighted sum of the codes' vectors.

    Weights are normalised to sum to 1 (as pytorch-AdaIN does; negative weights extrapolate), so mixing a
    single code returns that code. Vectors listed in the family's ``positive`` (standard deviations) are
    clamped to stay positive. Whether the mix equals mixing the stylized *features* is family-specific.
    """
    if not codes:
        raise ValueError("mixing needs at least one style")
    kinds = {type(c) for c in codes}
    if len(kinds) > 1:
        raise ValueError(f"cannot mix style codes of different models ({', '.join(k.family for k in kinds)})")
    w = [1.0] * len(codes) if weights is None else [float(x) for x in weights]
    if len(w) != len(codes):
        raise ValueError(f"got {len(w)} mix weights for {len(codes)} styles; give one weight per style")
    total = sum(w)
    if abs(total) < 1e-8:
        raise ValueError(f"mix weights {w} sum to 0; they must have a non-zero sum")
    w = [x / total for x in w]
    cls = type(codes[0])
    out: list[Tensor] = []
    for i, name in enumerate(cls.names()):
        first = codes[0].tensors()[i]
        if any(c.tensors()[i].shape != first.shape for c in codes):
            raise ValueError(f"cannot mix style codes whose {name} vectors differ in length")
        v = sum((wi * c.tensors()[i].float() for wi, c in zip(w, codes, strict=True)), torch.zeros_like(first,
                dtype=torch.float32))
        out.append(v.clamp(min=MIN_STD) if name in cls.positive else v)
    return cls(*out)
