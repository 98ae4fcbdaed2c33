from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from adain_live import weights
from adain_live.errors import WeightsError


@pytest.fixture
def no_bundled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    empty = tmp_path / "models"
    empty.mkdir()
    monkeypatch.setenv("ADAIN_LIVE_MODELS", str(empty))
    return empty


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "srv"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k) -> None:  # noqa: ANN002, ANN003
            super().__init__(*a, directory=str(root), **k)

        def log_message(self, *a) -> None:  # noqa: ANN002
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()
    httpd.server_close()


def test_cache_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ADAIN_LIVE_HOME", str(tmp_path / "h"))
    assert weights.cache_dir() == tmp_path / "h"
    monkeypatch.delenv("ADAIN_LIVE_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert weights.cache_dir() == tmp_path / "x" / "adain-live"


def test_registry_has_canonical_urls() -> None:
    ws = weights.get("adain-vgg19")
    assert ws.file("encoder").url.endswith("/v0.0.0/vgg_normalised.pth")
    assert ws.file("decoder").url.endswith("/v0.0.0/decoder.pth")
    with pytest.raises(WeightsError, match="known models"):
        weights.get("nope")


def test_no_model_at_all_is_a_clear_error(no_bundled: Path) -> None:
    with pytest.raises(WeightsError, match="weights download adain-vgg19"):
        weights.default_set()
    with pytest.raises(WeightsError):
        weights.load_model()


def test_download_from_local_server(server: tuple[str, Path], canonical_files: tuple[Path, Path],
                                    no_bundled: Path) -> None:
    url, root = server
    for f in canonical_files:
        shutil.copy(f, root / f.name)
    seen: list[int] = []
    paths = weights.download("adain-vgg19", mirror=url, progress=lambda got, total: seen.append(got))
    assert [p.name for p in paths] == ["vgg_normalised.pth", "decoder.pth"]
    assert seen and seen[-1] == canonical_files[1].stat().st_size
    assert weights.default_set().name == "adain-vgg19"
    model = weights.load_model()
    assert model.decoder[1].weight.shape == (256, 512, 3, 3)


def test_download_of_a_bad_file_leaves_nothing(server: tuple[str, Path], canonical_files: tuple[Path, Path]) -> None:
    url, root = server
    (root / "vgg_normalised.pth").write_bytes(b"<html>not found</html>")
    with pytest.raises(WeightsError):
        weights.download("adain-vgg19", mirror=url)
    assert list((weights.cache_dir() / "weights" / "adain-vgg19").iterdir()) == []


def test_download_without_network_fails_fast(server: tuple[str, Path]) -> None:
    url, _root = server  # serves nothing: 404
    with pytest.raises(WeightsError, match="no network"):
        weights.download("adain-vgg19", mirror=url)
    with pytest.raises(WeightsError, match="cannot download"):
        weights.download("adain-vgg19", mirror="http://127.0.0.1:9", timeout=2)


def test_import_detects_roles_and_verifies(canonical_files: tuple[Path, Path], tmp_path: Path,
                                           no_bundled: Path) -> None:
    vgg_path, dec_path = canonical_files
    copied = weights.import_files([dec_path, vgg_path])
    assert sorted(p.name for p in copied) == ["decoder.pth", "vgg_normalised.pth"]
    assert weights.is_available(weights.CANONICAL)
    junk = tmp_path / "junk.pth"
    junk.write_text("junk")
    with pytest.raises(WeightsError):
        weights.import_files([junk])


def test_vgg_and_decoder_go_together(canonical_files: tuple[Path, Path]) -> None:
    with pytest.raises(WeightsError, match="go together"):
        weights.load_model(vgg=canonical_files[0])


def test_bundled_model_is_checked_against_its_manifest(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import json

    import torch

    from adain_live._fs import sha256_file
    from adain_live.core.checkpoint import save_safetensors
    from adain_live.core.model import AdaINModel

    models = tmp_path / "models"
    model = AdaINModel.random(0)
    enc = save_safetensors(model.encoder.state_dict(), models / weights.STUDENT.file("encoder").filename,
                           dtype=torch.float16)
    dec = save_safetensors(model.decoder.state_dict(), models / weights.STUDENT.file("decoder").filename,
                           dtype=torch.float16)
    files = {"encoder": {"sha256": sha256_file(enc)}, "decoder": {"sha256": sha256_file(dec)}}
    (models / weights.STUDENT_MANIFEST).write_text(json.dumps({"status": "test", "files": files}))
    monkeypatch.setenv("ADAIN_LIVE_MODELS", str(models))
    assert weights.default_set().name == "adain-live-student"
    assert weights.load_model().decoder[1].weight.dtype == torch.float32
    files["decoder"]["sha256"] = "0" * 64
    (models / weights.STUDENT_MANIFEST).write_text(json.dumps({"status": "test", "files": files}))
    with pytest.raises(WeightsError, match="damaged"):
        weights.load_model()
