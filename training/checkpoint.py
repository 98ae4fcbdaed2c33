"""Resumable training checkpoints: any named objects with ``state_dict``, the iteration and all RNG states.

Generic over what is trained: pass a mapping of *stateful* objects — modules, optimizers, a ``GradScaler``,
the data stream of :mod:`training.data` — anything with ``state_dict()`` / ``load_state_dict()``::

    objects = {"decoder": decoder, "optimizer": opt, "data": batches}
    save_checkpoint(run / CHECKPOINT_NAME, iteration, objects, extra={"args": vars(args)})
    ...
    ckpt = load_checkpoint(run / CHECKPOINT_NAME, objects)   # restores every object and the RNGs
    start = ckpt.iteration

Files are written atomically (temporary file in the same folder, fsync, rename), so a crash or Ctrl-C while
saving leaves the previous checkpoint intact. They are read back with ``torch.load(weights_only=True)``.
:class:`StopOnInterrupt` turns the first Ctrl-C into a flag so the loop can finish its iteration and save.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import numpy as np
import torch

from adain_live._fs import atomic_write_path
from adain_live.errors import UserError

#: File name of the checkpoint inside a run folder.
CHECKPOINT_NAME = "checkpoint.pt"
_FORMAT = 1


class Stateful(Protocol):
    """Anything that can be checkpointed: modules, optimizers, grad scalers, data streams."""

    def state_dict(self) -> Any: ...  # noqa: D102

    def load_state_dict(self, state: Any) -> Any: ...  # noqa: D102


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns besides restoring the objects."""

    iteration: int
    extra: dict[str, Any] = field(default_factory=dict)


def rng_state() -> dict[str, Any]:
    """Return the states of the torch (CPU and every CUDA device), numpy and Python global RNGs."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.random.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "python": random.getstate(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore RNG states saved by :func:`rng_state` (CUDA states only if the device count matches)."""
    # .cpu(): a checkpoint loaded with map_location="cuda" has these byte tensors on the GPU
    torch.random.set_rng_state(state["torch"].cpu())
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].cpu().numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([t.cpu() for t in cuda])


def check_run_folder(out: Path, resume: bool) -> None:
    """Raise a one-line UserError unless ``out`` suits a new run (no checkpoint) or ``--resume`` (one).

    The same rule for every training command.
    """
    ckpt = out / CHECKPOINT_NAME
    if ckpt.exists() and not resume:
        raise UserError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    if resume and not ckpt.exists():
        raise UserError(f"--resume: no checkpoint in {out}; start without --resume")


def _unwrap(obj: Any) -> Any:
    """Return the module behind ``torch.compile`` (whose state-dict keys have an ``_orig_mod.`` prefix)."""
    return getattr(obj, "_orig_mod", obj)


def save_checkpoint(path: str | os.PathLike[str], iteration: int, objects: Mapping[str, Stateful],
                    extra: Mapping[str, Any] | None = None) -> Path:
    """Atomically write ``objects``' states, ``iteration``, the RNG states and ``extra`` to ``path``.

    ``extra`` must hold only plain data (numbers, strings, lists, dicts, tensors) so it loads with
    ``weights_only=True``.
    """
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": _FORMAT,
        "iteration": int(iteration),
        "objects": {name: _unwrap(obj).state_dict() for name, obj in objects.items()},
        "rng": rng_state(),
        "extra": dict(extra or {}),
    }
    with atomic_write_path(p) as tmp:
        torch.save(payload, tmp)
    return p


def load_checkpoint(path: str | os.PathLike[str], objects: Mapping[str, Stateful],
                    map_location: str | torch.device = "cpu", restore_rng: bool = True) -> Checkpoint:
    """Restore ``objects`` (and the RNGs) from a checkpoint written by :func:`save_checkpoint`.

    Raises
    ------
    UserError
        One line if the file is missing, unreadable, or lacks one of ``objects``.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"no checkpoint at {p}; start without --resume, or point --out at the run to "
                        "continue")
    try:
        payload = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file; all mean the same here
        raise UserError(f"checkpoint {p} cannot be read ({type(exc).__name__}); it may be damaged: delete "
                        "it to start over") from exc
    if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
        raise UserError(f"{p} is not a training checkpoint of this version; start a new run with another "
                        "--out")
    missing = sorted(set(objects) - set(payload["objects"]))
    if missing:
        raise UserError(f"checkpoint {p} has no state for {missing}; it was written by another kind of run")
    for name, obj in objects.items():
        _unwrap(obj).load_state_dict(payload["objects"][name])
    if restore_rng:
        set_rng_state(payload["rng"])
    return Checkpoint(int(payload["iteration"]), dict(payload["extra"]))


class StopOnInterrupt:
    """Context manager: the first Ctrl-C or SIGTERM sets :attr:`requested` (finish the step, save, exit cleanly).

    A second Ctrl-C raises ``KeyboardInterrupt`` as usual. Outside the main thread it does nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopOnInterrupt:
        try:
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: leave signals alone
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            if previous is not None:  # None: the handler was not installed from Python
                signal.signal(sig, previous)
        self._previous = {}
