"""``adain-live video``: re-style video files, keeping their audio and timing."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from adain_live.cli.common import add_model_args, add_style_args, build_pipeline, set_styles, style_config
from adain_live.cli.mask_args import add_mask_args, check_mask_args, install_region
from adain_live.engine.clip_stats import ClipStats
from adain_live.engine.temporal import MODES, Stabilizer, StabilizeSettings, measure_flicker
from adain_live.engine.video_job import Progress, VideoJobResult, check_output, restyle_video
from adain_live.errors import UserError
from adain_live.media.video_reader import probe_video
from adain_live.media.video_writer import CODECS, EncodeSettings, check_encoder

log = logging.getLogger(__name__)

_SUFFIX = {"vp9": ".webm"}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "video", help="re-style video files (audio and timing kept)",
        description="Stylize every frame of one or more videos. The output keeps the input's frame count, "
                    "timestamps, size and audio (copied; re-encoded only when the container cannot carry it). "
                    "It is written to a temporary file and renamed at the end.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="video files")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output file (one input) or folder (several inputs; created if needed)")
    p.add_argument("--codec", choices=sorted(CODECS), default="h264",
                   help="video encoder (default h264; nvenc needs an NVIDIA GPU)")
    p.add_argument("--crf", type=int, default=None, metavar="Q",
                   help="quality, lower is better (x264 default 20, x265 24, vp9 32, nvenc CQ 23)")
    p.add_argument("--pix-fmt", choices=("yuv420p", "yuv444p"), default="yuv420p",
                   help="yuv420p plays everywhere (odd sizes padded by 1 px); yuv444p keeps odd sizes exact")
    p.add_argument("--batch", type=int, default=4, help="frames per network batch (default 4)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    add_temporal_args(p)
    add_style_args(p)
    add_mask_args(p, video=True)
    add_model_args(p)
    p.set_defaults(run=run)


def add_temporal_args(p: argparse.ArgumentParser) -> None:
    """--stabilize / --stabilize-blend / --stabilize-momentum / --clip-stats / --clip-samples / --flicker."""
    d = StabilizeSettings()
    g = p.add_argument_group("temporal stability")
    g.add_argument("--stabilize", choices=MODES, default="off",
                   help="reduce flicker: flow = blend with the motion-compensated previous frame (recommended: "
                        "0.2-0.5x the flicker); stats = smooth the content statistics over time (for exposure "
                        "pumping; measured not to reduce texture flicker) (default off)")
    g.add_argument("--stabilize-blend", type=float, default=d.blend, metavar="W",
                   help=f"flow: weight of the previous frame where the motion is reliable, 0-0.95 (default {d.blend})")
    g.add_argument("--stabilize-momentum", type=float, default=None, metavar="M",
                   help="weight of the past in the average of the content statistics, 0-0.99 (default: 0.5 for "
                        "stats, 0 = none for flow)")
    g.add_argument("--clip-stats", action="store_true",
                   help="share the content statistics over each shot of the file (ReReVST): a first pass samples "
                        "frames (split at scene cuts), every frame is then normalised with its shot's mean "
                        "statistics; with --stabilize off or flow. Measured: no gain against flicker "
                        "on our clips (0.9-1.0x clean, worse with exposure jitter), about +5%% time; see README")
    g.add_argument("--clip-samples", type=int, default=d.clip_samples, metavar="N",
                   help=f"--clip-stats: frames the first pass samples, at least one per shot (default "
                        f"{d.clip_samples})")
    g.add_argument("--flicker", action="store_true",
                   help="measure the output's flicker (warping error, see 'adain-live flicker') after each file")


def stabilize_settings(args: argparse.Namespace) -> StabilizeSettings:
    """Validated :class:`StabilizeSettings` from --stabilize / --stabilize-blend."""
    try:
        return StabilizeSettings(mode=args.stabilize, blend=args.stabilize_blend, momentum=args.stabilize_momentum,
                                 clip=args.clip_stats, clip_samples=args.clip_samples)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def plan_outputs(inputs: list[Path], output: Path, codec: str) -> list[tuple[Path, Path]]:
    """Pair every input with its output path (nothing is created: the folder is made when the work starts).

    ``output`` is a file for one input (unless it is a folder or has no extension), else a folder.
    """
    for path in inputs:
        if not path.is_file():
            raise UserError(f"video not found: {path}")
    if len(inputs) == 1 and not output.is_dir() and output.suffix:
        return [(inputs[0], output)]
    if output.exists() and not output.is_dir():
        raise UserError(f"-o {output} must be a folder when there are {len(inputs)} inputs")
    suffix = _SUFFIX.get(codec, ".mp4")
    names = [output / f"{p.stem}_styled{suffix}" for p in inputs]
    if len(set(names)) != len(names):
        raise UserError("two inputs have the same name; stylize them in separate runs or rename one")
    return list(zip(inputs, names, strict=True))


def _settings(args: argparse.Namespace) -> EncodeSettings:
    try:
        return EncodeSettings(codec=args.codec, quality=args.crf, pix_fmt=args.pix_fmt)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _check_all(jobs: list[tuple[Path, Path]], overwrite: bool) -> None:
    """Check every input is readable and every output writable, before the model loads or a folder is made.

    A folder that is still to be made is checked at its nearest existing parent.
    """
    for src, dst in jobs:
        probe_video(src)
        folder = dst.parent
        if not folder.is_dir():
            existing = next((p for p in folder.parents if p.exists()), Path("."))
            if not existing.is_dir():
                raise UserError(f"cannot create output folder {folder}: {existing} is not a folder; choose another -o")
            check_output(src, existing / dst.name, overwrite=True)
        else:
            check_output(src, dst, overwrite)


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create output folder {folder} ({exc.strerror}); choose another -o") from None


def run(args: argparse.Namespace) -> int:
    """Run ``adain-live video``.

    Exit 0 when every file was stylized in full; 1 when an input was truncated or damaged (what it held is
    written and one line says how many frames of how many); errors raise :class:`UserError` (exit 2).
    """
    if args.batch < 1:
        raise UserError(f"--batch {args.batch} must be at least 1")
    cfg = style_config(args)
    settings = _settings(args)
    stabilize = stabilize_settings(args)
    check_mask_args(args)
    jobs = plan_outputs(list(args.inputs), args.output, args.codec)
    check_encoder(settings)  # bad inputs, outputs and encoders fail here, before the model is loaded
    _check_all(jobs, args.overwrite)
    pipe = build_pipeline(args, cfg, output_size="input", fixed_shapes=True)
    region = install_region(pipe, args, set_styles(pipe, args, cfg))
    stylizer = Stabilizer(pipe, stabilize) if stabilize.active else pipe
    partial = 0
    for src, dst in jobs:
        if isinstance(stylizer, Stabilizer):
            stylizer.start_clip(src, args.batch)  # each file is a new clip (--clip-stats: its first pass)
            if isinstance(stylizer.stats, ClipStats):
                log.info("%s: content statistics of %d shot(s), from %d sampled frames", src.name,
                         stylizer.stats.shots, len(stylizer.stats.sampled))
        _make_folder(dst.parent)
        if region is not None:
            region.masks.reset()  # no person-mask memory across files (nor from the first pass)
        result = _one(src, dst, stylizer, settings, args)
        if result.partial:
            partial += 1
            print(f"adain-live: warning: {result.partial_line()}", file=sys.stderr)
            continue
        line = summary(result)
        if args.flicker:
            line += f"; flicker (warping error) {measure_flicker(src, dst).error:.6f}"
        log.info("%s", line)
    return 1 if partial else 0


def _one(src: Path, dst: Path, pipe: object, settings: EncodeSettings, args: argparse.Namespace) -> VideoJobResult:
    bar: tqdm | None = None

    def progress(p: Progress) -> None:
        nonlocal bar
        if bar is None:  # created on the first frame, so an early error prints nothing but itself
            bar = tqdm(desc=src.name, unit="frame", total=p.total, disable=args.quiet, dynamic_ncols=True)
        bar.update(p.done - bar.n)

    try:
        return restyle_video(src, dst, pipe, settings=settings, batch_size=args.batch,  # type: ignore[arg-type]
                             overwrite=args.overwrite, on_progress=progress)
    finally:
        if bar is not None:
            bar.close()


def summary(result: VideoJobResult) -> str:
    """One line about a finished file."""
    info = result.info
    w, h = result.encoded_size
    size = f"{w}x{h}" + ("" if (w, h) == (info.width, info.height) else f" (from {info.width}x{info.height})")
    audio = f", audio: {len(info.audio_codecs)} stream(s)" if info.audio_codecs else ""
    return (f"wrote {result.output}: {result.frames} frames, {size}, {result.fps:.1f} fps end to end"
            f"{audio}" + "".join(f"; {n}" for n in result.audio_notes))
