"""Evaluate a distilled student against the MicroAST teacher on the fixed eval pairs.

Renders the 6 content x 6 style images of the eval folder with teacher and student side by side into one
JPEG grid, measures PSNR/SSIM of student vs teacher on those 36 pairs, times both networks per frame at 720p,
draws an alpha sweep of the student, and (optionally) writes the figures into the export's manifest::

    python -m training.evaluate --student models/ --teacher ../shared/teachers/microast \
        --eval-dir ../shared/data/eval --grid docs/distill_grid.jpg --manifest models/MANIFEST.json
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from torch import Tensor

from adain_live.core import AdaINModel, resolve_device
from adain_live.core.checkpoint import load_decoder, load_encoder
from adain_live.errors import UserError
from training.augment import list_images, load_image, to_float
from training.student import DECODER_FILE, ENCODER_FILE
from training.teacher import MicroAST, load_teacher
from training.validation import psnr

MAX_GRID_BYTES = 1_500_000


def ssim(a: Tensor, b: Tensor) -> Tensor:
    """Per-image SSIM of two (N, 3, H, W) batches in [0, 1] (11x11 Gaussian window, sigma 1.5, channel mean)."""
    coords = torch.arange(11, dtype=torch.float32, device=a.device) - 5
    g = torch.exp(-(coords**2) / (2 * 1.5**2))
    g = g / g.sum()
    window = (g[:, None] * g[None, :]).expand(3, 1, 11, 11)

    def blur(x: Tensor) -> Tensor:
        return F.conv2d(x, window, groups=3)

    a, b = a.float(), b.float()
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.mean(dim=(1, 2, 3))


def load_student(folder: Path, device: torch.device) -> AdaINModel:
    """Load an exported student (fp16 safetensors) through the app's validated loaders, as fp32 eval model."""
    model = AdaINModel(load_encoder(folder / ENCODER_FILE), load_decoder(folder / DECODER_FILE))
    return model.eval().to(device)


def load_eval_images(folder: Path, device: torch.device) -> list[Tensor]:
    """All images of ``folder`` as (1, 3, H, W) float tensors, both sides cut to multiples of 8."""
    images = []
    for path in list_images(folder):
        image = load_image(path)
        if image is None:
            raise UserError(f"eval image {path} cannot be read")
        h, w = image.shape[-2:]
        images.append(to_float(image[:, : h // 8 * 8, : w // 8 * 8])[None].to(device))
    if not images:
        raise UserError(f"no eval images in {folder}")
    return images


@torch.no_grad()
def render_pairs(student: AdaINModel, teacher: MicroAST, contents: Sequence[Tensor],
                 styles: Sequence[Tensor]) -> tuple[list[list[Tensor]], list[list[Tensor]]]:
    """Stylize every (content, style) pair at alpha = 1 with both networks: ``[style][content]`` outputs."""
    teacher_out: list[list[Tensor]] = []
    student_out: list[list[Tensor]] = []
    for style in styles:
        stats = student.style_stats(style)
        teacher_out.append([teacher(c, style, 1.0).float().cpu() for c in contents])
        student_out.append([student.stylize(c, stats, 1.0).float().cpu() for c in contents])
    return teacher_out, student_out


def agreement(teacher_out: list[list[Tensor]], student_out: list[list[Tensor]]) -> dict[str, Any]:
    """Mean and per-pair PSNR/SSIM of the student's outputs against the teacher's."""
    p, s = [], []
    for row_t, row_s in zip(teacher_out, student_out, strict=True):
        for t, x in zip(row_t, row_s, strict=True):
            p.append(float(psnr(x, t)))
            s.append(float(ssim(x, t)))
    return {"psnr_db": round(sum(p) / len(p), 3), "ssim": round(sum(s) / len(s), 4), "pairs": len(p),
            "psnr_min_db": round(min(p), 3), "psnr_max_db": round(max(p), 3)}


def _thumb(image: Tensor, size: tuple[int, int]) -> Image.Image:
    """A (1, 3, H, W) tensor as a PIL image, resized and centre-cropped to ``size`` (w, h)."""
    array = image[0].clamp(0, 1).mul(255).round().byte().permute(1, 2, 0).cpu().numpy()
    im = Image.fromarray(array)
    scale = max(size[0] / im.width, size[1] / im.height)
    im = im.resize((max(size[0], round(im.width * scale)), max(size[1], round(im.height * scale))),
                   Image.Resampling.LANCZOS)
    left, top = (im.width - size[0]) // 2, (im.height - size[1]) // 2
    return im.crop((left, top, left + size[0], top + size[1]))


def make_grid(contents: Sequence[Tensor], styles: Sequence[Tensor], teacher_out: list[list[Tensor]],
              student_out: list[list[Tensor]], cell: tuple[int, int] = (216, 144)) -> Image.Image:
    """Header row of contents, first column of styles; each cell is teacher (top, T) over student (bottom, S)."""
    w, h = cell
    gap = 6
    grid = Image.new("RGB", ((len(contents) + 1) * (w + gap), h + gap + len(styles) * (2 * h + 2 * gap)),
                     "white")
    draw = ImageDraw.Draw(grid)
    for j, c in enumerate(contents):
        grid.paste(_thumb(c, cell), ((j + 1) * (w + gap), 0))
    for i, s in enumerate(styles):
        y = h + gap + i * (2 * h + 2 * gap)
        grid.paste(_thumb(s, (w, 2 * h)), (0, y))
        for j in range(len(contents)):
            x = (j + 1) * (w + gap)
            for k, (out, tag) in enumerate(((teacher_out[i][j], "T"), (student_out[i][j], "S"))):
                grid.paste(_thumb(out, cell), (x, y + k * h))
                draw.rectangle((x, y + k * h, x + 13, y + k * h + 13), fill="black")
                draw.text((x + 3, y + k * h + 1), tag, fill="white")
    return grid


def save_jpeg(image: Image.Image, path: Path, max_bytes: int = MAX_GRID_BYTES) -> int:
    """Save ``image`` as the best-quality JPEG under ``max_bytes``; return its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for quality in (90, 85, 80, 75, 70, 60, 50):
        buf = io.BytesIO()
        image.save(buf, format="JPEG", quality=quality, optimize=True)
        if buf.tell() <= max_bytes:
            break
    path.write_bytes(buf.getvalue())
    return buf.tell()


@torch.no_grad()
def alpha_strip(student: AdaINModel, content: Tensor, style: Tensor,
                alphas: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0)) -> Image.Image:
    """The student's outputs for one pair at several alphas, side by side (the slider must stay meaningful)."""
    stats = student.style_stats(style)
    tiles = [_thumb(student.stylize(content, stats, a).float().cpu(), (288, 192)) for a in alphas]
    strip = Image.new("RGB", (288 * len(tiles), 192))
    for k, tile in enumerate(tiles):
        strip.paste(tile, (288 * k, 0))
    return strip


def time_per_frame(fn: Callable[[], object], device: torch.device, runs: int) -> float:
    """Median milliseconds of ``fn`` over ``runs`` calls after warm-up (CUDA events on the GPU)."""
    for _ in range(3 if device.type == "cuda" else 1):
        fn()
    times = []
    for _ in range(runs):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000.0)
    return sorted(times)[len(times) // 2]


@torch.no_grad()
def speed_720p(student: AdaINModel, teacher: MicroAST, style: Tensor, device: torch.device,
               runs: int) -> dict[str, Any]:
    """Per-frame time at 1280x720 of both networks with the style's work cached (fp16 on CUDA, fp32 on CPU)."""
    dtype = torch.float16 if device.type == "cuda" else torch.float32
    student = student.to(dtype=dtype, memory_format=torch.channels_last)
    teacher = teacher.to(dtype=dtype)
    frame = torch.rand(1, 3, 720, 1280, device=device, dtype=dtype)
    stats = student.style_stats(style.to(dtype))
    s_feats = teacher.style_encoder(style.to(dtype))
    w, b = teacher.modulator(s_feats)
    one = torch.ones(1, 1, 1, 1, device=device, dtype=dtype)

    def run_teacher() -> Tensor:
        return teacher.decoder(teacher.content_encoder(frame), s_feats, w, b, one)

    result = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "dtype": str(dtype).replace("torch.", ""), "runs": runs,
              "student_ms": round(time_per_frame(lambda: student.stylize(frame, stats), device, runs), 2),
              "teacher_ms": round(time_per_frame(run_teacher, device, runs), 2)}
    student.float()
    teacher.float()
    return result


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--student", type=Path, required=True, help="folder with the exported student")
    p.add_argument("--teacher", type=Path, required=True, help="folder with the four MicroAST files")
    p.add_argument("--eval-dir", type=Path, required=True, help="folder with content/ and style/")
    p.add_argument("--grid", type=Path, default=Path("docs/distill_grid.jpg"))
    p.add_argument("--alpha-figure", type=Path, help="JPEG of an alpha sweep (default: next to the grid)")
    p.add_argument("--manifest", type=Path, help="MANIFEST.json to add the figures to")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    p.add_argument("--device", default="auto")
    p.add_argument("--speed-runs", type=int, default=20, help="timed frames at 720p (0 skips timing)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    return p.parse_args(argv)


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    """Render the grid and the alpha sweep, measure agreement and speed; return the figures."""
    device = resolve_device(args.device)
    student = load_student(args.student, device)
    teacher = load_teacher(args.teacher, device)
    contents = load_eval_images(args.eval_dir / "content", device)
    styles = load_eval_images(args.eval_dir / "style", device)
    teacher_out, student_out = render_pairs(student, teacher, contents, styles)
    figures: dict[str, Any] = {"teacher_agreement": {**agreement(teacher_out, student_out),
                                                     "eval_dir": str(args.eval_dir), "alpha": 1.0,
                                                     "content_sizes_hw": [list(c.shape[-2:]) for c in contents]}}
    grid_bytes = save_jpeg(make_grid(contents, styles, teacher_out, student_out), args.grid)
    alpha_path = args.alpha_figure or args.grid.with_name(args.grid.stem + "_alpha.jpg")
    save_jpeg(alpha_strip(student, contents[min(2, len(contents) - 1)], styles[0]), alpha_path)
    figures["figures"] = {"grid": str(args.grid), "grid_bytes": grid_bytes, "alpha_sweep": str(alpha_path)}
    if args.speed_runs > 0:
        figures["speed_720p"] = speed_720p(student, teacher, styles[0], device, args.speed_runs)
    return figures


def update_manifest(path: Path, figures: dict[str, Any]) -> None:
    """Merge ``figures`` into the JSON manifest at ``path``."""
    manifest = json.loads(path.read_text()) if path.is_file() else {}
    manifest.update(figures)
    path.write_text(json.dumps(manifest, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: evaluate, print the figures as JSON, optionally store them."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        figures = evaluate(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.manifest is not None:
        update_manifest(args.manifest, figures)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
