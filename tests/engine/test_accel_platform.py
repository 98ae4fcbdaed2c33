"""The fast path on a machine that cannot compile (CUDA without Triton, e.g. Windows) skips compile quietly."""

from __future__ import annotations

import logging

import pytest
import torch

from adain_live.engine import accel


def test_without_a_compiler_the_step_is_built_uncompiled(monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    def no_compile(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.compile must not be called without a compiler")

    monkeypatch.setattr(accel, "compile_available", lambda device: False)
    monkeypatch.setattr(accel.torch, "compile", no_compile)
    monkeypatch.setattr(accel, "frame_forward", lambda net, u8, *rest: u8 + 1)
    key = accel.FrameKey((1, 4, 4, 3), (4, 4), (4, 4), False)
    params = accel._Params(torch.device("cpu"), ((8,), (8,)))
    with caplog.at_level(logging.WARNING):
        runner = accel.make_runner(object(), params, key, torch.contiguous_format, "default", cuda_graph=True)
    out = runner(torch.zeros(key.shape, dtype=torch.uint8))
    assert int(out.max()) == 1
    assert caplog.text == ""
