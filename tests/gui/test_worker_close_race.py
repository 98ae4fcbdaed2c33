"""A source that finishes opening after the window began closing leaves no capture thread behind (CI flake)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from adain_live.core.microast import MicroASTModel
from adain_live.gui import worker as worker_module
from adain_live.gui.options import AppOptions
from adain_live.gui.worker import EngineWorker


def _capture_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "adain-capture" or t.name.startswith("FileSource")]


@pytest.fixture()
def worker(tmp_path: Path) -> EngineWorker:
    w = EngineWorker(AppOptions(size=32, device="cpu", precision="fp32", stats_cache=tmp_path / "stats",
                                model_factory=lambda: MicroASTModel.random(seed=0)))
    w.setup()
    assert w.runner is not None
    return w


def test_a_source_opened_while_closing_is_stopped(worker: EngineWorker, video: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = worker_module.open_live_source

    def open_then_close(*args: object, **kwargs: object) -> object:
        source = real_open(*args, **kwargs)  # type: ignore[arg-type]
        worker.shutdown()  # the window closes while the source is opening
        return source

    monkeypatch.setattr(worker_module, "open_live_source", open_then_close)
    worker.openSource(str(video))
    assert not _capture_threads()


def test_no_source_is_opened_once_closing(worker: EngineWorker, video: Path) -> None:
    worker.shutdown()
    worker.openSource(str(video))
    assert not _capture_threads()
