"""Small builders shared by several test modules (one copy of each)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from adain_live.core.microast import MicroASTModel, part_shapes
from adain_live.engine.pipeline import StylePipeline
from adain_live.errors import MediaError
from adain_live.media import video_reader
from adain_live.media.synth import pattern


def styled_pipeline(family: Any, frame_shape: tuple[int, ...], masked: bool = False) -> StylePipeline:
    """A CPU fp32 pipeline of ``family``'s random model at 32 px with a style; ``masked``: left 32 columns masked."""
    pipe = StylePipeline(family.random(seed=5), torch.device("cpu"), torch.float32, size=32)
    pipe.set_style(pipe.style_code(pattern(32, 32, 9), style_size=32))
    if masked:
        mask = np.zeros(frame_shape[1:3], np.uint8)
        mask[:, :32] = 255
        pipe.set_mask(mask, background=pipe.style_code(pattern(32, 32, 3), style_size=32))
    return pipe


def read_timeline(path: Path) -> tuple[list[int], list[tuple[int | None, bytes]]]:
    """A video file's frame pts and its first audio stream's (pts, bytes) packets."""
    with av.open(str(path)) as c:
        pts = [int(f.pts) for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        audio = [(p.pts, bytes(p)) for p in c.demux(audio=0) if p.size]
    return pts, audio


def fail_decoding_at(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    """Make every :class:`VideoReader` raise a decode error at its ``n``-th demuxed item."""
    real = video_reader.VideoReader._raw_items

    def failing(self: video_reader.VideoReader) -> Iterator[Any]:
        for i, item in enumerate(real(self)):
            if i == n:
                raise MediaError(f"cannot decode {self.path}: Invalid data (truncated or corrupt file?)")
            yield item

    monkeypatch.setattr(video_reader.VideoReader, "_raw_items", failing)


def write_microast_parts(folder: Path, model: MicroASTModel) -> dict[str, Path]:
    """``model``'s four parts as safetensors files in ``folder``, by part name."""
    files = {}
    for part in part_shapes():
        files[part] = folder / f"{part}.safetensors"
        save_file({k: v.contiguous() for k, v in getattr(model, part).state_dict().items()}, str(files[part]))
    return files
