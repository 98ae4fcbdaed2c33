from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from adain_live.core.checkpoint import load_decoder, load_encoder, read_state_dict, save_safetensors
from adain_live.core.vgg import build_decoder, build_encoder, build_vgg
from adain_live.errors import WeightsError


def test_loads_canonical_pair(canonical_files: tuple[Path, Path]) -> None:
    vgg_path, dec_path = canonical_files
    enc = load_encoder(vgg_path)
    full = torch.load(vgg_path, weights_only=True)
    torch.testing.assert_close(enc[29].weight, full["29.weight"])
    dec = load_decoder(dec_path)
    torch.testing.assert_close(dec[28].bias, torch.load(dec_path, weights_only=True)["28.bias"])


def test_loads_encoder_only_and_safetensors(tmp_path: Path) -> None:
    enc = build_encoder()
    torch.save(enc.state_dict(), tmp_path / "enc.pth")
    save_safetensors(enc.state_dict(), tmp_path / "enc.safetensors", {"kind": "encoder"}, dtype=torch.float16)
    a = load_encoder(tmp_path / "enc.pth")
    b = load_encoder(tmp_path / "enc.safetensors")
    assert b[0].weight.dtype == torch.float32  # loaded as fp32 whatever the file holds
    torch.testing.assert_close(a[2].weight, b[2].weight, atol=1e-2, rtol=1e-2)


def test_malicious_pickle_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):  # noqa: ANN204
            return (os.system, (f"touch {marker}",))

    torch.save({"1.weight": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(WeightsError, match="refused"):
        load_decoder(tmp_path / "evil.pth")
    assert not marker.exists()


@pytest.mark.parametrize("case", ["missing", "empty", "truncated", "text", "not-a-dict"])
def test_unreadable_files(tmp_path: Path, canonical_files: tuple[Path, Path], case: str) -> None:
    p = tmp_path / "decoder.pth"
    if case == "empty":
        p.write_bytes(b"")
    elif case == "truncated":
        p.write_bytes(canonical_files[1].read_bytes()[:5000])
    elif case == "text":
        p.write_text("this is not a weights file\n")
    elif case == "not-a-dict":
        torch.save([torch.zeros(3)], p)
    with pytest.raises(WeightsError) as info:
        load_decoder(p)
    assert "\n" not in str(info.value)


def test_wrong_architecture_says_which_flag(canonical_files: tuple[Path, Path]) -> None:
    vgg_path, dec_path = canonical_files
    with pytest.raises(WeightsError, match="--vgg"):
        load_decoder(vgg_path)
    with pytest.raises(WeightsError, match="--decoder"):
        load_encoder(dec_path)


def test_wrong_shape_dtype_and_nan(tmp_path: Path) -> None:
    state = build_decoder().state_dict()
    bad_shape = dict(state, **{"1.weight": torch.zeros(256, 512, 1, 1)})
    torch.save(bad_shape, tmp_path / "a.pth")
    with pytest.raises(WeightsError, match="shape"):
        load_decoder(tmp_path / "a.pth")
    bad_dtype = dict(state, **{"1.bias": torch.zeros(256, dtype=torch.int64)})
    torch.save(bad_dtype, tmp_path / "b.pth")
    with pytest.raises(WeightsError, match="dtype"):
        load_decoder(tmp_path / "b.pth")
    nan = dict(state, **{"28.bias": torch.full((3,), float("nan"))})
    torch.save(nan, tmp_path / "c.pth")
    with pytest.raises(WeightsError, match="NaN"):
        load_decoder(tmp_path / "c.pth")


def test_corrupt_safetensors(tmp_path: Path) -> None:
    p = tmp_path / "x.safetensors"
    p.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(WeightsError, match="safetensors"):
        read_state_dict(p)


def test_full_vgg_with_extra_layers_is_rejected(tmp_path: Path) -> None:
    state = build_vgg().state_dict()
    state["99.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "v.pth")
    with pytest.raises(WeightsError, match="unexpected"):
        load_encoder(tmp_path / "v.pth")
