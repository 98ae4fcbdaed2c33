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


def test_numpy_gaussian_cache_survives_a_round_trip(tmp_path: Path) -> None:
    from training.checkpoint import rng_state, set_rng_state

    np.random.seed(3)
    np.random.standard_normal()  # the legacy generator now holds a cached second gaussian (has_gauss = 1)
    state = rng_state()
    path = save_checkpoint(tmp_path / "c.pt", 1, {})
    expected = np.random.standard_normal(3)
    np.random.seed(99)
    set_rng_state(state)
    assert np.array_equal(np.random.standard_normal(3), expected)
    np.random.seed(99)
    load_checkpoint(path, {})
    assert np.array_equal(np.random.standard_normal(3), expected)


def test_messages_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="--resume"):
        load_checkpoint(tmp_path / "none.pt", {})
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(UserError, match="damaged: delete it to start over"):
        load_checkpoint(tmp_path / "bad.pt", {})
    torch.save({"format": "something-else", "objects": {}}, tmp_path / "old.pt")
    with pytest.raises(UserError, match="not a training checkpoint of this version.*--out"):
        load_checkpoint(tmp_path / "old.pt", {})
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(UserError, match="not a training checkpoint"):
        load_checkpoint(tmp_path / "list.pt", {})
    save_checkpoint(tmp_path / "a.pt", 0, {"a": nn.Linear(1, 1)})
    with pytest.raises(UserError, match=r"no state for \['b'\]"):
        load_checkpoint(tmp_path / "a.pt", {"b": nn.Linear(1, 1)})


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("true",))


def test_a_pickle_that_runs_code_is_refused(tmp_path: Path) -> None:
    torch.save({"format": "x", "evil": _Evil()}, tmp_path / "evil.pt")
    with pytest.raises(UserError, match="cannot be read"):
        load_checkpoint(tmp_path / "evil.pt", {})


def test_checkpoint_maps_to_the_requested_device(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.pt", 0, {"m": nn.Linear(2, 2)})
    seen: list[object] = []
    real = torch.load

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(kwargs.get("map_location"))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    torch.load = spy  # type: ignore[assignment]
    try:
        load_checkpoint(path, {"m": nn.Linear(2, 2)}, map_location=torch.device("cpu"))
    finally:
        torch.load = real  # type: ignore[assignment]
    assert seen == [torch.device("cpu")]


def test_save_creates_missing_folders(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "a" / "b" / "c.pt", 3, {"m": nn.Linear(1, 1)})
    assert path.is_file() and load_checkpoint(path, {"m": nn.Linear(1, 1)}).iteration == 3


def test_run_folder_rules(tmp_path: Path) -> None:
    from training.checkpoint import CHECKPOINT_NAME, check_run_folder

    out = tmp_path / "new" / "run"
    check_run_folder(out, resume=False)  # a new run in a new folder is fine
    with pytest.raises(UserError, match="no checkpoint in .*start without --resume"):
        check_run_folder(out, resume=True)
    save_checkpoint(out / CHECKPOINT_NAME, 1, {})
    with pytest.raises(UserError, match="already holds a run; pass --resume"):
        check_run_folder(out, resume=False)
    check_run_folder(out, resume=True)


def test_stop_flag_starts_clear_and_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM)
    stop = StopOnInterrupt()
    assert stop.requested is False
    with stop:
        assert signal.getsignal(signal.SIGTERM) == stop._handle
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested is True
    assert signal.getsignal(signal.SIGTERM) == before


def test_cuda_rng_states_are_saved_and_restored(monkeypatch: pytest.MonkeyPatch) -> None:
    from training.checkpoint import rng_state, set_rng_state

    saved = [torch.tensor([1, 2], dtype=torch.uint8), torch.tensor([3], dtype=torch.uint8)]
    restored: list[list[torch.Tensor]] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: saved)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.append)
    state = rng_state()
    assert state["cuda"] is saved
    set_rng_state(state)
    assert len(restored) == 1 and all(torch.equal(a, b) for a, b in zip(restored[0], saved, strict=True))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # another machine: the CUDA states do not fit
    set_rng_state(state)
    assert len(restored) == 1
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)  # CUDA never used: nothing to save
    assert "cuda" not in rng_state()
