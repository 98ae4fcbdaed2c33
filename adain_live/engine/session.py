"""The one place that turns a runtime config into a ready pipeline.

Every front end — the CLI commands, the desktop app's worker, ``bench`` and batch workers — asks here for a
model on a device at a precision (:func:`open_runtime`) or for a ready :class:`StylePipeline`
(:func:`open_session`); none of them chooses devices, dtypes, thread counts or backend flags itself, and the GUI
never imports torch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from adain_live import weights
from adain_live.core.device import cuda_build_hint, dtype_name, mps_available, resolve_device
from adain_live.engine.config import RuntimeConfig, StyleConfig
from adain_live.engine.live_size import largest_live_size
from adain_live.engine.pipeline import (
    StylePipeline,
    enable_fast_backends,
    pick_dtype,
    recommended_size,
    recommended_threads,
)
from adain_live.gallery import model_identity

log = logging.getLogger(__name__)

#: Builds a model instead of loading weights (tests and ``bench --model random``).
ModelFactory = Callable[[], Any]


@dataclass(frozen=True)
class Runtime:
    """A loaded model and where it runs: device, dtype; backends and threads already set up."""

    model: Any
    device: torch.device
    dtype: torch.dtype
    #: Weights and precision as a short key (style codes cached for one model are not valid for another). Taken
    #: here, from the weights as loaded: a pipeline converts the model in place (bf16, fp16), after which a hash
    #: of its weights would differ from the same model's before.
    identity: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "identity", f"{model_identity(self.model)}-{dtype_name(self.dtype)}")

    @property
    def on_cpu(self) -> bool:
        """True when the network runs on the CPU."""
        return self.device.type == "cpu"

    @property
    def description(self) -> str:
        """``"cuda:0 · fp16"``: device and precision, for people."""
        return f"{self.device} · {dtype_name(self.dtype)}"

    @property
    def gpu_hint(self) -> str | None:
        """On the CPU next to an unused NVIDIA GPU (a CPU-only torch build): how to use the GPU; else None."""
        return cuda_build_hint() if self.on_cpu else None


def device_choices() -> list[str]:
    """The ``--device`` values that can work here: auto, cpu, and cuda / mps where present."""
    return ["auto", "cpu"] + (["cuda"] if torch.cuda.is_available() else []) + (["mps"] if mps_available() else [])


def open_runtime(cfg: RuntimeConfig, model_factory: ModelFactory | None = None) -> Runtime:
    """Resolve the device and precision, set threads and backend flags, load the model.

    Raises
    ------
    UserError
        One line: unknown device, precision the device lacks, missing or bad weights.
    """
    device = resolve_device(cfg.device)
    dtype = pick_dtype(device, cfg.precision)
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    elif cfg.live and device.type == "cpu":  # leave a core for capture, encoding and the GUI
        torch.set_num_threads(recommended_threads())
    enable_fast_backends(device)
    model = model_factory() if model_factory is not None else weights.load_model(cfg.model, cfg.vgg, cfg.decoder)
    return Runtime(model, device, dtype)


@dataclass(frozen=True)
class Session:
    """A ready pipeline and the runtime it was built on."""

    runtime: Runtime
    pipeline: StylePipeline

    @property
    def size(self) -> int:
        """The processing size the pipeline was built with (short side, 0 = native)."""
        return int(self.pipeline.size)

    def style_code(self, rgb: np.ndarray, style_size: int) -> Any:
        """The style statistics of an RGB uint8 image, computed by this session's pipeline."""
        return self.pipeline.style_stats(rgb, style_size)

    def close(self) -> None:
        """Release the pipeline's runners and buffers."""
        self.pipeline.close()


def build_pipeline(runtime: Runtime, cfg: RuntimeConfig, style: StyleConfig | None = None) -> StylePipeline:
    """A :class:`StylePipeline` for ``runtime`` sized and sped up as ``cfg`` says, with ``style``'s α and colour."""
    size = cfg.size
    if size is None:  # live on the CPU: the largest size this machine keeps at >= 15 fps (measured, ~1 s)
        live_cpu = cfg.live and runtime.on_cpu
        size = largest_live_size(runtime.model, runtime.device, runtime.dtype) if live_cpu else \
            recommended_size(runtime.device)
    # Not on the CPU: a build takes minutes there and closing the pipeline waits for it (a short video, quitting).
    pipe = StylePipeline(runtime.model, runtime.device, runtime.dtype, size=size, output_size=cfg.output_size,
                         compile="auto" if cfg.compile and not runtime.on_cpu else False, cuda_graphs=cfg.cuda_graphs,
                         tile=cfg.tile, max_memory_gb=cfg.max_memory_gb)
    if style is not None:
        pipe.alpha, pipe.preserve_color = style.alpha, style.preserve_color
    log.debug("pipeline: %s", pipe.describe())
    return pipe


def open_session(cfg: RuntimeConfig, style: StyleConfig | None = None,
                 model_factory: ModelFactory | None = None) -> Session:
    """Load the model and build its pipeline (:func:`open_runtime` then :func:`build_pipeline`)."""
    runtime = open_runtime(cfg, model_factory)
    return Session(runtime, build_pipeline(runtime, cfg, style))
