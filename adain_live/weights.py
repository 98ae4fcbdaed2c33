"""Registry of known weight sets, the cache directory, download, import and verification.

Three weight sets are known, of two model families (:mod:`adain_live.core.interface`):

* ``adain-vgg19`` (AdaIN-VGG) — the canonical pytorch-AdaIN pair (``vgg_normalised.pth`` + ``decoder.pth``),
  downloaded from its GitHub release into the cache, or imported from files the user already has.
* ``microast`` (MicroAST) — Wang et al., AAAI 2023 (MIT), bundled in ``models/microast/`` (1.9 MB): the
  fast, good-looking offline default.
* ``adain-live-student`` (AdaIN-VGG) — the project's own distilled model, bundled in ``models/``; interim.

The default is the canonical pair when it is in the cache, else MicroAST, else the student.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import ssl
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import certifi

from adain_live import paths as app_paths
from adain_live._fs import atomic_write_path, sha256_file
from adain_live.core.checkpoint import load_decoder, load_encoder
from adain_live.core.interface import StyleModel
from adain_live.core.microast import load_microast
from adain_live.core.model import AdaINModel
from adain_live.core.segmenter import VARIANTS as SEGMENTER_VARIANTS
from adain_live.core.segmenter import PersonSegmenter
from adain_live.core.segmenter import load_segmenter as _load_segmenter_file
from adain_live.errors import WeightsError

log = logging.getLogger(__name__)

ROLES = ("encoder", "decoder")
_RELEASE = "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0"
STUDENT_MANIFEST = "MANIFEST.json"
#: Manifest file name in every bundled model's folder.
MANIFEST = "MANIFEST.json"


@dataclass(frozen=True)
class WeightFile:
    """One file of a weight set: its role, file name and where it comes from."""

    role: str
    filename: str
    url: str | None = None
    sha256: str | None = None
    approx_mb: float | None = None


@dataclass(frozen=True)
class WeightSet:
    """A known weight set: name, model family, files, licence and how to get it.

    ``family`` is ``adain-vgg`` (roles encoder/decoder) or ``microast`` (roles content_encoder, style_encoder,
    modulator, decoder). Bundled sets live in ``folder`` under :func:`models_dir` with a ``MANIFEST.json``.
    """

    name: str
    description: str
    files: tuple[WeightFile, ...]
    licence: str
    bundled: bool = False
    family: str = "adain-vgg"
    folder: str = ""

    def file(self, role: str) -> WeightFile:
        """The file with ``role`` (encoder or decoder)."""
        return next(f for f in self.files if f.role == role)


CANONICAL = WeightSet(
    name="adain-vgg19",
    description="Canonical AdaIN (Huang & Belongie 2017) weights from pytorch-AdaIN v0.0.0",
    files=(
        WeightFile("encoder", "vgg_normalised.pth", f"{_RELEASE}/vgg_normalised.pth", approx_mb=80),
        WeightFile("decoder", "decoder.pth", f"{_RELEASE}/decoder.pth", approx_mb=14),
    ),
    licence="MIT (pytorch-AdaIN); VGG-19 weights from the Torch7 AdaIN release",
)

STUDENT = WeightSet(
    name="adain-live-student",
    description="adain-live's own offline model (AdaIN architecture distilled from MicroAST), bundled",
    files=(
        WeightFile("encoder", "adain-live-student-encoder.safetensors"),
        WeightFile("decoder", "adain-live-student-decoder.safetensors"),
    ),
    licence="MIT (distilled from MicroAST, MIT)",
    bundled=True,
)

MICROAST = WeightSet(
    name="microast",
    description="MicroAST (Wang et al., AAAI 2023; EndyWon/MicroAST 5a6c9050), fp32, bundled: the offline default",
    files=tuple(WeightFile(role, f"microast-{role.replace('_', '-')}.safetensors")
                for role in ("content_encoder", "style_encoder", "modulator", "decoder")),
    licence="MIT (Copyright (c) 2022 Zhizhong Wang; see models/microast/LICENSE)",
    bundled=True,
    family="microast",
    folder="microast",
)

REGISTRY: dict[str, WeightSet] = {ws.name: ws for ws in (MICROAST, STUDENT, CANONICAL)}
#: Preference order of the default model: the canonical pair when installed, else the bundled sets.
DEFAULT_ORDER = (CANONICAL, MICROAST, STUDENT)


def cache_dir() -> Path:
    """Cache root (weights, style codes): ``$ADAIN_LIVE_HOME``, else the OS's cache folder (:mod:`adain_live.paths`)."""
    return app_paths.cache_dir()


def models_dir() -> Path:
    """Folder of bundled models: ``$ADAIN_LIVE_MODELS``, else the one this copy of adain-live carries.

    An installed wheel has it inside the package (``adain_live/models``, mapped from the repository's ``models/``);
    a checkout or an editable install has ``models/`` beside the package folder.
    """
    env = os.environ.get("ADAIN_LIVE_MODELS")
    if env:
        return Path(env).expanduser()
    package = Path(__file__).resolve().parent
    inside = package / "models"
    return inside if inside.is_dir() else package.parent / "models"


def set_dir(ws: WeightSet) -> Path:
    """Where the files of ``ws`` live: its folder under ``models/`` for bundled sets, the cache otherwise."""
    return models_dir() / ws.folder if ws.bundled else cache_dir() / "weights" / ws.name


def get(name: str) -> WeightSet:
    """Look a weight set up by name; unknown names raise WeightsError listing the known ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise WeightsError(f"unknown model {name!r}; known models: {', '.join(REGISTRY)}") from None


def paths(ws: WeightSet) -> dict[str, Path]:
    """Paths of each role's file (whether or not they exist)."""
    return {f.role: set_dir(ws) / f.filename for f in ws.files}


def is_available(ws: WeightSet) -> bool:
    """True when every file of ``ws`` is present."""
    return all(p.is_file() for p in paths(ws).values())


def student_manifest() -> dict[str, object] | None:
    """The student's manifest (training facts, quality figures), or None when absent/unreadable."""
    return manifest(STUDENT)


def manifest(ws: WeightSet) -> dict[str, object] | None:
    """A bundled set's manifest (source, sha256 per file, measured figures), or None when absent/unreadable."""
    if not ws.bundled:
        return None
    p = set_dir(ws) / MANIFEST
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def default_set() -> WeightSet:
    """The canonical pair when cached, else MicroAST, else the student; WeightsError when none exists."""
    for ws in DEFAULT_ORDER:
        if is_available(ws):
            return ws
    raise WeightsError(
        "no model is available: the bundled offline model is missing from "
        f"{models_dir()} and the canonical weights are not in {set_dir(CANONICAL)}; run "
        "`adain-live weights download adain-vgg19` or `adain-live weights import vgg_normalised.pth decoder.pth`"
    )


def load_model(name: str | None = None, vgg: str | os.PathLike[str] | None = None,
               decoder: str | os.PathLike[str] | None = None) -> StyleModel:
    """Build an fp32 model (any family) from explicit AdaIN files, a registry name, or the default set.

    ``vgg`` and ``decoder`` (AdaIN-VGG files) must be given together; they override ``name``. The model's
    ``name`` is the registry name (``custom`` for explicit files).
    """
    if (vgg is None) != (decoder is None):
        raise WeightsError("--vgg and --decoder go together: give both files, or neither and use --model")
    if vgg is not None and decoder is not None:
        custom = AdaINModel(load_encoder(vgg), load_decoder(decoder)).eval()
        custom.name = "custom"
        return custom
    ws = get(name) if name else default_set()
    if not is_available(ws):
        lost = [p.name for p in paths(ws).values() if not p.is_file()]
        present = len(lost) < len(ws.files)
        how = (f"{', '.join(lost)} {'is' if len(lost) == 1 else 'are'} missing; restore the folder with "
               "`git checkout -- models/` or reinstall adain-live" if ws.bundled and present else
               "it is not bundled in this copy of adain-live" if ws.bundled else
               f"run `adain-live weights download {ws.name}` or `adain-live weights import FILE...`")
        raise WeightsError(f"model {ws.name} is not installed ({set_dir(ws)}); {how}")
    p = paths(ws)
    log.info("loading model %s from %s", ws.name, set_dir(ws))
    if ws.bundled:
        _check_manifest_hashes(ws, p)
    model: StyleModel
    if ws.family == "microast":
        model = load_microast(p)
    else:
        model = AdaINModel(load_encoder(p["encoder"]), load_decoder(p["decoder"])).eval()
    model.name = ws.name
    return model


def _check_manifest_hashes(ws: WeightSet, files: dict[str, Path]) -> None:
    """Compare bundled files with the sha256 their manifest records (a damaged checkout or a bad merge)."""
    listed = (manifest(ws) or {}).get("files")
    if not isinstance(listed, dict):
        return
    for role, path in files.items():
        entry = listed.get(role)
        expected = entry.get("sha256") if isinstance(entry, dict) else None
        if expected and sha256_file(path) != expected:
            raise WeightsError(f"{path} does not match the sha256 in {set_dir(ws) / MANIFEST}; the bundled "
                               "model is damaged: restore it with `git checkout -- models/`")


@dataclass(frozen=True)
class SegmenterWeights:
    """The bundled person segmenter: one weights file per variant, in a folder of ``models/`` with a manifest."""

    name: str
    description: str
    folder: str
    files: tuple[tuple[str, str], ...]  # (variant, file name)
    licence: str
    bundled: bool = True

    def file(self, variant: str) -> str:
        """File name of ``variant`` (general or landscape)."""
        for v, f in self.files:
            if v == variant:
                return f
        raise WeightsError(f"unknown segmenter variant {variant!r}; known: {', '.join(v for v, _ in self.files)}")


SEGMENTER = SegmenterWeights(
    name="selfie-segmentation",
    description="MediaPipe selfie segmentation (person mask), converted from mediapipe 0.10.21, bundled",
    folder="selfie_segmentation",
    files=tuple((v, f"selfie_segmentation_{v}.safetensors") for v in SEGMENTER_VARIANTS),
    licence="Apache-2.0 (Google LLC, MediaPipe); models/selfie_segmentation/LICENSE and NOTICE",
)


def segmenter_path(variant: str = "landscape") -> Path:
    """Path of the bundled segmenter weights of ``variant``."""
    return models_dir() / SEGMENTER.folder / SEGMENTER.file(variant)


def load_segmenter(variant: str = "landscape") -> PersonSegmenter:
    """The bundled person segmenter (fp32, CPU), checked against its manifest's sha256."""
    path = segmenter_path(variant)
    if not path.is_file():
        raise WeightsError(f"the person segmenter is missing ({path}); it is bundled with adain-live: "
                           "restore it with `git checkout -- models/`")
    try:
        manifest = json.loads((path.parent / STUDENT_MANIFEST).read_text())
        expected = manifest["variants"][variant]["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        expected = None
    if expected and sha256_file(path) != expected:
        raise WeightsError(f"{path} does not match the sha256 in its {STUDENT_MANIFEST}; the bundled segmenter "
                           "is damaged: restore it with `git checkout -- models/`")
    return _load_segmenter_file(path, variant)


def _verify(path: Path, role: str, expected_sha: str | None) -> None:
    if expected_sha and sha256_file(path) != expected_sha:
        raise WeightsError(f"{path.name} has the wrong checksum (expected sha256 {expected_sha[:12]}…); "
                           "the download is corrupt, try again")
    (load_encoder if role == "encoder" else load_decoder)(path)


Progress = Callable[[int, int | None], None]


def make_cache_folder(folder: Path) -> None:
    """Create ``folder`` and check it takes files; an unusable cache is one :class:`WeightsError` line.

    Covers a cache under a file, on a read-only mount or in a folder the user may not write to.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise WeightsError(f"cannot use the weights folder {folder} ({exc.strerror or exc}); set ADAIN_LIVE_HOME "
                           "to a writable folder") from exc


def download(name: str, mirror: str | None = None, progress: Progress | None = None,
             timeout: float = 20.0) -> list[Path]:
    """Download the files of a downloadable weight set into the cache, verifying each one.

    ``mirror`` (or ``$ADAIN_LIVE_MIRROR``) replaces the directory part of each URL. Files are fetched to a
    temporary name and renamed only after verification, so a failed download leaves nothing behind.
    """
    ws = get(name)
    if ws.bundled:
        raise WeightsError(f"{ws.name} is bundled with adain-live and is not downloaded")
    mirror = mirror or os.environ.get("ADAIN_LIVE_MIRROR")
    dest_dir = set_dir(ws)
    make_cache_folder(dest_dir)
    done: list[Path] = []
    for f in ws.files:
        assert f.url is not None
        url = f"{mirror.rstrip('/')}/{f.filename}" if mirror else f.url
        dest = dest_dir / f.filename
        _fetch(url, dest, progress, timeout)
        try:
            _verify(dest, f.role, f.sha256)
        except WeightsError:
            dest.unlink(missing_ok=True)
            raise
        done.append(dest)
    return done


def tls_context() -> ssl.SSLContext:
    """TLS with certifi's CA bundle: python.org's Python on macOS has no system CAs until a script is run."""
    return ssl.create_default_context(cafile=certifi.where())


def _fetch(url: str, dest: Path, progress: Progress | None, timeout: float) -> None:
    try:
        with atomic_write_path(dest) as tmp, tmp.open("wb") as out, \
                urllib.request.urlopen(url, timeout=timeout, context=tls_context()) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            got = 0
            while chunk := resp.read(1 << 16):
                out.write(chunk)
                got += len(chunk)
                if progress:
                    progress(got, total)
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WeightsError(f"cannot download {url} ({reason}); no network? download it on another machine "
                           "and run `adain-live weights import FILE...`") from exc


def identify_role(path: Path) -> str:
    """Return ``encoder`` or ``decoder`` for a weights file (raises WeightsError if it is neither)."""
    try:
        load_decoder(path)
        return "decoder"
    except WeightsError as dec_err:
        try:
            load_encoder(path)
            return "encoder"
        except WeightsError:
            raise dec_err from None


def import_files(files: Sequence[str | os.PathLike[str]], name: str = CANONICAL.name) -> list[Path]:
    """Verify user-supplied files and copy them into the cache under the weight set ``name``."""
    ws = get(name)
    if ws.bundled:
        raise WeightsError(f"{ws.name} is bundled; import into {CANONICAL.name} instead")
    dest_dir = set_dir(ws)
    copied: list[Path] = []
    for src in map(Path, files):
        role = identify_role(src)
        make_cache_folder(dest_dir)
        dest = dest_dir / ws.file(role).filename
        try:
            with atomic_write_path(dest) as tmp:
                shutil.copyfile(src, tmp)
        except OSError as exc:
            raise WeightsError(f"cannot copy {src} into {dest_dir} ({exc.strerror}); free some space or set "
                               "ADAIN_LIVE_HOME to a writable folder") from exc
        copied.append(dest)
    return copied
