"""Soak test of the live runner: a looping video for M minutes with everything a user does to it.

Drives :class:`adain_live.engine.live.runner.LiveRunner` (public API only) on a looping video file in real time:
a style switch every ``--style-every`` s, an α change every ``--alpha-every`` s, a recording started at the
top of every minute and stopped ``--record-s`` s later, a snapshot every ``--snapshot-every`` s. It samples
the process RSS, the results delivered and the frames dropped by recordings, then checks:

* RSS after warm-up grows by less than ``--max-growth`` (5 %): median of the last five samples against the
  median of the first five after warm-up;
* every recording decodes, with as many frames as were written to it and its header saying so;
* every snapshot decodes.

Prints one summary and writes a JSON report (``--json``); exit 0 on PASS, 1 on FAIL.

    nice -n 10 python benchmarks/soak.py --minutes 30 --threads 1 --json soak.json
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

DEFAULT_VIDEO = Path("/work/shared/data/video/carphone.mp4")


def rss_mib() -> float:
    """Resident set size of this process in MiB (Linux /proc; ru_maxrss elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def check_video(path: Path) -> tuple[int, int | None, str | None]:
    """(frames decoded, header frame count, error) of a recording."""
    import av

    try:
        with av.open(str(path)) as c:
            header = c.streams.video[0].frames or None
            n = sum(1 for _ in c.decode(video=0))
        return n, header, None
    except Exception as exc:  # noqa: BLE001 - reported in the verdict
        return 0, None, f"{type(exc).__name__}: {exc}"


def check_image(path: Path) -> str | None:
    """None when ``path`` decodes as an image, else why not."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
        return None
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"


def growth(samples: list[tuple[float, float]], warmup_s: float) -> tuple[float, float, float]:
    """(start MiB, end MiB, growth fraction) of RSS after warm-up."""
    after = [v for t, v in samples if t >= warmup_s]
    if len(after) < 2:
        after = [v for _, v in samples]
    head, tail = after[:5], after[-5:]
    start, end = statistics.median(head), statistics.median(tail)
    return start, end, (end - start) / start if start else math.inf


class Events:
    """Counts what the runner reports (called from its threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.results = 0
        self.errors: list[str] = []
        self.status: list[str] = []

    def on_result(self, result: Any) -> None:
        with self.lock:
            self.results += 1

    def on_error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    def on_status(self, message: str) -> None:
        with self.lock:
            self.status.append(message)


def build(args: argparse.Namespace, events: Events) -> tuple[Any, list[Any]]:
    """Model, pipeline, runner (started on the looping video) and the style statistics to switch between."""
    import torch

    from adain_live import weights
    from adain_live.assets import STYLES_DIR
    from adain_live.engine.live.runner import LiveRunner
    from adain_live.engine.pipeline import StylePipeline
    from adain_live.media.file_source import FileSource
    from adain_live.media.images import read_image

    torch.set_num_threads(args.threads)
    model = weights.load_model(args.model) if args.model != "random" else _random_model()
    pipe = StylePipeline(model, torch.device(args.device), torch.float32, size=args.size, output_size="processing")
    styles = []
    for path in sorted(STYLES_DIR.glob("*.jpg"))[: args.styles]:
        rgb, _ = read_image(path)
        styles.append(pipe.style_stats(rgb, args.style_size))
    runner = LiveRunner(pipe, on_result=events.on_result, on_error=events.on_error, on_status=events.on_status)
    runner.start(FileSource(args.video, loop=True, realtime=True), audio_from=args.video)
    runner.set_style(styles[0], fade=False)
    return runner, styles


def _random_model() -> Any:
    from adain_live.core.model import AdaINModel

    return AdaINModel.random(seed=0)


def _finish(runner: Any, job: Any, record: dict[str, Any]) -> None:
    """Stop the recording and wait for its writer (``stop_recording`` waits at most 10 s for it)."""
    runner.stop_recording()
    job.thread.join(120)
    record.update(written=job.frames, dropped=job.dropped, error=job.error, writer_done=not job.thread.is_alive())


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the soak and return the report."""
    out = Path(args.out or tempfile.mkdtemp(prefix="adain-soak-"))
    out.mkdir(parents=True, exist_ok=True)
    events = Events()
    runner, styles = build(args, events)
    total_s = args.minutes * 60.0
    t0 = time.monotonic()
    samples: list[tuple[float, float]] = []
    recordings: list[dict[str, Any]] = []
    snapshots: list[Path] = []
    job: Any = None
    rec_started = 0.0
    next_style, next_alpha, next_snap, next_sample, next_rec = (args.style_every, args.alpha_every,
                                                                args.snapshot_every, 0.0, 5.0)
    style_i, alpha_i = 0, 0
    try:
        while (now := time.monotonic() - t0) < total_s:
            if now >= next_sample:
                samples.append((now, rss_mib()))
                next_sample += args.sample_every
            if now >= next_style:
                style_i += 1
                runner.set_style(styles[style_i % len(styles)])
                next_style += args.style_every
            if now >= next_alpha:
                alpha_i += 1
                runner.set_alpha((0.25, 0.6, 1.0, 0.8)[alpha_i % 4])
                next_alpha += args.alpha_every
            if now >= next_snap and runner.latest() is not None:
                snapshots.append(runner.snapshot(out / f"snap_{len(snapshots):04d}.png"))
                next_snap += args.snapshot_every
            if job is None and now >= next_rec:
                path = runner.start_recording(out / f"rec_{len(recordings):03d}.mp4")
                job, rec_started = runner.recording, now
                recordings.append({"path": str(path), "started_s": round(now, 1)})
                next_rec += 60.0
            elif job is not None and now - rec_started >= args.record_s:
                _finish(runner, job, recordings[-1])
                job = None
            time.sleep(0.2)
        if job is not None:
            _finish(runner, job, recordings[-1])
        samples.append((time.monotonic() - t0, rss_mib()))
    finally:
        runner.stop()
    return verdict(args, samples, recordings, snapshots, events, time.monotonic() - t0)


def verdict(args: argparse.Namespace, samples: list[tuple[float, float]], recordings: list[dict[str, Any]],
            snapshots: list[Path], events: Events, seconds: float) -> dict[str, Any]:
    """Check recordings and snapshots, compute RSS growth; the report with ``pass`` and ``problems``."""
    problems: list[str] = []
    empty = 0
    for rec in recordings:
        if rec.get("written") == 0 and not Path(rec["path"]).exists():
            empty += 1  # no stylized frame arrived while it ran: the runner says so and writes no file
            continue
        n, header, err = check_video(Path(rec["path"]))
        rec.update(decoded=n, header_frames=header, decode_error=err)
        if err or rec.get("error"):
            problems.append(f"{rec['path']}: {err or rec['error']}")
        elif n != rec.get("written") or header != n:
            problems.append(f"{rec['path']}: decoded {n}, written {rec.get('written')}, header says {header}")
    bad_snaps = [f"{p}: {e}" for p in snapshots if (e := check_image(p))]
    problems += bad_snaps
    warmup = min(args.warmup_s, seconds / 3)
    start, end, grew = growth(samples, warmup)
    if grew >= args.max_growth:
        problems.append(f"RSS grew {grew * 100:.1f} % after warm-up ({start:.0f} → {end:.0f} MiB)")
    if not recordings:
        problems.append("no recording was made (run at least a minute)")
    return {
        "pass": not problems, "problems": problems, "seconds": round(seconds, 1),
        "results": events.results, "fps": round(events.results / seconds, 2) if seconds else 0.0,
        "rss_start_mib": round(start, 1), "rss_end_mib": round(end, 1), "rss_growth_pct": round(grew * 100, 2),
        "rss_max_mib": round(max(v for _, v in samples), 1), "warmup_s": warmup,
        "recordings": recordings, "empty_recordings": empty,
        "recorded_frames": sum(r.get("written") or 0 for r in recordings),
        "recording_dropped": sum(r.get("dropped") or 0 for r in recordings),
        "snapshots": len(snapshots), "bad_snapshots": len(bad_snaps),
        "errors": events.errors[:20], "error_count": len(events.errors),
        "rss_samples": [(round(t, 1), round(v, 1)) for t, v in samples],
        "command": "python " + " ".join(sys.argv),
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0, help="how long to run (default 30)")
    p.add_argument("--video", type=Path, default=DEFAULT_VIDEO, help="video file, looped")
    p.add_argument("--model", default=None, help="weight set (default: the default model) or 'random'")
    p.add_argument("--device", default="cpu")
    p.add_argument("--size", type=int, default=144, help="processing size, short side (default 144)")
    p.add_argument("--style-size", type=int, default=256)
    p.add_argument("--styles", type=int, default=4, help="bundled styles to switch between")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    p.add_argument("--style-every", type=float, default=10.0)
    p.add_argument("--alpha-every", type=float, default=4.0)
    p.add_argument("--snapshot-every", type=float, default=30.0)
    p.add_argument("--record-s", type=float, default=20.0, help="length of the recording made every minute")
    p.add_argument("--sample-every", type=float, default=5.0, help="RSS sampling period, s")
    p.add_argument("--warmup-s", type=float, default=120.0, help="warm-up excluded from the RSS check")
    p.add_argument("--max-growth", type=float, default=0.05, help="allowed RSS growth after warm-up (0.05)")
    p.add_argument("--out", type=Path, help="folder for recordings and snapshots (default: a temp folder)")
    p.add_argument("--json", type=Path, help="write the report here")
    args = p.parse_args(argv)
    if not (args.minutes > 0 and math.isfinite(args.minutes)) or args.threads < 1 or args.size < 0:
        p.error("--minutes must be positive and finite, --threads >= 1, --size >= 0")
    if not args.video.is_file():
        p.error(f"video not found: {args.video}")
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    report = run(args)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"soak {'PASS' if report['pass'] else 'FAIL'}: {report['seconds']:.0f} s, {report['results']} results "
          f"({report['fps']} fps), RSS {report['rss_start_mib']} → {report['rss_end_mib']} MiB "
          f"({report['rss_growth_pct']:+.2f} % after {report['warmup_s']:.0f} s warm-up, max "
          f"{report['rss_max_mib']} MiB), {len(report['recordings'])} recordings / {report['recorded_frames']} "
          f"frames / {report['recording_dropped']} dropped / {report['empty_recordings']} empty, "
          f"{report['snapshots']} snapshots, "
          f"{report['error_count']} runner errors")
    for problem in report["problems"]:
        print(f"  problem: {problem}")
    return 0 if report["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
