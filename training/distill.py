"""Distil the MicroAST teacher into our AdaIN network (encoder and decoder trained).

Example (what the GPU session runs through ``scripts/device_distill.sh``)::

    python -m training.distill --content-dir devdata/train/content --style-dir devdata/train/style \
        --teacher devdata/microast --out runs/gpu1 --init models/ --precision bf16 --compile --time-limit 540

The run folder gets ``checkpoint.pt`` (resumable), ``log.csv`` and ``export/`` (the best student so far as
fp16 safetensors + ``MANIFEST.json``).
"""

from __future__ import annotations

import argparse
import logging
import math
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from adain_live.core import AdaINModel, resolve_device
from adain_live.errors import UserError
from training.augment import ImagePool, augment_styles, list_images
from training.student import (
    CHECKPOINT_FILE,
    atomic_torch_save,
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


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
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
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt (with Adam state)")
    p.add_argument("--init", type=Path, help="start from an exported student (models/) or a run folder")
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                   help="autocast dtype; auto is bf16 on CUDA, fp32 on the CPU")
    p.add_argument("--compile", action="store_true", help="torch.compile the student step")
    p.add_argument("--time-limit", type=float, default=math.inf, help="seconds; stop, evaluate and export")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--eval-every", type=int, default=500, help="validate every N iterations")
    p.add_argument("--checkpoint-every", type=float, default=300.0, help="seconds between checkpoints")
    p.add_argument("--max-side", type=int, default=384, help="images are decoded with this short side")
    p.add_argument("--val-count", type=int, default=6, help="content and style images held out to validate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--note", default="", help="free text stored in the manifest")
    p.add_argument("--status", default="experimental",
                   help="manifest status, e.g. interim-cpu (undertrained) or gpu (a full device run)")
    return p.parse_args(argv)


@dataclass
class RunState:
    """Mutable state of a run (what a checkpoint stores besides the weights)."""

    iteration: int = 0
    best_psnr: float = -math.inf
    best_iteration: int = 0
    trained_seconds: float = 0.0
    stop: bool = False
    history: list[dict[str, float]] = field(default_factory=list)


def split_holdout(paths: list[Path], count: int) -> tuple[list[Path], list[Path]]:
    """Hold out ``count`` evenly spaced files for validation; return (train, validation)."""
    if count <= 0:
        return paths, []
    step = max(1, len(paths) // count)
    held = set(paths[step // 2 :: step][:count])
    return [p for p in paths if p not in held], sorted(held)


def lr_at(base: float, progress: float) -> float:
    """Constant learning rate, then a cosine decay to 10% over the last 30% of the run."""
    if progress < 0.7:
        return base
    t = min(1.0, (progress - 0.7) / 0.3)
    return base * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * t)))


class Trainer:
    """One distillation run: data pools, teacher, student, optimiser, and the loop."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.device = resolve_device(args.device)
        self.amp = self.device.type == "cuda" and args.precision in ("auto", "bf16")
        self.gen = torch.Generator().manual_seed(args.seed)
        contents, val_contents = split_holdout(list_images(args.content_dir), args.val_count)
        styles, val_styles = split_holdout(list_images(args.style_dir), args.val_count)
        # GPU-resident pools: at ~30 it/s, cutting crops on the CPU would starve the GPU
        self.contents = ImagePool(contents, args.max_side, args.crop).to(self.device)
        self.styles = ImagePool(styles, args.max_side, args.crop).to(self.device)
        self.teacher = load_teacher(args.teacher, self.device)
        self.validation = ValidationSet(val_contents, val_styles, self.teacher, self.device)
        self.state = RunState()
        self.model = self._build_student().to(self.device).to(memory_format=torch.channels_last)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=args.lr)
        self._resume_optimizer()
        self.step_fn = torch.compile(self._forward) if args.compile else self._forward
        log.info("data: %d content, %d style images (+%d/%d held out); start at iteration %d",
                 len(self.contents), len(self.styles), len(val_contents), len(val_styles),
                 self.state.iteration)

    def _build_student(self) -> AdaINModel:
        ckpt = self.args.out / CHECKPOINT_FILE
        if self.args.resume and ckpt.is_file():
            model, _ = load_init(self.args.out)
            saved = torch.load(ckpt, map_location="cpu", weights_only=True)
            for key in ("iteration", "best_psnr", "best_iteration", "trained_seconds"):
                setattr(self.state, key, type(getattr(self.state, key))(saved[key]))
            return model
        if self.args.init is not None:
            model, self.state.iteration = load_init(self.args.init)
            return model
        return new_student(self.args.seed)

    def _resume_optimizer(self) -> None:
        ckpt = self.args.out / CHECKPOINT_FILE
        if self.args.resume and ckpt.is_file():
            saved = torch.load(ckpt, map_location="cpu", weights_only=True)
            if "optimizer" in saved:
                self.opt.load_state_dict(saved["optimizer"])

    def _forward(self, content: Tensor, style: Tensor, alpha: Tensor, target: Tensor) -> Tensor:
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            out = student_forward(self.model, content, style, alpha)
        return distill_loss(out, target, self.args.grad_weight)

    def batch(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Sample content crops, augmented style crops, alphas and the teacher's targets."""
        a = self.args
        content = self.contents.crops(a.batch, a.crop, self.gen, scale=(0.0, 1.0))
        style = augment_styles(self.styles.crops(a.batch, a.crop, self.gen, scale=(0.3, 1.0)), self.gen)
        alpha = sample_alpha(a.batch, self.gen)
        content, style, alpha = (t.to(self.device, non_blocking=True) for t in (content, style, alpha))
        content = content.contiguous(memory_format=torch.channels_last)
        style = style.contiguous(memory_format=torch.channels_last)
        # the teacher stays in fp32: it is ~2% of the student's work, and its AdaIN needs exact statistics
        target = teacher_target(self.teacher, content, style, alpha)
        return content, style, alpha, target

    def train_step(self, progress: float) -> float:
        """One optimisation step; returns the loss."""
        for group in self.opt.param_groups:
            group["lr"] = lr_at(self.args.lr, progress)
        loss = self.step_fn(*self.batch())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.state.iteration += 1
        return float(loss.detach())

    def save_checkpoint(self) -> None:
        """Atomically write weights, Adam state and run state to ``OUT/checkpoint.pt``."""
        s = self.state
        atomic_torch_save({"encoder": self.model.encoder.state_dict(),
                           "decoder": self.model.decoder.state_dict(),
                           "optimizer": self.opt.state_dict(), "iteration": s.iteration,
                           "best_psnr": s.best_psnr, "best_iteration": s.best_iteration,
                           "trained_seconds": s.trained_seconds}, self.args.out / CHECKPOINT_FILE)

    def validate_and_export(self) -> float:
        """Measure the validation PSNR vs the teacher; export the student when it is the best so far."""
        self.model.eval()
        psnr = self.validation.psnr(self.model)
        self.model.train()
        s = self.state
        log.info("iteration %d: validation PSNR %.2f dB (best %.2f)", s.iteration, psnr, s.best_psnr)
        if psnr > s.best_psnr or math.isnan(psnr):
            s.best_psnr, s.best_iteration = psnr, s.iteration
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
                     "content_images": len(self.contents), "style_images": len(self.styles),
                     "held_out_per_folder": a.val_count},
            "iterations": self.state.iteration, "batch": a.batch, "crop": a.crop, "lr": a.lr,
            "device": torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else "cpu",
            "precision": "bf16" if self.amp else "fp32",
            "trained_seconds": round(self.state.trained_seconds, 1),
            "validation_psnr_db": round(val_psnr, 3), "loss": f"L1 + {a.grad_weight} * L1(image gradients) "
            "vs teacher(alpha=1) blended with the content by alpha", "note": a.note,
        }


def run(trainer: Trainer) -> RunState:
    """Train until ``--iterations``, ``--time-limit`` (minus a validation's time) or a signal."""
    a, s = trainer.args, trainer.state
    start, last_ckpt, eval_cost, losses = time.monotonic(), time.monotonic(), 0.0, []
    while s.iteration < a.iterations and not s.stop:
        elapsed = time.monotonic() - start
        if elapsed + 2 * eval_cost + 5 > a.time_limit:
            break
        progress = max(s.iteration / a.iterations, elapsed / a.time_limit)
        t0 = time.monotonic()
        losses.append(trainer.train_step(progress))
        s.trained_seconds += time.monotonic() - t0
        if s.iteration % a.eval_every == 0:
            t1 = time.monotonic()
            record(trainer, start, losses)
            eval_cost = time.monotonic() - t1
            losses = []
        if time.monotonic() - last_ckpt > a.checkpoint_every:
            trainer.save_checkpoint()
            last_ckpt = time.monotonic()
    trainer.save_checkpoint()
    if not s.history or s.history[-1]["iteration"] != s.iteration:
        record(trainer, start, losses)
    return s


def record(trainer: Trainer, start: float, losses: list[float]) -> None:
    """Validate (exporting a new best), then log iteration, wall time, it/s, mean loss and PSNR."""
    s = trainer.state
    last = s.history[-1] if s.history else {"iteration": s.iteration - len(losses), "seconds": 0.0}
    now = round(time.monotonic() - start, 1)
    rate = (s.iteration - last["iteration"]) / max(now - last["seconds"], 1e-6)
    psnr = trainer.validate_and_export()
    s.history.append({"iteration": s.iteration, "seconds": now, "it_per_s": rate,
                      "loss": sum(losses) / len(losses) if losses else float("nan"), "val_psnr": psnr})
    write_log(trainer.args.out / "log.csv", s.history[-1])


def write_log(path: Path, row: dict[str, float]) -> None:
    """Append a row to the CSV log (header on first write)."""
    new = not path.exists()
    with path.open("a") as f:
        if new:
            f.write(",".join(row) + "\n")
        f.write(",".join(f"{v:.5g}" if isinstance(v, float) else str(v) for v in row.values()) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: train, then checkpoint, validate and export the best student."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        trainer = Trainer(args)
    except (UserError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    def request_stop(signum: int, frame: object) -> None:
        log.info("signal %d: stopping after this iteration", signum)
        trainer.state.stop = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    state = run(trainer)
    log.info("done: %d iterations, best validation PSNR %.2f dB at %d; export in %s", state.iteration,
             state.best_psnr, state.best_iteration, args.out / "export")
    return 0


if __name__ == "__main__":
    sys.exit(main())
