from __future__ import annotations

import os
import random
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from adain_live.errors import UserError
from training.checkpoint import StopOnInterrupt, load_checkpoint, save_checkpoint


def _train_a_bit(model: nn.Module, opt: torch.optim.Optimizer) -> None:
    loss = model(torch.randn(4, 3)).square().mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


def test_round_trip_restores_objects_and_rngs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    _train_a_bit(model, opt)
    path = save_checkpoint(tmp_path / "run" / "checkpoint.pt", 7, {"model": model, "opt": opt},
                           extra={"note": "x"})
    expected = (torch.rand(3), np.random.rand(), random.random())
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint.pt"]  # no temporary files left

    model2 = nn.Linear(3, 2)
    opt2 = torch.optim.Adam(model2.parameters(), lr=1e-2)
    ckpt = load_checkpoint(path, {"model": model2, "opt": opt2})
    assert ckpt.iteration == 7 and ckpt.extra == {"note": "x"}
    again = (torch.rand(3), np.random.rand(), random.random())
    assert torch.equal(again[0], expected[0]) and again[1:] == expected[1:]
    for a, b in zip(model.parameters(), model2.parameters(), strict=True):
        assert torch.equal(a, b)
    torch.manual_seed(1)
    _train_a_bit(model, opt)
    torch.manual_seed(1)
    _train_a_bit(model2, opt2)
    assert torch.equal(model.weight, model2.weight)


def test_compiled_module_saves_plain_keys(tmp_path: Path) -> None:
    model = nn.Linear(3, 2)
    wrapped = nn.Module()
    wrapped._orig_mod = model  # what torch.compile's OptimizedModule exposes
    save_checkpoint(tmp_path / "c.pt", 0, {"m": wrapped})
    state = torch.load(tmp_path / "c.pt", weights_only=True)["objects"]["m"]
    assert set(state) == {"weight", "bias"}


@pytest.mark.parametrize("content", [None, b"garbage", "other"])
def test_bad_checkpoint_is_user_error(tmp_path: Path, content: bytes | str | None) -> None:
    path = tmp_path / "checkpoint.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "other":
        save_checkpoint(path, 0, {"a": nn.Linear(1, 1)})
    with pytest.raises(UserError) as info:
        load_checkpoint(path, {"b": nn.Linear(1, 1)})
    assert "\n" not in str(info.value)


def test_first_ctrl_c_sets_a_flag_second_interrupts() -> None:
    with StopOnInterrupt() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
