"""``adain-live batch``: every input × every style, resumable, on this machine or a Ray cluster."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from tqdm import tqdm

from adain_live.cli.common import add_model_args
from adain_live.engine.batch import BatchSettings, Job, JobOutcome, collect, default_workers, plan, threads_per_worker
from adain_live.engine.batch_exec import BatchResult, run_batch
from adain_live.errors import UserError
from adain_live.media.video_writer import CODECS

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "batch", help="re-style many videos/images with many styles (resumable; local workers or Ray)",
        description="Every input × every style becomes one job writing OUTDIR/<input>__<style>.<ext> (videos keep "
                    "audio and timing; images become PNG). A rerun skips outputs already finished with the same "
                    "input, style and settings. A broken input or style fails its own jobs only; "
                    "OUTDIR/batch-report.json lists every job. Exit 0 when all jobs succeeded, 1 when some failed.")
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="video/image files or folders of them")
    p.add_argument("-s", "--style", action="append", type=Path, default=[], metavar="STYLE", required=True,
                   help="style image or folder of style images (repeatable)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUTDIR", help="output folder")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="parallel workers (default: one per GPU on CUDA, else 1; CPU threads are split)")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run the jobs on Ray: 'local' starts a local cluster, else the address of one to join "
                        "(needs pip install 'adain-live[cluster]')")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing outputs that this batch did not finish with the same settings")
    g = p.add_argument_group("style and video")
    g.add_argument("--alpha", type=float, default=1.0, help="content-style trade-off in [0, 1] (default 1)")
    g.add_argument("--preserve-color", action="store_true", help="keep the content's colours")
    g.add_argument("--size", type=int, default=512, help="processing size (shorter side), 0 = original")
    g.add_argument("--style-size", type=int, default=512, help="style image's shorter side, 0 = original")
    g.add_argument("--codec", choices=sorted(CODECS), default="h264", help="video encoder (default h264)")
    g.add_argument("--crf", type=int, default=None, metavar="Q", help="video quality, lower is better")
    g.add_argument("--pix-fmt", choices=("yuv420p", "yuv444p"), default="yuv420p", help="output pixel format")
    g.add_argument("--batch", type=int, default=4, help="frames per network batch (default 4)")
    add_model_args(p)
    p.set_defaults(run=run)


def _gpus(device: str) -> list[str]:
    if device == "cpu":
        return []
    import torch

    if not torch.cuda.is_available():
        if device.startswith("cuda"):
            raise UserError(f"--device {device}: no CUDA device is available; use --device cpu")
        return []
    if device.startswith("cuda:"):
        return [device]
    return [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def settings_from(args: argparse.Namespace, threads: int) -> BatchSettings:
    """Validated :class:`BatchSettings` from the parsed arguments."""
    try:
        return BatchSettings(model=args.model, vgg=str(args.vgg) if args.vgg else None,
                             decoder=str(args.decoder) if args.decoder else None, device=args.device,
                             precision=args.precision, size=args.size, style_size=args.style_size,
                             alpha=args.alpha, preserve_color=args.preserve_color, codec=args.codec, crf=args.crf,
                             pix_fmt=args.pix_fmt, batch=args.batch, threads=threads, overwrite=args.overwrite)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    """Run ``adain-live batch``."""
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers {args.workers} must be at least 1")
    inputs = collect(args.inputs, "input")
    styles = collect(args.style, "style", kinds=("image",))
    if args.ray is None:
        gpus = _gpus(args.device)
        workers = args.workers or default_workers(args.device, len(gpus))
        threads = 0 if gpus else threads_per_worker(workers)
    else:  # the cluster's resources decide (batch_exec.ray_plan); 0 = one actor per GPU
        gpus, workers, threads = [], args.workers or 0, 1
    settings = settings_from(args, threads)
    jobs = plan(inputs, styles, args.output, settings)
    result = _run_with_progress(jobs, settings, args, workers, gpus)
    _print_summary(result, args.quiet)
    if result.interrupted:
        raise KeyboardInterrupt
    return 0 if result.ok else 1


def _run_with_progress(jobs: list[Job], settings: BatchSettings, args: argparse.Namespace, workers: int,
                       gpus: list[str]) -> BatchResult:
    bar = tqdm(total=len(jobs), unit="job", desc="batch", disable=args.quiet, dynamic_ncols=True)
    # Frames of the running job: only when jobs run in this process (workers report whole jobs).
    frame_bar = tqdm(unit="frame", position=1, leave=False, disable=args.quiet or workers > 1 or args.ray is not None,
                     dynamic_ncols=True)
    frames = {"n": 0}
    current: list[str] = []

    def on_frames(job: Job, done: int, total: int | None) -> None:
        if current != [job.name]:
            current[:] = [job.name]
            frame_bar.reset(total=total)
            frame_bar.set_description(job.name)
        frame_bar.update(done - frame_bar.n)

    def on_outcome(o: JobOutcome) -> None:
        frames["n"] += o.frames
        bar.update(1)
        bar.set_postfix(frames=frames["n"])
        if o.status in ("failed", "partial"):
            tqdm.write(f"adain-live: {o.status}: {o.job.name}: {o.error or _partial_line(o)}", file=sys.stderr)

    try:
        return run_batch(jobs, settings, args.output, workers=workers, ray_address=args.ray, gpus=gpus,
                         on_outcome=on_outcome, on_frames=on_frames)
    finally:
        frame_bar.close()
        bar.close()


def _partial_line(o: JobOutcome) -> str:
    return str(o.extra.get("partial_line") or f"only {o.frames} frames (the input is damaged)")


def _print_summary(result: BatchResult, quiet: bool) -> None:
    counts = {s: sum(o.status == s for o in result.outcomes) for s in ("done", "skipped", "failed", "partial",
                                                                       "cancelled")}
    line = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    if not quiet or not result.ok:
        print(f"batch: {len(result.outcomes)} job(s): {line}; report: {result.report}")
