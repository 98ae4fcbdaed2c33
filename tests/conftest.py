"""Shared fixtures: tiny random-weight models of the real architecture, saved in the canonical layouts."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from adain_live.core.model import AdaINModel
from adain_live.core.vgg import build_vgg


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's real cache: every test gets its own ADAIN_LIVE_HOME."""
    monkeypatch.setenv("ADAIN_LIVE_HOME", str(tmp_path_factory.mktemp("adain_home")))


#: Name prefixes of the threads our code starts; none may outlive the test that started it.
OUR_THREADS = ("adain-", "video-", "CameraSource", "FileSource", "Recorder", "live-")
#: How long a test's threads get to finish after it (closing a window joins its engine; this is the margin).
THREAD_GRACE_S = 5.0


def _ours(threads: set[threading.Thread]) -> set[threading.Thread]:
    return {t for t in threads if t.is_alive() and t.name.startswith(OUR_THREADS)}


@pytest.fixture(autouse=True)
def _no_thread_outlives_its_test() -> Iterator[None]:
    """Fail a test whose engine/GUI/media threads are still running :data:`THREAD_GRACE_S` after it ended.

    A leaked inference or recorder thread keeps a model, a camera or a half-written file busy; in the app it is
    what a user sees as a window that will not close.
    """
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + THREAD_GRACE_S
    left = _ours(set(threading.enumerate()) - before)
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = _ours(left)
    assert not left, f"threads outlived the test: {sorted(t.name for t in left)}"


def pytest_configure(config: pytest.Config) -> None:
    """One torch thread, here and in the CLI/app processes the tests start.

    The tests' tensors are tiny, and on a small shared machine OpenMP threads that outnumber the free cores spin
    against each other: on 2 shared cores, 2 threads ran a distillation step 6x slower than 1 (1.9 s vs 0.3 s),
    the effect :func:`adain_live.engine.frames.recommended_threads` describes.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Print the random-order seed even under ``-q`` so a failing order can be replayed."""
    seed = getattr(config.option, "randomly_seed", None)
    if seed is not None:
        terminalreporter.write_line(f"test order: pytest-randomly seed {seed} "
                                    f"(replay: python -m pytest -p randomly --randomly-seed={seed})")


@pytest.fixture(scope="session")
def canonical_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Random-weight ``vgg_normalised.pth`` (full VGG-19) and ``decoder.pth`` in pytorch-AdaIN's layout.

    He-initialised (:meth:`AdaINModel.random`) so outputs vary instead of sitting near a constant; the VGG layers
    past relu4_1, which the encoder never uses, keep PyTorch's default init.
    """
    d = tmp_path_factory.mktemp("canonical")
    torch.manual_seed(1234)
    model = AdaINModel.random(seed=1234)
    vgg = build_vgg()
    vgg.load_state_dict({**vgg.state_dict(), **model.encoder.state_dict()})
    torch.save(vgg.state_dict(), d / "vgg_normalised.pth")
    torch.save(model.decoder.state_dict(), d / "decoder.pth")
    return d / "vgg_normalised.pth", d / "decoder.pth"
