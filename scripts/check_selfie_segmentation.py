"""Check the torch port of MediaPipe's selfie segmentation against the original graph.

The reference is the ``mediapipe==0.10.21`` solution itself (the .tflite graph with its custom op, run by
MediaPipe), in a throwaway virtual environment: mediapipe is never a dependency of adain-live::

    python3 -m venv /tmp/mpvenv && /tmp/mpvenv/bin/pip install mediapipe==0.10.21
    PYTHONPATH=. python scripts/check_selfie_segmentation.py --mediapipe-python /tmp/mpvenv/bin/python \
        ../shared/data/train/content/kphotoalbum_*.jpg ../shared/data/train/content/skimage_astronaut.jpg \
        --video ../shared/data/video/carphone.mp4

Two checks, for both variants (general 256×256, landscape 144×256):

1. *network*: images already at the network's input size, so neither side resizes: the maximum absolute
   difference of the probability maps;
2. *end to end*: photos and video frames at their own size, each side resizing as it does: the IoU of the masks
   thresholded at 0.5 (the issue's goal: ≥ 0.95).

The script runs itself under ``--mediapipe-python`` with ``--reference IN OUT`` (numpy + mediapipe only) to get
MediaPipe's masks; ``--save-dir`` writes side-by-side PNGs (image | mediapipe | torch).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

VARIANTS = {"general": 0, "landscape": 1}


def reference(inp: Path, out: Path) -> None:
    """Run MediaPipe on every array of ``inp`` (npz of RGB uint8) with both model selections; save the masks."""
    import mediapipe as mp

    arrays = dict(np.load(inp))
    masks = {}
    for variant, selection in VARIANTS.items():
        with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=selection) as seg:
            for key, img in arrays.items():
                masks[f"{variant}/{key}"] = seg.process(np.ascontiguousarray(img)).segmentation_mask
    np.savez(out, **masks)


def run_reference(python: str, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """MediaPipe's masks of ``arrays``, computed in the other interpreter."""
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(inp, **arrays)
        subprocess.run([python, __file__, "--reference", str(inp), str(out)], check=True)
        return dict(np.load(out))


def torch_masks(arrays: dict[str, np.ndarray], variant: str) -> dict[str, np.ndarray]:
    """The port's probability masks (H, W) float32 for each RGB uint8 array."""
    import torch

    from adain_live.weights import load_segmenter

    seg = load_segmenter(variant)
    out = {}
    with torch.inference_mode():
        for key, img in arrays.items():
            x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0
            out[key] = seg(x)[0, 0].numpy()
    return out


def load_inputs(images: list[Path], video: Path | None, every: int) -> dict[str, np.ndarray]:
    """RGB uint8 arrays of the photos and of every ``every``-th frame of the video."""
    from PIL import Image

    arrays = {p.stem: np.asarray(Image.open(p).convert("RGB")) for p in images}
    if video is not None:
        import av

        with av.open(str(video)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i % every == 0:
                    arrays[f"{video.stem}_{i:04d}"] = frame.to_ndarray(format="rgb24")
    return arrays


def network_inputs(arrays: dict[str, np.ndarray], size: tuple[int, int]) -> dict[str, np.ndarray]:
    """The photos resized to exactly the network input (so neither side resizes again)."""
    from PIL import Image

    return {k: np.asarray(Image.fromarray(v).resize((size[1], size[0]), Image.BILINEAR)) for k, v in arrays.items()}


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def save_panel(path: Path, img: np.ndarray, ref: np.ndarray, ours: np.ndarray) -> None:
    """Image | MediaPipe mask | torch mask, side by side."""
    from PIL import Image

    def grey(m: np.ndarray) -> np.ndarray:
        return np.repeat((np.clip(m, 0, 1) * 255).round().astype(np.uint8)[..., None], 3, axis=-1)

    Image.fromarray(np.concatenate([img, grey(ref), grey(ours)], axis=1)).save(path)


def main(argv: list[str] | None = None) -> int:
    """Compare the port with MediaPipe; print a table; exit 1 when an IoU is under ``--min-iou``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("images", nargs="*", type=Path)
    ap.add_argument("--video", type=Path)
    ap.add_argument("--every", type=int, default=10, help="every N-th video frame (default 10)")
    ap.add_argument("--mediapipe-python", default="/tmp/mpvenv/bin/python")
    ap.add_argument("--save-dir", type=Path)
    ap.add_argument("--min-iou", type=float, default=0.95)
    ap.add_argument("--manifest", type=Path, help="record the figures under 'agreement' in this MANIFEST.json")
    ap.add_argument("--reference", nargs=2, type=Path, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.reference:
        reference(*args.reference)
        return 0
    from adain_live.core.segmenter import VARIANTS as SIZES

    arrays = load_inputs(args.images, args.video, args.every)
    worst = 1.0
    record: dict[str, dict[str, object]] = {}
    for variant in VARIANTS:
        net_in = {f"net_{k}": v for k, v in network_inputs(arrays, SIZES[variant]).items()}
        ref = run_reference(args.mediapipe_python, {**arrays, **net_in})
        ref = {k.split("/", 1)[1]: v for k, v in ref.items() if k.startswith(variant + "/")}
        ours = torch_masks({**arrays, **net_in}, variant)
        diff = max(float(np.abs(ref[k] - ours[k]).max()) for k in net_in)
        mean_diff = float(np.mean([np.abs(ref[k] - ours[k]).mean() for k in net_in]))
        print(f"[{variant}] network at {SIZES[variant][0]}x{SIZES[variant][1]}: max |p_mediapipe - p_torch| = "
              f"{diff:.2e}, mean {mean_diff:.2e} over {len(net_in)} inputs")
        scores = []
        for key, img in arrays.items():
            score = iou(ref[key] > 0.5, ours[key] > 0.5)
            scores.append(score)
            worst = min(worst, score)
            print(f"[{variant}] {key:32s} {img.shape[1]}x{img.shape[0]}  person {np.mean(ref[key] > 0.5):6.1%}  "
                  f"IoU {score:.4f}")
            if args.save_dir:
                args.save_dir.mkdir(parents=True, exist_ok=True)
                save_panel(args.save_dir / f"{variant}_{key}.png", img, ref[key], ours[key])
        record[variant] = {"network_max_abs_diff": round(diff, 6), "iou_min": round(min(scores), 4),
                           "iou_mean": round(float(np.mean(scores)), 4), "inputs": len(scores)}
    print(f"worst IoU {worst:.4f} (goal >= {args.min_iou})")
    if args.manifest:
        data = json.loads(args.manifest.read_text())
        data["agreement"] = {"reference": "mediapipe 0.10.21 SelfieSegmentation solution (CPU)",
                             "threshold": 0.5, "inputs": sorted(arrays), "variants": record,
                             "command": " ".join(["python scripts/check_selfie_segmentation.py",
                                                  *map(str, args.images),
                                                  *(["--video", str(args.video)] if args.video else [])])}
        args.manifest.write_text(json.dumps(data, indent=2) + "\n")
    return 0 if worst >= args.min_iou else 1


if __name__ == "__main__":
    sys.exit(main())
