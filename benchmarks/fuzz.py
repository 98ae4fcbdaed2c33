"""Fuzz the command line with damaged images, videos and weight files.

Valid seed files (PNG/JPEG images, MP4/faststart-MP4/MPEG-TS videos, .pth/.safetensors decoder weights) are
mutated (truncation at a random offset, byte flips, header edits, zeroed or inserted runs) and run through
``adain-live stylize``, ``video`` and ``weights import`` in a separate process each, with a timeout.

Allowed outcomes: exit 0 with an output that decodes; exit 1 with the one-line partial-result warning
(``adain-live: warning: ... N of M frames``) and an output that decodes; exit 2 with one line
(``adain-live: error: ...``). Anything else is a finding: a traceback, an "unexpected error", a hang
(timeout), another exit status, more than one line, a file under the output name that does not decode, or a
temporary ``.part`` file left behind.

Each case runs in its own process. By default a process forked from a server that has already imported
adain-live and torch (``--mode fork``: the cases skip the ~5 s interpreter start, which matters on a loaded
machine); ``--mode spawn`` starts a fresh ``python -m adain_live`` per case instead.

    python benchmarks/fuzz.py --cases 500 --size 64 --json fuzz.json
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TARGETS = ("stylize", "video", "weights")
MUTATIONS = ("truncate", "flip", "header", "zero", "insert")


# --- seeds -------------------------------------------------------------------------------------------------
def make_seeds(folder: Path, size: int) -> dict[str, list[Path]]:
    """Write the valid files the mutations start from; return them per target."""
    import numpy as np
    from PIL import Image

    from adain_live.media.synth import make_test_video, pattern, remux_faststart

    folder.mkdir(parents=True, exist_ok=True)
    w, h = size, max(16, size * 3 // 4)
    img = pattern(w, h, 3)
    Image.fromarray(img).save(folder / "content.png")
    Image.fromarray(img).save(folder / "content.jpg", quality=90)
    Image.fromarray(np.ascontiguousarray(pattern(48, 48, 11)[:, ::-1])).save(folder / "style.png")
    mp4 = make_test_video(folder / "clip.mp4", size=(w - w % 2, h - h % 2), frames=12)
    fast = remux_faststart(mp4, folder / "clip_faststart.mp4")
    ts = make_test_video(folder / "clip.ts", size=(w - w % 2, h - h % 2), frames=12)
    pth, safe = _decoder_files(folder)
    return {"stylize": [folder / "content.png", folder / "content.jpg", folder / "style.png"],
            "video": [mp4, fast, ts], "weights": [pth, safe]}


def _decoder_files(folder: Path) -> tuple[Path, Path]:
    import torch

    from adain_live.core.checkpoint import save_safetensors
    from adain_live.core.vgg import build_decoder

    torch.manual_seed(0)
    state = build_decoder().state_dict()
    torch.save(state, folder / "decoder.pth")
    save_safetensors(state, folder / "decoder.safetensors", dtype=torch.float16)
    return folder / "decoder.pth", folder / "decoder.safetensors"


# --- mutations ---------------------------------------------------------------------------------------------
def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    """Return a damaged copy of ``data`` (``kind`` is one of :data:`MUTATIONS`)."""
    n = len(data)
    if n == 0:
        return data
    buf = bytearray(data)
    if kind == "truncate":
        return bytes(buf[: rng.randrange(0, n)])
    if kind == "flip":
        for _ in range(rng.randint(1, 32)):
            buf[rng.randrange(n)] ^= rng.randint(1, 255)
    elif kind == "header":  # sizes, magic numbers and box/chunk headers live in the first bytes
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(min(n, 512))] = rng.randrange(256)
    elif kind == "zero":
        start = rng.randrange(n)
        buf[start: start + rng.randint(1, max(1, n // 8))] = bytes(min(n - start, rng.randint(1, max(1, n // 8))))
    elif kind == "insert":
        at = rng.randrange(n)
        buf[at:at] = rng.randbytes(rng.randint(1, 256))
    else:
        raise ValueError(f"unknown mutation {kind!r}")
    return bytes(buf)


# --- checks ------------------------------------------------------------------------------------------------
def image_ok(path: Path) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
        return True
    except Exception:  # noqa: BLE001
        return False


def video_ok(path: Path) -> bool:
    import av

    try:
        with av.open(str(path)) as c:
            return sum(1 for _ in c.decode(video=0)) > 0
    except Exception:  # noqa: BLE001
        return False


def weights_ok(path: Path) -> bool:
    from adain_live.core.checkpoint import load_decoder, load_encoder

    for load in (load_decoder, load_encoder):
        try:
            load(path)
            return True
        except Exception:  # noqa: BLE001
            continue
    return False


@dataclass
class Case:
    """One fuzz case and its outcome."""

    index: int
    target: str
    seed_file: str
    mutation: str
    argv: list[str]
    rc: int | None = None
    seconds: float = 0.0
    outcome: str = ""
    stderr: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def judge(case: Case, out: Path, validate: Callable[[Path], bool], out_dir: Path) -> str:
    """Return ``ok0``/``ok1``/``ok2`` or ``BAD: why``."""
    lines = [ln for ln in case.stderr.splitlines() if ln.strip()]
    text = case.stderr
    if case.rc is None:
        return "BAD: hang (timeout)"
    if "Traceback" in text:
        return "BAD: traceback"
    if "unexpected error" in text:
        return "BAD: unexpected error"
    leftovers = [p.name for p in out_dir.iterdir() if ".part" in p.name] if out_dir.is_dir() else []
    if leftovers:
        return f"BAD: temporary files left: {leftovers}"
    exists = out.exists()
    if exists and not validate(out):
        return f"BAD: exit {case.rc} and {out.name} does not decode"
    if case.rc == 0:
        return "ok0" if exists else "BAD: exit 0 without an output"
    if case.rc == 1:
        partial = len(lines) == 1 and lines[0].startswith("adain-live: warning:") and "frames" in lines[0]
        if not partial:
            return f"BAD: exit 1 without the one-line partial warning: {lines[:3]}"
        return "ok1" if exists else "BAD: exit 1 without an output"
    if case.rc == 2:
        if len(lines) != 1 or not lines[0].startswith("adain-live: error:"):
            return f"BAD: exit 2 with {len(lines)} lines: {lines[:3]}"
        return "ok2"
    return f"BAD: exit {case.rc}"


# --- running -----------------------------------------------------------------------------------------------
def _run_forked(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    """Run ``adain_live.cli.main(argv)`` in a forked child (stdout to /dev/null, stderr captured)."""
    err_path = cwd / "stderr.txt"
    pid = os.fork()
    if pid == 0:  # child
        code = 70
        try:
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(env)
            fd_err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            fd_null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd_null, 1)
            os.dup2(fd_err, 2)
            sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - the child exits right after
            sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            from adain_live.cli import main

            code = int(main(argv))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - the traceback is what the judge looks for
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc: int | None = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            rc = None
            break
        time.sleep(0.02)
    return rc, err_path.read_text(errors="replace") if err_path.exists() else ""


def _run_spawned(argv: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[int | None, str]:
    try:
        proc = subprocess.run([sys.executable, "-m", "adain_live", *argv], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return None, err
    return proc.returncode, proc.stderr


def build_case(index: int, rng: random.Random, seeds: dict[str, list[Path]], work: Path,
               size: int) -> tuple[Case, Path, Callable[[Path], bool], Path, dict[str, str]]:
    """Mutate a seed file for case ``index``; return the case, its output path, validator, folder, env."""
    target = TARGETS[index % len(TARGETS)]
    seed = rng.choice(seeds[target])
    kind = rng.choice(MUTATIONS)
    case_dir = work / f"case{index:05d}"
    case_dir.mkdir(parents=True)
    bad = case_dir / f"in_{seed.name}"
    bad.write_bytes(mutate(seed.read_bytes(), kind, rng))
    out_dir = case_dir / "out"
    out_dir.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ADAIN_LIVE_HOME": str(case_dir / "home")}
    common = ["--size", str(size), "--style-size", str(size), "--device", "cpu"]
    style = seeds["stylize"][2]
    if target == "stylize":
        content, style_arg = (bad, style) if seed.name != "style.png" else (seeds["stylize"][0], bad)
        out = out_dir / "out.png"
        argv = ["-q", "stylize", str(content), "-s", str(style_arg), "-o", str(out), *common]
        validate: Callable[[Path], bool] = image_ok
    elif target == "video":
        out = out_dir / "out.mp4"
        argv = ["-q", "video", str(bad), "-s", str(style), "-o", str(out), "--batch", "2", *common]
        validate = video_ok
    else:
        bad = bad.rename(case_dir / f"in{seed.suffix}")  # the role and format are told by the contents
        argv = ["-q", "weights", "import", str(bad)]
        out = case_dir / "home" / "weights" / "adain-vgg19" / "decoder.pth"
        out_dir = out.parent
        validate = weights_ok
    return Case(index, target, seed.name, kind, argv), out, validate, out_dir, env


def run_cases(cases: int, seed: int, size: int, timeout: float, mode: str, work: Path,
              log: Callable[[str], None] = print,
              on_progress: Callable[[list[Case]], None] | None = None,
              only: set[int] | None = None) -> list[Case]:
    """Run ``cases`` fuzz cases; return them judged (``on_progress`` gets the cases so far every 25).

    ``only``: run just these case numbers (the others are generated, so each case is the same as in the full
    run with this seed, but not run): replays findings.
    """
    seeds = make_seeds(work / "seeds", size)
    rng = random.Random(seed)
    runner = _run_forked if mode == "fork" else _run_spawned
    done: list[Case] = []
    for i in range(cases):
        case, out, validate, out_dir, env = build_case(i, rng, seeds, work / "cases", size)
        if only is not None and i not in only:
            continue
        t = time.monotonic()
        case.rc, case.stderr = runner(case.argv, env, work / "cases" / f"case{i:05d}", timeout)
        if case.rc is None and runner is _run_forked:
            # A forked child can deadlock on a lock another thread of the server held at fork time (seen twice
            # in 500 cases on a loaded machine, both fine in a fresh interpreter): only a hang there counts.
            log(f"case {i}: timed out in a forked child; retrying in a fresh interpreter")
            case.rc, case.stderr = _run_spawned(case.argv, env, work / "cases" / f"case{i:05d}", timeout)
        case.seconds = round(time.monotonic() - t, 2)
        case.outcome = judge(case, out, validate, out_dir)
        done.append(case)
        if case.outcome.startswith("BAD"):
            log(f"case {i} {case.target} {case.seed_file} {case.mutation}: {case.outcome} :: "
                f"{case.stderr.strip().splitlines()[-1:] if case.stderr.strip() else ''}")
        if (i + 1) % 25 == 0:
            log(f"{i + 1}/{cases} cases, {sum(c.outcome.startswith('BAD') for c in done)} findings")
            if on_progress is not None:
                on_progress(done)
    return done


def summarize(cases: list[Case]) -> dict[str, Any]:
    """Outcome counts overall and per target."""
    overall = collections.Counter("BAD" if c.outcome.startswith("BAD") else c.outcome for c in cases)
    per_target = {t: dict(collections.Counter("BAD" if c.outcome.startswith("BAD") else c.outcome
                                              for c in cases if c.target == t)) for t in TARGETS}
    return {"cases": len(cases), "outcomes": dict(overall), "per_target": per_target,
            "findings": [asdict(c) for c in cases if c.outcome.startswith("BAD")],
            "median_s": sorted(c.seconds for c in cases)[len(cases) // 2] if cases else 0.0}


def main(argv: list[str] | None = None) -> int:
    """Entry point: exit 0 when every case had an allowed outcome, 1 otherwise."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=60, help="number of cases (default 60)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--size", type=int, default=64, help="seed image/video size and --size (default 64)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds before a case counts as a hang")
    p.add_argument("--mode", choices=("fork", "spawn"), default="fork",
                   help="fork: from a pre-imported server (fast); spawn: a fresh interpreter per case")
    p.add_argument("--work", type=Path, help="folder for seeds and cases (default: a temporary folder)")
    p.add_argument("--json", type=Path, help="write the summary and findings here")
    p.add_argument("--only", help="comma-separated case numbers to replay from a run with the same --seed")
    args = p.parse_args(argv)
    if args.cases < 1 or args.size < 16 or not args.timeout > 0:
        p.error("--cases >= 1, --size >= 16 and a positive --timeout")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.mode == "fork":
        import torch

        torch.set_num_threads(1)
        import adain_live.cli  # noqa: F401 - imported once here, so every forked case starts warm
    work = args.work or Path(tempfile.mkdtemp(prefix="adain-fuzz-"))
    started = time.monotonic()

    def save(cases: list[Case]) -> dict[str, Any]:
        report = summarize(cases)
        report.update(seconds=round(time.monotonic() - started, 1), seed=args.seed, mode=args.mode,
                      finished=len(cases) == (args.cases if not args.only else len(only or ())),
                      command="python " + " ".join(sys.argv))
        if args.json:  # also every 25 cases, so a run cut short keeps its counts
            args.json.write_text(json.dumps(report, indent=2) + "\n")
        return report

    only = {int(x) for x in args.only.split(",") if x.strip()} if args.only else None
    report = save(run_cases(args.cases, args.seed, args.size, args.timeout, args.mode, work, on_progress=save,
                            only=only))
    print(f"fuzz: {report['cases']} cases in {report['seconds']:.0f} s ({args.mode}, seed {args.seed}): "
          f"{report['outcomes']}; per target {report['per_target']}")
    return 1 if report["outcomes"].get("BAD") else 0


if __name__ == "__main__":
    sys.exit(main())
