"""Weight files and the cache folder: one line each, decided by type, never an unexpected error (issue 15)."""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path

import pytest
import torch

from adain_live.cli import main


class _Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ("echo pwned",))


def _one_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adain-live: error:"), captured.err
    return lines[0]


@pytest.mark.parametrize("kind", ["zip", "legacy", "plain-pickle"])
def test_code_running_pickle_is_one_line_without_torch_warnings(tmp_path: Path, kind: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil.pth"
    if kind == "plain-pickle":
        path.write_bytes(pickle.dumps({"x": _Evil()}, protocol=4))
    else:
        torch.save({"x": _Evil()}, path, _use_new_zipfile_serialization=kind == "zip")
    with warnings.catch_warnings(record=True) as seen:  # torch's UserWarning would print before our line
        warnings.simplefilter("always")
        assert main(["weights", "import", str(path)]) == 2
    assert [str(w.message) for w in seen] == []
    assert "could run code" in _one_error(capsys)


def test_random_bytes_are_called_corrupt_not_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "random.pth"
    path.write_bytes(bytes(range(256)) * 20)
    assert main(["weights", "import", str(path)]) == 2
    line = _one_error(capsys)
    assert "could run code" not in line and "not a readable PyTorch weights file" in line


@pytest.mark.parametrize("case", ["under-a-file", "missing-root"])
def test_unusable_cache_folder_is_one_line(tmp_path: Path, canonical_files: tuple[Path, Path], case: str,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "afile").write_text("x")
    home = tmp_path / "afile" / "home" if case == "under-a-file" else Path("/proc/adain-live-no-such")
    monkeypatch.setenv("ADAIN_LIVE_HOME", str(home))
    assert main(["weights", "import", str(canonical_files[1])]) == 2
    assert "ADAIN_LIVE_HOME" in _one_error(capsys)
    assert main(["weights", "download", "adain-vgg19", "--mirror", "http://127.0.0.1:9"]) == 2
    assert "ADAIN_LIVE_HOME" in _one_error(capsys)


def test_imported_safetensors_decoder_stays_loadable(tmp_path: Path) -> None:
    from adain_live import weights
    from adain_live.core.checkpoint import load_decoder, save_safetensors
    from adain_live.core.vgg import build_decoder

    src = save_safetensors(build_decoder().state_dict(), tmp_path / "dec.safetensors", dtype=torch.float16)
    assert main(["-q", "weights", "import", str(src)]) == 0
    installed = weights.paths(weights.CANONICAL)["decoder"]  # named decoder.pth whatever it came as
    assert installed.name == "decoder.pth"
    load_decoder(installed)
