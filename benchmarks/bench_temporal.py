"""Flicker, sharpness and cost of the stabilisation modes (``--stabilize off|stats|flow``, ``--clip-stats``).

Clips: pans and a zoom over ``../shared/data/eval`` photos, with webcam-like noise (σ = 5/255, ±3 % exposure)
or clean, and the real clips of ``../shared/data/video``. Each clip is stylized per frame (``off``), with
smoothed content statistics (``stats``), with ``stats`` + flow blending (``flow``), with the content statistics
shared over the clip (``clip``: ``--clip-stats``, sampled in a first pass) and with both (``clip+flow``); the
table gives the
warping error (``adain-live flicker``'s metric, flow of the input frames), its ratio to ``off``, and the mean
gradient magnitude (sharpness) relative to ``off``. A blend/momentum sweep picks the defaults, and the extra
time per frame of each mode is measured at 640x360 on the CPU. Usage::

    python benchmarks/bench_temporal.py --markdown out.md --crop docs/temporal_crop.jpg
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import torch

from adain_live import weights
from adain_live.engine.clip_stats import ClipStats
from adain_live.engine.pipeline import StylePipeline
from adain_live.engine.temporal import FlowBlender, Stabilizer, StabilizeSettings
from adain_live.media.cuts import thumb
from adain_live.media.flow import sharpness, to_gray, warp, warping_error
from adain_live.media.images import read_image
from adain_live.media.motion import motion_clip
from adain_live.media.video_reader import VideoReader

_REPO = Path(__file__).resolve().parents[1]
#: ``../shared/data`` next to the checkout (or next to the folder of worktrees).
DATA = next((d for d in (_REPO.parent / "shared" / "data", _REPO.parents[1] / "shared" / "data") if d.is_dir()),
            _REPO.parent / "shared" / "data")
PHOTOS = ("mate_aqua.jpg", "endlesssky_desert1.jpg")
STYLE = "plasma_autumn.jpg"


def make_clips(frames: int, size: tuple[int, int]) -> dict[str, list[np.ndarray]]:
    """The synthetic and real clips, RGB uint8 at ``size`` (real clips resized to cover it)."""
    clips: dict[str, list[np.ndarray]] = {}
    for k, name in enumerate(PHOTOS):
        photo, _ = read_image(DATA / "eval" / "content" / name)
        tag = Path(name).stem.split("_")[0]
        clips[f"noisy pan ({tag})"] = motion_clip(photo, frames, size, pan=(2.0, 0.7), noise=5, exposure=0.03,
                                                  seed=k)
        clips[f"clean pan ({tag})"] = motion_clip(photo, frames, size, pan=(2.0, 0.7))
    photo, _ = read_image(DATA / "eval" / "content" / PHOTOS[0])
    clips["noisy zoom"] = motion_clip(photo, frames, size, pan=(0.0, 0.0), zoom=0.01, noise=5, exposure=0.03)
    for video in ("carphone.mp4", "bigbuckbunny.mp4"):
        path = DATA / "video" / video
        if path.is_file():
            clips[f"real: {video}"] = _read_video(path, frames, size)
    return clips


def _read_video(path: Path, frames: int, size: tuple[int, int]) -> list[np.ndarray]:
    out = []
    with VideoReader(path) as reader:
        for f in reader.frames():
            h, w = f.image.shape[:2]
            scale = max(size[0] / w, size[1] / h)
            img = cv2.resize(f.image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            y, x = (img.shape[0] - size[1]) // 2, (img.shape[1] - size[0]) // 2
            out.append(np.ascontiguousarray(img[y:y + size[1], x:x + size[0]]))
            if len(out) == frames:
                break
    return out


def run_mode(pipe: StylePipeline, clip: list[np.ndarray], settings: StabilizeSettings,
             keep_gain: bool | None = None) -> list[np.ndarray]:
    """Stylize a clip frame by frame (as the live runner does) with one stabilisation setting.

    With clip statistics the first pass runs over the clip first (``keep_gain``: see ``engine.clip_stats``).
    """
    stab = Stabilizer(pipe, settings)
    try:
        if isinstance(stab.stats, ClipStats) and keep_gain is not None:
            stab.stats.keep_gain = keep_gain
        stab.start_clip(lambda: iter(clip))
        return [stab(f) for f in clip]
    finally:
        stab.close()


def _row(name: str, mode: str, clip: list[np.ndarray], out: list[np.ndarray], base: tuple[float, float]) -> str:
    err = warping_error(clip, out).error
    sharp = float(np.mean([sharpness(o) for o in out]))
    return (f"| {name} | {mode} | {err:.6f} | {err / base[0]:.2f}x | {sharp / base[1]:.3f} |")


def quality(pipe: StylePipeline, clips: dict[str, list[np.ndarray]], defaults: StabilizeSettings,
            results: dict[str, dict[str, list[np.ndarray]]]) -> list[str]:
    """Table rows: warping error and sharpness of off / stats / flow on every clip."""
    rows = ["| clip | mode | warping error | vs off | sharpness vs off |", "|---|---|---:|---:|---:|"]
    for name, clip in clips.items():
        off = run_mode(pipe, clip, replace(defaults, mode="off"))
        stats = run_mode(pipe, clip, replace(defaults, mode="stats"))
        flow_settings = replace(defaults, mode="flow")
        # Stabilizer(flow) == the blender over the outputs with flow's statistics momentum (one pass less).
        under = off if not flow_settings.smooths_stats else run_mode(pipe, clip, replace(flow_settings, mode="stats"))
        blender = FlowBlender(flow_settings)
        flow = [blender(o, s) for o, s in zip(clip, under, strict=True)]
        shared = run_mode(pipe, clip, replace(defaults, mode="off", clip=True))
        blender = FlowBlender(flow_settings)
        shared_flow = [blender(o, s) for o, s in zip(clip, shared, strict=True)]
        results[name] = {"off": off, "stats": stats, "flow": flow, "under flow": under, "clip": shared,
                         "clip+flow": shared_flow}
        base = (warping_error(clip, off).error, float(np.mean([sharpness(o) for o in off])))
        modes = ("off", "stats", "flow", "clip", "clip+flow")
        rows += [_row(name, m, clip, results[name][m], base) for m in modes]
        print(*rows[-len(modes):], sep="\n", flush=True)
    return rows


def sweep(pipe: StylePipeline, clips: dict[str, list[np.ndarray]], defaults: StabilizeSettings,
          results: dict[str, dict[str, list[np.ndarray]]]) -> list[str]:
    """Rows for picking the defaults: flow blend on a noisy and a clean pan, stats momentum on the noisy pan."""
    noisy, clean = (next(n for n in clips if n.startswith(k)) for k in ("noisy pan", "clean pan"))
    rows = ["| setting | noisy pan: error vs off | clean pan: error vs off | clean pan: sharpness vs off |",
            "|---|---:|---:|---:|"]
    base = {n: (warping_error(clips[n], results[n]["off"]).error,
                float(np.mean([sharpness(o) for o in results[n]["off"]]))) for n in (noisy, clean)}
    for blend in (0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
        cells = []
        for n in (noisy, clean):
            b = FlowBlender(replace(defaults, mode="flow", blend=blend))
            out = [b(o, s) for o, s in zip(clips[n], results[n]["under flow"], strict=True)]
            cells.append((warping_error(clips[n], out).error / base[n][0],
                          float(np.mean([sharpness(o) for o in out])) / base[n][1]))
        rows.append(f"| flow blend {blend} | {cells[0][0]:.2f}x | {cells[1][0]:.2f}x | {cells[1][1]:.3f} |")
        print(rows[-1], flush=True)
    alt = 0.8 if not replace(defaults, mode="flow").smooths_stats else 0.0  # the other choice for flow
    for n in (noisy, clean):  # the same blending over differently smoothed statistics: does that part help?
        b = FlowBlender(replace(defaults, mode="flow"))
        under = results[n]["off"] if not alt else run_mode(pipe, clips[n], replace(defaults, mode="stats",
                                                                                    momentum=alt))
        results[n]["flow alt"] = [b(o, s) for o, s in zip(clips[n], under, strict=True)]
    cells = [warping_error(clips[n], results[n]["flow alt"]).error / base[n][0] for n in (noisy, clean)]
    sharp = float(np.mean([sharpness(o) for o in results[clean]["flow alt"]])) / base[clean][1]
    rows.append(f"| flow blend {defaults.blend} + stats momentum {alt} | {cells[0]:.2f}x | {cells[1]:.2f}x "
                f"| {sharp:.3f} |")
    print(rows[-1], flush=True)
    for n in (noisy, clean):  # clip statistics: shared as they are (ReReVST) or relative to each frame's scale
        for keep_gain, samples in ((True, defaults.clip_samples), (False, 3)):
            out = run_mode(pipe, clips[n], replace(defaults, clip=True, clip_samples=samples), keep_gain)
            rows.append(f"| clip, {samples} samples, {'gain kept' if keep_gain else 'plain'} ({n}) "
                        f"| {warping_error(clips[n], out).error / base[n][0]:.2f}x | | "
                        f"{float(np.mean([sharpness(o) for o in out])) / base[n][1]:.3f} (this clip) |")
            print(rows[-1], flush=True)
    for momentum in (0.5, 0.8, 0.9):
        out = run_mode(pipe, clips[noisy], replace(defaults, mode="stats", momentum=momentum))
        rows.append(f"| stats momentum {momentum} | {warping_error(clips[noisy], out).error / base[noisy][0]:.2f}x "
                    "| | |")
        print(rows[-1], flush=True)
    return rows


def timing(pipe: StylePipeline, defaults: StabilizeSettings, frames: int) -> list[str]:
    """Rows: ms per frame at 640x360 on this device for each mode (frame by frame, after a warm-up)."""
    photo, _ = read_image(DATA / "eval" / "content" / PHOTOS[0])
    clip = motion_clip(photo, frames + 1, (640, 360), pan=(2.0, 0.7), noise=5, exposure=0.03)
    rows = ["| mode | ms per frame (640x360) | extra vs off |", "|---|---:|---:|"]
    base = 0.0
    for f in clip[:2]:  # untimed: the first frames of a process are slower (allocations), whatever the mode
        pipe(f)
    for mode in ("off", "stats", "flow"):
        stab = Stabilizer(pipe, replace(defaults, mode=mode))
        stab(clip[0])  # warm-up (first frame: nothing to blend)
        t0 = time.perf_counter()
        for f in clip[1:]:
            stab(f)
        ms = (time.perf_counter() - t0) * 1000 / frames
        stab.close()
        base = base or ms
        rows.append(f"| {mode} | {ms:.1f} | {100 * (ms - base) / base:+.1f} % |")
        print(rows[-1], flush=True)
    blender = FlowBlender(replace(defaults, mode="flow"))
    outs = [pipe(f) for f in clip[:3]]
    blender(clip[0], outs[0])
    t0 = time.perf_counter()
    for _ in range(10):
        blender.reset()
        blender(clip[1], outs[1])
        blender(clip[2], outs[2])
    rows.append(f"| (flow blending alone, 640x360) | {(time.perf_counter() - t0) * 1000 / 10:.1f} | |")
    print(rows[-1], flush=True)
    # Clip statistics: the second pass costs what `stats` does (a hook); the first pass stylizes the samples and
    # makes a thumbnail of every frame (the video job also decodes the file twice more: see RESULTS.md).
    t0 = time.perf_counter()
    for f in clip:
        thumb(to_gray(f))
    thumb_ms = (time.perf_counter() - t0) * 1000 / len(clip)
    samples = defaults.clip_samples
    extra = (samples * base + 300 * thumb_ms) / 300
    rows.append(f"| (clip statistics' first pass: thumbnail per frame, 640x360) | {thumb_ms:.2f} | |")
    rows.append(f"| → first pass of a 300-frame clip ({samples} samples), per frame | {extra:.1f} "
                f"| {100 * extra / base:+.1f} % |")
    print(*rows[-2:], sep="\n", flush=True)
    return rows


def crop_figure(clip: list[np.ndarray], results: dict[str, list[np.ndarray]], path: Path, t: int) -> None:
    """Rows off / stats / flow; columns: input crop at t, output t, output t+1, |output t − warped output t+1| x4."""
    from adain_live.media.flow import FlowEstimator

    h, w = clip[0].shape[:2]
    ch, cw = h // 2, w // 3
    fwd = FlowEstimator("medium")(clip[t], clip[t + 1])
    # Show where per-frame stylization flickers most: the window with the largest motion-compensated change.
    change = np.abs(results["off"][t].astype(np.float32) - warp(results["off"][t + 1], fwd)).mean(axis=-1)
    box = cv2.boxFilter(change[h // 8: -h // 8, w // 8: -w // 8], -1, (cw, ch), normalize=True)
    cy, cx = np.unravel_index(int(np.argmax(box)), box.shape)
    y = int(np.clip(cy + h // 8 - ch // 2, 0, h - ch))
    x = int(np.clip(cx + w // 8 - cw // 2, 0, w - cw))
    tiles = []
    for mode in ("off", "stats", "flow"):
        a, b = results[mode][t], results[mode][t + 1]
        diff = np.abs(a.astype(np.float32) - warp(b, fwd).astype(np.float32)).mean(axis=-1) * 4
        diff_rgb = np.repeat(np.clip(diff, 0, 255).astype(np.uint8)[..., None], 3, axis=-1)
        row = [im[y:y + ch, x:x + cw] for im in (clip[t], a, b, diff_rgb)]
        strip = np.full((ch + 4, 44, 3), 255, np.uint8)
        cv2.putText(strip, mode, (2, ch // 2 + 6), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        tiles.append(np.concatenate([strip, *(np.pad(r, ((2, 2), (2, 2), (0, 0)), constant_values=255)
                                              for r in row)], axis=1))
    grid = np.concatenate(tiles, axis=0)
    grid = cv2.resize(grid, (grid.shape[1] * 2, grid.shape[0] * 2), interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print and optionally write the markdown tables."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="registry name (default: the default model)")
    p.add_argument("--frames", type=int, default=12, help="frames per clip (default 12)")
    p.add_argument("--width", type=int, default=320)
    p.add_argument("--height", type=int, default=180)
    p.add_argument("--timing-frames", type=int, default=4, help="timed frames at 640x360 (0 = skip)")
    p.add_argument("--no-sweep", dest="sweep", action="store_false")
    p.add_argument("--only", default="", help="only the clips whose name contains this text")
    p.add_argument("--markdown", type=Path)
    p.add_argument("--crop", type=Path, help="write the side-by-side crop figure here (JPEG)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(args.threads)
    device = torch.device(args.device)
    model = weights.load_model(args.model)
    pipe = StylePipeline(model, device, torch.float32, size=0)
    style, _ = read_image(DATA / "eval" / "style" / STYLE)
    pipe.set_style(pipe.style_stats(style, 256))
    defaults = StabilizeSettings()
    clips = {k: v for k, v in make_clips(args.frames, (args.width, args.height)).items() if args.only in k}
    results: dict[str, dict[str, list[np.ndarray]]] = {}
    lines = [f"`python {' '.join(sys.argv)}` — model {args.model or 'default'}, style {STYLE}, "
             f"{args.frames} frames at {args.width}x{args.height}, {device} fp32, {args.threads} thread(s), "
             f"{platform.processor() or platform.machine()}; defaults {defaults}", ""]
    lines += quality(pipe, clips, defaults, results)
    if args.crop is not None:
        name = next(n for n in clips if n.startswith("noisy pan"))
        crop_figure(clips[name], results[name], args.crop, t=args.frames // 2)
    if args.sweep and any(n.startswith("clean pan") for n in clips) and any(n.startswith("noisy pan") for n in clips):
        lines += ["", *sweep(pipe, clips, defaults, results)]
    if args.timing_frames:
        lines += ["", *timing(pipe, defaults, args.timing_frames)]
    text = "\n".join(lines) + "\n"
    if args.markdown is not None:
        args.markdown.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
