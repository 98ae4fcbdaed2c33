"""Folders per OS (platformdirs' rules, mocked per platform) and the ADAIN_LIVE_HOME override."""

from __future__ import annotations

from pathlib import Path, PurePath

import platformdirs.windows
import pytest

from adain_live import paths, weights


@pytest.fixture
def no_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("ADAIN_LIVE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_VIDEOS_DIR"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_linux_folders(no_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert paths.cache_dir("linux") == no_home / ".cache" / "adain-live"
    assert paths.config_dir("linux") == no_home / ".config" / "adain-live"
    assert paths.data_dir("linux") == no_home / ".local" / "share" / "adain-live"
    monkeypatch.setenv("XDG_CACHE_HOME", str(no_home / "xc"))
    assert paths.cache_dir("linux") == no_home / "xc" / "adain-live"
    assert paths.recordings_dir("linux").name == "adain-live"


def test_macos_folders(no_home: Path) -> None:
    assert paths.cache_dir("darwin") == no_home / "Library" / "Caches" / "adain-live"
    assert paths.config_dir("darwin") == no_home / "Library" / "Application Support" / "adain-live"
    assert paths.recordings_dir("darwin") == no_home / "Movies" / "adain-live"


def test_windows_folders(no_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    known = {"CSIDL_LOCAL_APPDATA": r"C:\Users\u\AppData\Local", "CSIDL_APPDATA": r"C:\Users\u\AppData\Roaming",
             "CSIDL_MYVIDEO": r"C:\Users\u\Videos"}
    monkeypatch.setattr(platformdirs.windows, "get_win_folder", lambda name: known[name])
    cache = PurePath(paths.cache_dir("win32"))
    assert "AppData" in cache.as_posix() and "adain-live" in cache.as_posix()
    assert "Videos" in PurePath(paths.recordings_dir("win32")).as_posix()


def test_home_moves_everything(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ADAIN_LIVE_HOME", str(tmp_path))
    for platform in ("linux", "darwin", "win32"):
        assert paths.cache_dir(platform) == tmp_path
        assert paths.config_dir(platform) == tmp_path / "config"
        assert paths.data_dir(platform) == tmp_path / "data"
        assert paths.recordings_dir(platform) == tmp_path / "recordings"
    assert weights.cache_dir() == tmp_path


def test_downloads_verify_tls_with_certifi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import ssl

    import certifi

    seen: list[ssl.SSLContext | None] = []

    def urlopen(url: str, timeout: float, context: ssl.SSLContext | None = None) -> None:
        seen.append(context)
        raise OSError("offline")

    monkeypatch.setattr(weights.urllib.request, "urlopen", urlopen)
    with pytest.raises(weights.WeightsError):
        weights._fetch("https://example.invalid/x.pth", tmp_path / "x.pth", None, 1.0)
    ctx = seen[0]
    assert ctx is not None and ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.cert_store_stats()["x509_ca"] > 0
    assert Path(certifi.where()).is_file()
    assert not (tmp_path / "x.pth").exists()
