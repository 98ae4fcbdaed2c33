"""Distil the MicroAST teacher into our AdaIN network (encoder and decoder trained).

Example (what the GPU session runs through ``scripts/device_distill.sh``)::

    python -m training.distill --content-dir devdata/train/content --style-dir devdata/train/style \
        --teacher devdata/microast --out runs/gpu1 --init models/ --precision bf16 --compile --time-limit 540

Built on the same toolkit as ``training.train``: the data streams of :mod:`training.data` (random-scale crops
and a held-out validation split as options), the checkpoints of :mod:`training.checkpoint` (format version,
RNG and data state, fsync; ``--resume`` continues bit-for-bit), :class:`~training.logs.RunLog`,
:class:`~training.checkpoint.StopOnInterrupt` and :func:`~training.schedule.lr_at`. The run folder gets
``checkpoint.pt``, ``log.csv``/``loss.png`` and ``export/`` (the best student so far as fp16 safetensors +
``MANIFEST.json``).
"""

from __future__ import annotations

import argparse
import logging
import math
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from adain_live.core import AdaINModel, resolve_device
from adain_live.errors import UserError
from training.augment import augment_styles
from training.checkpoint import CHECKPOINT_NAME, StopOnInterrupt, check_run_folder, load_checkpoint, save_checkpoint
from training.data import ImageStream, PairStream
from training.errors import failure_line
from training.images import scan_folder
from training.logs import RunLog
from training.schedule import lr_at
from training.student import (
    distill_loss,
    export_student,
    load_init,
    new_student,
    sample_alpha,
    student_forward,
    teacher_target,
)
from training.teacher import load_teacher
from training.validation import ValidationSet

log = logging.getLogger(__name__)

#: The last 30% of the run decays the learning rate along a cosine to 10%.
LR_TAIL = 0.3
#: Random-scale crops: fraction of the shorter side a content / style crop covers.
CONTENT_SCALE, STYLE_SCALE = (0.0, 1.0), (0.3, 1.0)


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    p = argparse.ArgumentParser(prog="python -m training.distill", description=__doc__.split("\n\n")[0])
    p.add_argument("--content-dir", type=Path, required=True)
    p.add_argument("--style-dir", type=Path, required=True)
    p.add_argument("--teacher", type=Path, required=True, help="folder with the four MicroAST files")
    p.add_argument("--out", type=Path, required=True, help="run folder (checkpoint, log, export)")
    p.add_argument("--iterations", type=int, default=100_000, help="stop after this many (total) iterations")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--grad-weight", type=float, default=1.0, help="weight of the image-gradient L1 term")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--init", type=Path, help="start from an exported student (models/) or a run folder")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                   help="autocast dtype; auto is bf16 on CUDA, fp32 on the CPU")
    p.add_argument("--compile", action="store_true", help="torch.compile the student step")
    p.add_argument("--time-limit", type=float, default=math.inf, help="seconds; stop, evaluate and export")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--eval-every", type=int, default=500, help="validate (and log) every N iterations")
    p.add_argument("--checkpoint-every", type=float, default=300.0, help="seconds between checkpoints")
    p.add_argument("--max-side", type=int, default=384, help="images are decoded with this short side")
    p.add_argument("--val-count", type=int, default=6, help="content and style images held out to validate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--note", default="", help="free text stored in the manifest")
    p.add_argument("--status", default="experimental",
                   help="manifest status, e.g. interim-cpu (undertrained) or gpu (a full device run)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _check_args(args: argparse.Namespace) -> None:
    if args.batch < 1 or args.crop < 16 or args.max_side < args.crop:
        raise UserError(f"need --batch >= 1, --crop >= 16 and --max-side >= --crop (got {args.batch}, "
                        f"{args.crop}, {args.max_side})")
    if args.iterations < 1 or args.eval_every < 1 or args.val_count < 0 or args.seed < 0:
        raise UserError("--iterations and --eval-every must be >= 1, --val-count and --seed >= 0")
    check_run_folder(args.out, args.resume)


@dataclass
class RunState:
    """What a checkpoint stores about the run besides weights, optimizer, data position and RNGs."""

    best_psnr: float = -math.inf
    best_iteration: int = 0
    trained_seconds: float = 0.0

    def state_dict(self) -> dict[str, float]:  # noqa: D102 - checkpointed like a module
        return asdict(self)

    def load_state_dict(self, state: dict[str, float]) -> None:  # noqa: D102
        self.best_psnr, self.best_iteration = float(state["best_psnr"]), int(state["best_iteration"])
        self.trained_seconds = float(state["trained_seconds"])


class DistillTrainer:
    """One distillation run: data streams, teacher, student, optimiser; the loop is :func:`run`."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.device = resolve_device(args.device)
        self.amp = self.device.type == "cuda" and args.precision in ("auto", "bf16")
        torch.manual_seed(args.seed)
        self.data = self._make_data()
        self.teacher = load_teacher(args.teacher, self.device)
        self.validation = ValidationSet(self.data.content.scan.held_out, self.data.style.scan.held_out,
                                        self.teacher, self.device)
        self.state = RunState()
        self.iteration = 0
        self.model = self._initial_student().to(self.device).to(memory_format=torch.channels_last)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=args.lr)
        self.step_fn = torch.compile(self._forward) if args.compile else self._forward

    def _make_data(self) -> PairStream:
        # Resident: the decoded images stay on the device (at ~30 it/s on a GPU, CPU-side crops would starve it).
        a, streams = self.args, []
        for i, (folder, role, scale) in enumerate([(a.content_dir, "content", CONTENT_SCALE),
                                                   (a.style_dir, "style", STYLE_SCALE)]):
            scan = scan_folder(folder, role, hold_out=a.val_count)
            streams.append(ImageStream(scan, a.batch, a.crop, a.max_side, self.device, a.seed, i, role=role,
                                       resident=True, scale=scale, flip=True))
        return PairStream(*streams)

    def _initial_student(self) -> AdaINModel:
        if self.args.init is not None and not self.args.resume:
            model, self.iteration = load_init(self.args.init)
            return model
        return new_student(self.args.seed)

    @property
    def objects(self) -> dict[str, Any]:
        """The checkpointed state: student, optimizer, data position and run state."""
        return {"encoder": self.model.encoder, "decoder": self.model.decoder, "optimizer": self.opt,
                "data": self.data, "run": self.state}

    def resume(self) -> None:
        """Restore the run in ``--out`` (weights, Adam, data position, run state, RNGs)."""
        ckpt = load_checkpoint(self.args.out / CHECKPOINT_NAME, self.objects, map_location=self.device)
        self.iteration = ckpt.iteration
        log.info("resumed %s at iteration %d", self.args.out, self.iteration)

    def save(self) -> Path:
        """Write the checkpoint atomically."""
        return save_checkpoint(self.args.out / CHECKPOINT_NAME, self.iteration, self.objects,
                               extra={"argv": list(sys.argv[1:])})

    def _forward(self, content: Tensor, style: Tensor, alpha: Tensor, target: Tensor) -> Tensor:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            out = student_forward(self.model, content, style, alpha)
        return distill_loss(out, target, self.args.grad_weight)

    def batch(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Content crops, augmented style crops, alphas and the teacher's targets for this iteration."""
        content, style = next(self.data)
        # Augmentation and alpha depend only on (seed, iteration), like the crops: a resumed run sees the same.
        gen = torch.Generator().manual_seed(self.args.seed * 1_000_003 + self.iteration)
        style = augment_styles(style, gen)
        alpha = sample_alpha(self.args.batch, gen).to(self.device, non_blocking=True)
        content = content.contiguous(memory_format=torch.channels_last)
        style = style.contiguous(memory_format=torch.channels_last)
        # the teacher stays in fp32: it is ~2% of the student's work, and its AdaIN needs exact statistics
        target = teacher_target(self.teacher, content, style, alpha)
        return content, style, alpha, target

    def train_step(self, progress: float) -> float:
        """One optimisation step at ``progress`` (fraction of the run done); returns the loss."""
        lr = lr_at(self.args.lr, self.iteration, progress=progress, tail=LR_TAIL)
        for group in self.opt.param_groups:
            group["lr"] = lr
        loss = self.step_fn(*self.batch())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.iteration += 1
        return float(loss.detach())

    def validate_and_export(self) -> float:
        """Measure the validation PSNR vs the teacher; export the student when it is the best so far."""
        self.model.eval()
        psnr = self.validation.psnr(self.model)
        self.model.train()
        s = self.state
        log.info("iteration %d: validation PSNR %.2f dB (best %.2f)", self.iteration, psnr, s.best_psnr)
        if psnr > s.best_psnr or math.isnan(psnr):
            s.best_psnr, s.best_iteration = psnr, self.iteration
            export_student(self.model, self.args.out / "export", self.manifest(psnr))
        return psnr

    def manifest(self, val_psnr: float) -> dict[str, Any]:
        """Manifest fields describing this run (evaluate.py adds the eval-pair metrics)."""
        a = self.args
        return {
            "name": "adain-live-student", "status": a.status,
            "architecture": "AdaIN: normalised-VGG-19 encoder to relu4_1 + decoder",
            "teacher": "MicroAST (Wang et al., AAAI 2023), EndyWon/MicroAST 5a6c9050, MIT",
            "training_command": "python -m training.distill " + shlex.join(sys.argv[1:]),
            "data": {"content": str(a.content_dir), "style": str(a.style_dir),
                     "content_images": len(self.data.content.scan.files),
                     "style_images": len(self.data.style.scan.files), "held_out_per_folder": a.val_count},
            "iterations": self.iteration, "batch": a.batch, "crop": a.crop, "lr": a.lr,
            "device": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu",
            "precision": "bf16" if self.amp else "fp32",
            "trained_seconds": round(self.state.trained_seconds, 1),
            "validation_psnr_db": round(val_psnr, 3), "loss": f"L1 + {a.grad_weight} * L1(image gradients) "
            "vs teacher(alpha=1) blended with the content by alpha", "note": a.note,
        }


class _Window:
    """Losses and wall time since the last log row."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.tick = time.perf_counter()
        self.at: int | None = None  # iteration of the last row written by this process

    def row(self, t: DistillTrainer, runlog: RunLog, progress: float) -> float:
        """Validate (exporting a new best), append the log row, start a new window; return the seconds taken."""
        start = time.perf_counter()
        rate = len(self.losses) * t.args.batch / max(start - self.tick, 1e-9)
        psnr = t.validate_and_export()
        loss = sum(self.losses) / len(self.losses) if self.losses else math.nan
        runlog.log(t.iteration, {"loss": loss}, lr=lr_at(t.args.lr, t.iteration, progress=progress, tail=LR_TAIL),
                   images_per_s=rate, metrics={"val_psnr": psnr})
        self.losses, self.tick, self.at = [], time.perf_counter(), t.iteration
        return self.tick - start


def run(t: DistillTrainer, progress_bar: bool = True) -> bool:
    """Train until ``--iterations``, ``--time-limit`` (minus a validation's time) or a signal.

    At the end it always validates (exporting a new best) and saves. Returns True unless interrupted.
    """
    a = t.args
    start = last_ckpt = time.monotonic()
    eval_cost, window, progress = 0.0, _Window(), 0.0
    runlog = RunLog(a.out, a.iterations, t.iteration, plot_every=a.eval_every, progress=progress_bar,
                    title=f"{a.out.name}: distillation, batch {a.batch}, crop {a.crop}")
    with runlog, StopOnInterrupt() as stop:
        while t.iteration < a.iterations and not stop.requested:
            elapsed = time.monotonic() - start
            if elapsed + 2 * eval_cost + 5 > a.time_limit:
                break
            progress = max(t.iteration / a.iterations, elapsed / a.time_limit)
            t0 = time.monotonic()
            window.losses.append(t.train_step(progress))
            t.state.trained_seconds += time.monotonic() - t0
            runlog.step()
            if t.iteration % a.eval_every == 0:
                eval_cost = window.row(t, runlog, progress)
            if time.monotonic() - last_ckpt > a.checkpoint_every:
                t.save()
                last_ckpt = time.monotonic()
        if window.at != t.iteration:
            window.row(t, runlog, progress)
        t.save()
        if stop.requested:
            runlog.write(f"interrupted: saved {a.out / CHECKPOINT_NAME} at iteration {t.iteration}; "
                         "continue with --resume")
    return not stop.requested


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns 0 when done (iterations or time limit), 130 after Ctrl-C (saved), 2 for a user error."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        _check_args(args)
        trainer = DistillTrainer(args)
        args.out.mkdir(parents=True, exist_ok=True)
        if args.resume:
            trainer.resume()
        completed = run(trainer, progress_bar=not args.no_progress)
    except (UserError, torch.cuda.OutOfMemoryError) as exc:
        if args.debug:
            raise
        print(f"error: {failure_line(exc, args)}", file=sys.stderr)
        return 2
    s = trainer.state
    log.info("done: %d iterations, best validation PSNR %.2f dB at %d; export in %s", trainer.iteration,
             s.best_psnr, s.best_iteration, args.out / "export")
    return 0 if completed else 130


if __name__ == "__main__":
    sys.exit(main())
