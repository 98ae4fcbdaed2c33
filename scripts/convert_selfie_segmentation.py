"""Convert MediaPipe's selfie segmentation .tflite files into adain-live's torch segmenter weights (run once).

The two models ship in the ``mediapipe==0.10.21`` wheel (``mediapipe/modules/selfie_segmentation/``; later
releases dropped them). They are read straight from the wheel with the ``tflite`` flatbuffer parser, which is a
tool of this script only, not a dependency of adain-live::

    pip download mediapipe==0.10.21 --no-deps -d /tmp/mp
    pip install --target /tmp/tflite_pkg tflite && rm -rf /tmp/tflite_pkg/numpy*   # keep the venv's numpy
    PYTHONPATH=/tmp/tflite_pkg:. python scripts/convert_selfie_segmentation.py /tmp/mp/mediapipe-0.10.21-*.whl

It writes ``models/selfie_segmentation/``: one safetensors file per variant (fp16, as stored in the .tflite),
the Apache-2.0 LICENSE from the wheel, a NOTICE and MANIFEST.json (sha256 of the wheel, the .tflite files and the
outputs). Layouts: TFLite conv kernels are [out, kh, kw, in] → torch [out, in, kh, kw]; depthwise [1, kh, kw, ch]
→ [ch, 1, kh, kw]; the custom op ``Convolution2DTransposeBias`` (transposed conv + bias) [out, kh, kw, in] →
ConvTranspose2d [in, out, kh, kw]. Each graph's operator sequence is checked against the torch network's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import torch

from adain_live._fs import sha256_file
from adain_live.core.checkpoint import save_safetensors
from adain_live.core.segmenter import VARIANTS, expected_shapes, load_segmenter

WHEEL_VERSION = "0.10.21"
MEMBER = "mediapipe/modules/selfie_segmentation/{}.tflite"
TFLITE_NAME = {"general": "selfie_segmentation", "landscape": "selfie_segmentation_landscape"}
LICENSE_MEMBER = f"mediapipe-{WHEEL_VERSION}.dist-info/LICENSE"
OUT = Path("models/selfie_segmentation")

# (torch module, tflite layer, kind): every weight layer of the graph, in graph order.
_BLOCKS = [  # expand, depthwise, SE reduce/expand (or None), project
    ("conv2d_1", "depthwise_conv2d", ("conv2d_2", "conv2d_3"), "conv2d_4"),
    ("conv2d_5", "depthwise_conv2d_1", None, "conv2d_6"),
    ("conv2d_7", "depthwise_conv2d_2", None, "conv2d_8"),
    ("conv2d_9", "depthwise_conv2d_3", ("conv2d_10", "conv2d_11"), "conv2d_12"),
    ("conv2d_13", "depthwise_conv2d_4", ("conv2d_14", "conv2d_15"), "conv2d_16"),
    ("conv2d_17", "depthwise_conv2d_5", ("conv2d_18", "conv2d_19"), "conv2d_20"),
    ("conv2d_21", "depthwise_conv2d_6", ("conv2d_22", "conv2d_23"), "conv2d_24"),
    ("conv2d_25", "depthwise_conv2d_7", ("conv2d_26", "conv2d_27"), "conv2d_28"),
]


def layer_map(final: str) -> list[tuple[str, str, str]]:
    """(torch prefix, tflite layer, kind) for every layer; ``final`` names the last (transposed) layer."""
    rows = [("stem", "conv2d", "conv")]
    for i, (exp, dw, se, proj) in enumerate(_BLOCKS):
        rows += [(f"blocks.{i}.expand", exp, "conv"), (f"blocks.{i}.dw", dw, "dw")]
        if se:
            rows += [(f"blocks.{i}.se.reduce", se[0], "conv"), (f"blocks.{i}.se.expand", se[1], "conv")]
        rows.append((f"blocks.{i}.project", proj, "conv"))
    rows += [("head.conv", "conv2d_29", "conv"), ("head.gate", "conv2d_30", "conv"), ("up8", "conv2d_31", "conv")]
    for name, (a, b, c, dw) in (("fuse8", (32, 33, 34, 8)), ("fuse4", (36, 37, 38, 9)), ("fuse2", (40, 41, 42, 10))):
        rows += [(f"{name}.att.reduce", f"conv2d_{a}", "conv"), (f"{name}.att.expand", f"conv2d_{b}", "conv"),
                 (f"{name}.conv", f"conv2d_{c}", "conv"), (f"{name}.dw", f"depthwise_conv2d_{dw}", "dw")]
        rows.append({"fuse8": ("up4", "conv2d_35", "conv"), "fuse4": ("up2", "conv2d_39", "conv"),
                     "fuse2": ("out", final, "tconv")}[name])
    return rows


def read_tflite(buf: bytes) -> tuple[dict[str, np.ndarray], list[str]]:
    """Constant tensors (by name, as float32 copies of the stored fp16) and the operator sequence of a model."""
    import tflite  # the converter's own tool; not an adain-live dependency
    from tflite.BuiltinOperator import BuiltinOperator
    from tflite.TensorType import TensorType

    op_names = {v: k for k, v in vars(BuiltinOperator).items() if not k.startswith("_")}
    dtypes = {TensorType.FLOAT16: np.float16, TensorType.FLOAT32: np.float32, TensorType.INT32: np.int32}
    model = tflite.Model.GetRootAsModel(buf, 0)
    graph = model.Subgraphs(0)
    consts: dict[str, np.ndarray] = {}
    for i in range(graph.TensorsLength()):
        t = graph.Tensors(i)
        data = model.Buffers(t.Buffer()).DataAsNumpy()
        if isinstance(data, np.ndarray) and data.size:
            arr = np.frombuffer(data.tobytes(), dtypes[t.Type()]).reshape(t.ShapeAsNumpy())
            consts[t.Name().decode()] = arr
    ops = []
    for k in range(graph.OperatorsLength()):
        code = model.OperatorCodes(graph.Operators(k).OpcodeIndex())
        name = op_names[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        ops.append(code.CustomCode().decode() if name == "CUSTOM" else name)
    return consts, ops


def convert(consts: dict[str, np.ndarray], final: str) -> dict[str, torch.Tensor]:
    """Torch state dict (fp16, the stored precision) of the network from the graph's constants."""
    state: dict[str, torch.Tensor] = {}
    used = set()
    for prefix, layer, kind in layer_map(final):
        kernel, bias = consts[f"{layer}/Kernel"], consts[f"{layer}/Bias"]
        used |= {f"{layer}/Kernel", f"{layer}/Bias"}
        perm = (0, 3, 1, 2) if kind == "conv" else (3, 0, 1, 2)  # dw and tconv: channels-last axis first
        state[f"{prefix}.weight"] = torch.from_numpy(np.array(kernel.transpose(perm)))
        state[f"{prefix}.bias"] = torch.from_numpy(np.array(bias))
    left = {n for n in consts if n.endswith(("/Kernel", "/Bias"))} - used
    if left:
        raise SystemExit(f"unconverted weights in the graph: {sorted(left)}")
    shapes = expected_shapes()
    bad = {k: (tuple(v.shape), shapes.get(k)) for k, v in state.items() if tuple(v.shape) != shapes.get(k)}
    if bad or set(state) != set(shapes):
        raise SystemExit(f"layout mismatch: {bad or set(shapes) ^ set(state)}")
    return state


def check_ops(ops: list[str]) -> None:
    """The graph must be the one the torch network rebuilds (counts of each kind of operator)."""
    counts = {op: ops.count(op) for op in set(ops) if op != "DEQUANTIZE"}
    pools = counts.pop("AVERAGE_POOL_2D", 0) + counts.pop("MEAN", 0)  # general pools, landscape reduces
    expected = {"CONV_2D": 43, "DEPTHWISE_CONV_2D": 11, "HARD_SWISH": 11, "RELU": 22, "LOGISTIC": 11,
                "MUL": 10, "ADD": 14, "RESIZE_BILINEAR": 3, "Convolution2DTransposeBias": 1}
    if counts != expected or pools != 10:
        raise SystemExit(f"unexpected graph: {counts}, {pools} global pools")


def main(argv: list[str] | None = None) -> int:
    """Convert both variants from the wheel into ``models/selfie_segmentation/``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wheel", type=Path, help=f"mediapipe-{WHEEL_VERSION}-*.whl")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    manifest: dict[str, object] = {
        "name": "selfie-segmentation",
        "source": {"package": "mediapipe", "version": WHEEL_VERSION, "wheel": args.wheel.name,
                   "wheel_sha256": sha256_file(args.wheel)},
        "licence": "Apache-2.0 (Google LLC); see LICENSE and NOTICE",
        "converter": "scripts/convert_selfie_segmentation.py",
        "variants": {},
    }
    with zipfile.ZipFile(args.wheel) as wheel:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "LICENSE").write_bytes(wheel.read(LICENSE_MEMBER))
        for variant, stem in TFLITE_NAME.items():
            member = MEMBER.format(stem)
            buf = wheel.read(member)
            consts, ops = read_tflite(buf)
            check_ops(ops)
            final = "segment" if variant == "general" else "conv2d_transpose"
            state = convert(consts, final)
            dest = args.out / f"selfie_segmentation_{variant}.safetensors"
            save_safetensors(state, dest, metadata={"source": f"mediapipe {WHEEL_VERSION} {member}",
                                                    "licence": "Apache-2.0"})
            load_segmenter(dest, variant)  # validates names, shapes and values
            manifest["variants"][variant] = {  # type: ignore[index]
                "file": dest.name, "sha256": sha256_file(dest), "bytes": dest.stat().st_size,
                "input_hw": list(VARIANTS[variant]), "tflite": member,
                "tflite_sha256": hashlib.sha256(buf).hexdigest(),
            }
            print(f"{member} -> {dest} ({len(state)} tensors)")
    (args.out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
