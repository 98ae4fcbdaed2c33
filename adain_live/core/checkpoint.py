"""Safe loading and saving of encoder/decoder weights.

Files are read with ``torch.load(..., weights_only=True)`` (``.pth``/``.pt``) or safetensors, then checked key
by key against the architecture: names, shapes, floating dtypes and finiteness. A pickle that tries to run
code, a truncated file or a file of another architecture raises :class:`WeightsError` with one line; nothing
from the file is executed or loaded into a model before it passes.
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import warnings
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from adain_live._fs import atomic_write_path
from adain_live.core.vgg import ENCODER_LENGTH, build_decoder, build_encoder, build_vgg, conv_shapes
from adain_live.errors import WeightsError

_FLOAT_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, Tensor]:
    """Read a flat ``{name: tensor}`` mapping from a .pth/.pt or .safetensors file, without executing code."""
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"weights file not found: {p}; check the path or run `adain-live weights list`")
    if p.stat().st_size == 0:
        raise WeightsError(f"weights file {p} is empty; download or export it again")
    state: object = _read_safetensors(p) if p.suffix == ".safetensors" or _is_safetensors(p) else _read_torch(p)
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()
    ):
        raise WeightsError(f"{p} is not a state dict of tensors; pass a vgg_normalised/decoder weights file")
    return dict(state)


def _is_safetensors(p: Path) -> bool:
    """True when the content is safetensors (8-byte header length, then a JSON header), whatever the suffix.

    ``weights import`` stores a decoder under the registry's file name (``decoder.pth``) whichever format it
    came in, so the format is told by the bytes, not the name.
    """
    try:
        with p.open("rb") as fh:
            head = fh.read(9)
    except OSError:
        return False
    return len(head) == 9 and head[8:9] == b"{" and 2 <= int.from_bytes(head[:8], "little") < p.stat().st_size


def _read_torch(p: Path) -> object:
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before refusing; our line says it
            warnings.simplefilter("ignore")
            return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if not _imports_objects(p):  # random or damaged bytes, not a pickle that asks for code
            raise WeightsError(f"{p} is not a readable PyTorch weights file (corrupt or not a weights file); "
                               "download or export it again") from exc
        raise WeightsError(f"{p} was refused: it holds Python objects other than tensors, and loading them "
                           "could run code; only plain weight files are accepted") from exc
    except Exception as exc:  # noqa: BLE001 - arbitrary bytes make the unpickler raise anything
        raise WeightsError(f"{p} is not a readable PyTorch weights file ({type(exc).__name__}); "
                           "it may be truncated: download it again") from exc


def _pickle_streams(p: Path) -> list[bytes]:
    """The pickle bytes of a torch file: ``data.pkl`` of the zip format, else the whole (legacy) file."""
    if zipfile.is_zipfile(p):
        try:
            with zipfile.ZipFile(p) as zf:
                return [zf.read(n) for n in zf.namelist() if n.endswith("data.pkl")]
        except (zipfile.BadZipFile, OSError, EOFError, ValueError):
            return []
    return [p.read_bytes()[: 64 << 20]]


#: Modules whose globals a plain weight file imports (tensor rebuilding, OrderedDict).
_PLAIN_MODULES = ("torch", "collections")


def _globals(stream: io.BytesIO) -> list[str]:
    """Module names one pickle imports (GLOBAL / STACK_GLOBAL), read without executing it."""
    found, strings = [], []
    for op, arg, _ in pickletools.genops(stream):
        if isinstance(arg, str):
            strings.append(arg)
        if op.name in ("GLOBAL", "INST"):
            found.append(str(arg).split(" ", 1)[0])
        elif op.name == "STACK_GLOBAL":
            found.append(strings[-2] if len(strings) >= 2 else "?")
    return found


def _imports_objects(p: Path) -> bool:
    """True when the file parses as pickle(s) that import something other than torch's tensor rebuilders.

    Decided by walking the opcodes with :mod:`pickletools` (nothing is executed): random or damaged bytes
    fail to parse, or import only what a plain weight file does, and are reported as corrupt, not as a
    code-running pickle.
    """
    for data in _pickle_streams(p):
        stream = io.BytesIO(data)
        while stream.tell() < len(data):
            try:
                modules = _globals(stream)
            except Exception:  # noqa: BLE001 - not (or no longer) a valid pickle
                break
            if any(m.split(".", 1)[0] not in _PLAIN_MODULES for m in modules):
                return True
    return False


def _read_safetensors(p: Path) -> dict[str, Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(p), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise WeightsError(f"{p} is not a readable safetensors file ({exc}); export or download it again") \
            from exc


def validate_state(state: Mapping[str, Tensor], expected: Mapping[str, tuple[int, ...]], what: str,
                   path: str | os.PathLike[str],
                   hint: Callable[[Mapping[str, Tensor]], str] | None = None) -> None:
    """Check names, shapes, dtypes and finiteness of ``state`` against ``expected``; raise WeightsError.

    ``what`` names the part (e.g. "AdaIN decoder"); ``hint`` turns a misfit state into a suffix saying what
    the file looks like instead (default: the AdaIN guess).
    """
    guess = hint or _guess_kind
    missing = sorted(set(expected) - set(state), key=_key_order)
    extra = sorted(set(state) - set(expected), key=_key_order)
    if missing or extra:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {extra[:3]}"
        raise WeightsError(f"{path} does not fit the {what} ({detail}){guess(state)}")
    for key, shape in expected.items():
        t = state[key]
        if tuple(t.shape) != shape:
            raise WeightsError(f"{path} does not fit the {what}: {key} has shape {tuple(t.shape)}, "
                               f"expected {shape}{guess(state)}")
        if t.dtype not in _FLOAT_DTYPES:
            raise WeightsError(f"{path}: {key} has dtype {t.dtype}; weights must be floating point")
        if not torch.isfinite(t).all():
            raise WeightsError(f"{path}: {key} contains NaN or infinity; the file is corrupt, get it again")


def _key_order(key: str) -> tuple[int, str]:
    head = key.split(".", 1)[0]
    return (int(head) if head.isdigit() else 1 << 30, key)


def _guess_kind(state: Mapping[str, Tensor]) -> str:
    if set(state) == set(conv_shapes(build_decoder())):
        return "; it looks like a decoder: pass it with --decoder"
    if set(conv_shapes(build_encoder())) <= set(state):
        return "; it looks like a VGG encoder: pass it with --vgg"
    return "; it is not an AdaIN weights file"


def load_encoder(path: str | os.PathLike[str]) -> nn.Sequential:
    """Load the encoder (to relu4_1) from a full ``vgg_normalised.pth`` or an encoder-only file (fp32)."""
    state = read_state_dict(path)
    encoder = build_encoder()
    enc_keys = conv_shapes(encoder)
    full = conv_shapes(build_vgg())
    # The canonical file holds all of VGG-19 (to relu5_4); only the first 31 modules are used.
    validate_state(state, full if set(state) == set(full) else enc_keys, "AdaIN encoder (VGG-19 to relu4_1)", path)
    encoder.load_state_dict({k: state[k].float() for k in enc_keys})
    assert len(encoder) == ENCODER_LENGTH
    return encoder.eval()


def load_decoder(path: str | os.PathLike[str]) -> nn.Sequential:
    """Load the AdaIN decoder (canonical ``decoder.pth`` layout or our safetensors export), as fp32."""
    state = read_state_dict(path)
    decoder = build_decoder()
    validate_state(state, conv_shapes(decoder), "AdaIN decoder", path)
    decoder.load_state_dict({k: v.float() for k, v in state.items()})
    return decoder.eval()


def save_safetensors(state: Mapping[str, Tensor], path: str | os.PathLike[str],
                     metadata: Mapping[str, str] | None = None, dtype: torch.dtype | None = None) -> Path:
    """Write ``state`` atomically as safetensors (optionally cast to ``dtype``, e.g. fp16)."""
    from safetensors.torch import save_file

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: (v.to(dtype) if dtype is not None else v).detach().cpu().contiguous() for k, v in state.items()}
    with atomic_write_path(p) as tmp:
        save_file(tensors, str(tmp), metadata=dict(metadata or {}))
    return p
