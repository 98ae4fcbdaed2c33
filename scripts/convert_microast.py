"""Convert the upstream MicroAST weights (four ``.pth.tar`` state dicts) into the bundled fp32 safetensors.

    python scripts/convert_microast.py ../shared/teachers/microast models/microast

The conversion is exact (fp32 in, fp32 out; every tensor is compared after writing). Writes the four files,
the upstream MIT ``LICENSE`` and ``MANIFEST.json`` (source, sha256 and bytes per file); measured speed and
quality figures are added to the manifest by ``scripts/measure_models.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

from adain_live._fs import sha256_file
from adain_live.core.checkpoint import read_state_dict, save_safetensors
from adain_live.core.microast import PARTS, load_microast
from adain_live.weights import MANIFEST, MICROAST

UPSTREAM = {
    "content_encoder": "content_encoder_iter_160000.pth.tar",
    "style_encoder": "style_encoder_iter_160000.pth.tar",
    "modulator": "modulator_iter_160000.pth.tar",
    "decoder": "decoder_iter_160000.pth.tar",
}
SOURCE = {
    "repository": "https://github.com/EndyWon/MicroAST",
    "commit": "5a6c9050",
    "paper": "Wang et al., MicroAST: Towards Super-Fast Ultra-Resolution Arbitrary Style Transfer, AAAI 2023",
    "licence": "MIT, Copyright (c) 2022 Zhizhong Wang (LICENSE in this folder)",
    "files": UPSTREAM,
}


def convert(src: Path, dest: Path) -> dict[str, object]:
    """Write the bundle into ``dest``; returns the manifest."""
    load_microast({p: src / f for p, f in UPSTREAM.items()})  # validates every part first
    dest.mkdir(parents=True, exist_ok=True)
    files: dict[str, object] = {}
    for part in PARTS:
        state = read_state_dict(src / UPSTREAM[part])
        out = dest / MICROAST.file(part).filename
        save_safetensors({k: v.float() for k, v in state.items()}, out,
                         metadata={"source": f"EndyWon/MicroAST@5a6c9050 {UPSTREAM[part]}", "licence": "MIT"})
        back = read_state_dict(out)
        if set(back) != set(state) or not all(torch.equal(back[k], state[k].float()) for k in state):
            raise SystemExit(f"{out} does not round-trip exactly")
        files[part] = {"file": out.name, "sha256": sha256_file(out), "bytes": out.stat().st_size,
                       "upstream_sha256": sha256_file(src / UPSTREAM[part]),
                       "params": sum(v.numel() for v in state.values())}
    shutil.copyfile(src / "LICENSE", dest / "LICENSE")
    old = dest / MANIFEST
    manifest: dict[str, object] = json.loads(old.read_text()) if old.is_file() else {}
    manifest.update({"name": MICROAST.name, "family": "microast", "precision": "fp32", "source": SOURCE,
                     "conversion": "scripts/convert_microast.py (exact: tensors compared after writing)",
                     "files": files})
    old.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("src", type=Path, help="folder with the four upstream .pth.tar files and LICENSE")
    p.add_argument("dest", type=Path, help="bundle folder (models/microast)")
    a = p.parse_args(argv)
    man = convert(a.src, a.dest)
    print(json.dumps(man["files"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
