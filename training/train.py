"""Train the AdaIN decoder: ``python -m training.train --content-dir D --style-dir D --vgg FILE --out DIR``.

The paper's recipe as in pytorch-AdaIN: frozen normalised VGG-19 encoder, Adam (lr 1e-4, decayed as
``lr / (1 + lr_decay * iteration)``), batch 8 of 256-pixel crops of images resized to 512, loss
``content_weight * content + style_weight * style``. On CUDA: bf16 autocast, channels-last, fused Adam, the
data kept decoded on the GPU, and optionally ``torch.compile``. A run folder holds ``checkpoint.pt`` (every
``--save-every`` iterations and on Ctrl-C), ``decoder.safetensors`` (for ``adain-live --decoder``), the logs
of :mod:`training.logs` and ``config.json``; ``--resume`` continues it exactly.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from adain_live.core.checkpoint import load_encoder
from adain_live.core.device import resolve_device
from adain_live.core.model import AdaINModel
from adain_live.core.stats import StyleStats
from adain_live.core.vgg import build_decoder
from adain_live.errors import UserError
from training.checkpoint import (
    CHECKPOINT_NAME,
    StopOnInterrupt,
    check_run_folder,
    load_checkpoint,
    save_checkpoint,
)
from training.data import ImageStream, PairStream, fixed_images
from training.errors import failure_line
from training.export import export_decoder
from training.logs import RunLog, sample_grid
from training.losses import adain_losses
from training.schedule import lr_at

log = logging.getLogger(__name__)

DECODER_NAME = "decoder.safetensors"
_AMP = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser (defaults are the paper's / pytorch-AdaIN's)."""
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--content-dir", type=Path, required=True, help="folder of content images (e.g. COCO)")
    p.add_argument("--style-dir", type=Path, required=True, help="folder of style images (e.g. WikiArt)")
    p.add_argument("--vgg", type=Path, required=True, help="vgg_normalised.pth (or an encoder-only file)")
    p.add_argument("--out", type=Path, required=True, help="run folder, e.g. runs/NAME")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--iterations", type=int, default=None, help="iterations to train (default 160000)")
    length.add_argument("--epochs", type=float, default=None, help="passes over the content images instead")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--lr-decay", type=float, default=5e-5)
    p.add_argument("--style-weight", type=float, default=10.0)
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--crop", type=int, default=256, help="side of the random square crops")
    p.add_argument("--resize", type=int, default=512, help="shorter side before cropping")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp16", "fp32"],
                   help="autocast dtype; auto: bf16 on CUDA, fp32 on the CPU")
    p.add_argument("--compile", action="store_true", help="torch.compile the training step")
    p.add_argument("--compile-mode", default="default",
                   choices=["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"],
                   help="torch.compile mode (reduce-overhead adds CUDA graphs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-every", type=int, default=5000, help="checkpoint every N iterations")
    p.add_argument("--sample-every", type=int, default=1000, help="sample grid every N iterations (0: never)")
    p.add_argument("--log-every", type=int, default=50, help="CSV row every N iterations")
    p.add_argument("--plot-every", type=int, default=1000, help="redraw loss.png every N iterations")
    p.add_argument("--workers", type=int, default=None, help="loader processes per folder")
    p.add_argument("--resident", choices=["auto", "yes", "no"], default="auto",
                   help="keep the decoded images on the device (auto: on CUDA when they fit)")
    p.add_argument("--export-pth", action="store_true", help="also write decoder.pth (pytorch-AdaIN layout)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def amp_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """Return the autocast dtype for ``--precision`` (None: plain fp32)."""
    if precision == "auto":
        return torch.bfloat16 if device.type == "cuda" else None
    if precision == "fp16" and device.type != "cuda":
        raise UserError("--precision fp16 needs CUDA; use fp32 or bf16 on the CPU")
    return _AMP[precision]


def _check_args(args: argparse.Namespace) -> None:
    if args.batch < 1 or args.crop < 16 or args.resize < args.crop:
        raise UserError(f"need --batch >= 1, --crop >= 16 and --resize >= --crop (got {args.batch}, "
                        f"{args.crop}, {args.resize})")
    if (args.iterations or 1) < 1 or (args.epochs is not None and args.epochs <= 0):
        raise UserError("--iterations/--epochs must be positive")
    if args.seed < 0:
        raise UserError(f"--seed must be >= 0, got {args.seed}")
    if min(args.save_every, args.log_every, args.plot_every) < 1 or args.sample_every < 0:
        raise UserError("--save-every, --log-every and --plot-every must be >= 1, --sample-every >= 0")
    check_run_folder(args.out, args.resume)


def setup_backends(device: torch.device) -> None:
    """Backend settings for speed (set by the entry point, never at import)."""
    if device.type == "cpu":
        torch.set_flush_denormal(True)  # tiny activations (e.g. an untrained decoder) are 10x slower as denormals
    else:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def train_step(model: AdaINModel, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler, loss_fn: Any,
               content: torch.Tensor, style: torch.Tensor, amp: torch.dtype | None,
               weights: tuple[float, float] = (1.0, 10.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimisation step of the decoder; return the detached (content, style) losses without a sync.

    ``loss_fn`` is :func:`training.losses.adain_losses` or its ``torch.compile`` d version; ``amp`` the
    autocast dtype (None: fp32); ``weights`` the (content, style) loss weights.
    """
    if content.is_cuda:
        content = content.contiguous(memory_format=torch.channels_last)
        style = style.contiguous(memory_format=torch.channels_last)
    with torch.autocast(content.device.type, dtype=amp or torch.float32, enabled=amp is not None):
        loss_c, loss_s, _ = loss_fn(model, content, style)
    loss = weights[0] * loss_c + weights[1] * loss_s
    opt.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    return loss_c.detach(), loss_s.detach()


def make_optimizer(model: AdaINModel, lr: float) -> torch.optim.Adam:
    """Return Adam over the decoder, fused (one kernel for all parameters) on CUDA."""
    return torch.optim.Adam(model.decoder.parameters(), lr=lr, fused=model.device.type == "cuda")


class DecoderTrainer:
    """Everything one run needs: model, optimizer, data, logs; built from parsed arguments."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.device = resolve_device(args.device)
        self.amp = amp_dtype(args.precision, self.device)
        setup_backends(self.device)
        torch.manual_seed(args.seed)
        self.model = AdaINModel(load_encoder(args.vgg), build_decoder()).to(self.device)
        if self.device.type == "cuda":
            self.model = self.model.to(memory_format=torch.channels_last)
        self.opt = make_optimizer(self.model, args.lr)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp is torch.float16)
        self.data = self._make_data()
        n_content = len(self.data.content.scan.files)
        self.total = (args.iterations if args.iterations is not None
                      else math.ceil(args.epochs * n_content / args.batch) if args.epochs is not None
                      else 160_000)
        self.iteration = 0
        self.loss_fn = torch.compile(adain_losses, mode=args.compile_mode) if args.compile else adain_losses
        self.sample_content = fixed_images(self.data.content.scan, 4, args.crop).to(self.device)
        self.sample_style = fixed_images(self.data.style.scan, 4, args.crop).to(self.device)

    def _make_data(self) -> PairStream:
        a = self.args
        resident = {"auto": None, "yes": True, "no": False}[a.resident]
        streams = [ImageStream(folder, a.batch, a.crop, a.resize, self.device, a.seed, i, role=role,
                               resident=resident, workers=a.workers)
                   for i, (folder, role) in enumerate([(a.content_dir, "content"), (a.style_dir, "style")])]
        return PairStream(*streams)

    @property
    def objects(self) -> dict[str, object]:
        """Return the checkpointed state: decoder, optimizer, grad scaler and data streams."""
        return {"decoder": self.model.decoder, "optimizer": self.opt, "scaler": self.scaler,
                "data": self.data}

    def resume(self) -> None:
        """Restore the run in ``--out`` (weights, Adam, data position, RNGs)."""
        ckpt = load_checkpoint(self.args.out / CHECKPOINT_NAME, self.objects, map_location=self.device)  # type: ignore[arg-type]
        self.iteration = ckpt.iteration
        log.info("resumed %s at iteration %d", self.args.out, self.iteration)

    def step(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Run one iteration; return the detached (content, style) losses (no host sync)."""
        a = self.args
        content, style = next(self.data)
        for group in self.opt.param_groups:
            group["lr"] = lr_at(a.lr, self.iteration, decay=a.lr_decay)
        losses = train_step(self.model, self.opt, self.scaler, self.loss_fn, content, style, self.amp,
                            (a.content_weight, a.style_weight))
        self.iteration += 1
        return losses

    @torch.no_grad()
    def sample_grid(self) -> torch.Tensor:
        """Stylize the fixed content x style pairs with the app's inference path; return the sheet."""
        with torch.autocast(self.device.type, dtype=self.amp or torch.float32, enabled=self.amp is not None):
            stats: list[StyleStats] = [self.model.style_stats(s[None]) for s in self.sample_style]
            columns = [self.model.stylize(self.sample_content, st).float() for st in stats]
        return sample_grid(self.sample_content, self.sample_style, torch.stack(columns, dim=1))

    def save(self) -> Path:
        """Write the checkpoint and the decoder export (both atomically)."""
        a = self.args
        save_checkpoint(a.out / CHECKPOINT_NAME, self.iteration, self.objects,  # type: ignore[arg-type]
                        extra={"argv": list(sys.argv[1:])})
        meta = {"iterations": str(self.iteration), "seed": str(a.seed), "batch": str(a.batch),
                "crop": str(a.crop), "style_weight": str(a.style_weight),
                "content_weight": str(a.content_weight), "trained_with": "python -m training.train"}
        path = export_decoder(self.model.decoder, a.out / DECODER_NAME, meta)
        if a.export_pth:
            export_decoder(self.model.decoder, a.out / "decoder.pth")
        return path


def _log_row(runlog: RunLog, args: argparse.Namespace, it: int, sums: torch.Tensor, count: int,
             seconds: float) -> None:
    """Append the mean losses of the last ``count`` iterations (the only host sync of the loop)."""
    lc, ls = (sums / count).tolist()
    if not (math.isfinite(lc) and math.isfinite(ls)):
        raise UserError(f"the loss became {lc + ls} at iteration {it}; lower --lr, or use --precision fp32, "
                        "and --resume from the last checkpoint")
    total = args.content_weight * lc + args.style_weight * ls
    runlog.log(it, {"content": lc, "style": ls, "total": total},
               lr=lr_at(args.lr, it - 1, decay=args.lr_decay), images_per_s=count * args.batch / max(seconds, 1e-9))


def run(trainer: DecoderTrainer, progress: bool = True) -> bool:
    """Train until the last iteration or a Ctrl-C; save and export either way. Return True if completed."""
    a, t = trainer.args, trainer
    sums = torch.zeros(2, device=t.device)
    count, tick, side = 0, time.perf_counter(), 0.0  # side: seconds spent on samples/checkpoints
    title = f"{a.out.name}: batch {a.batch}, crop {a.crop}, style weight {a.style_weight:g}"
    runlog = RunLog(a.out, t.total, t.iteration, plot_every=a.plot_every, progress=progress, title=title)
    with runlog, StopOnInterrupt() as stop:
        while t.iteration < t.total and not stop.requested:
            sums += torch.stack(t.step())
            count += 1
            runlog.step()
            it = t.iteration
            if it % a.log_every == 0 or it == t.total:
                now = time.perf_counter()
                _log_row(runlog, a, it, sums, count, now - tick - side)
                sums.zero_()
                count, tick, side = 0, now, 0.0
            t0 = time.perf_counter()
            if a.sample_every and (it % a.sample_every == 0 or it == t.total):
                runlog.save_samples(it, t.sample_grid())
            if it % a.save_every == 0 and it < t.total:
                t.save()
            side += time.perf_counter() - t0
        t.save()
        if stop.requested:
            runlog.write(f"interrupted: saved {a.out / CHECKPOINT_NAME} at iteration {t.iteration}; "
                         f"continue with --resume")
    return not stop.requested


def _write_config(args: argparse.Namespace, trainer: DecoderTrainer) -> None:
    config = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    config |= {"total_iterations": trainer.total, "device": str(trainer.device),
               "content_images": len(trainer.data.content.scan.files),
               "style_images": len(trainer.data.style.scan.files),
               "skipped_files": len(trainer.data.content.scan.skipped) + len(trainer.data.style.scan.skipped),
               "command": "python -m training.train " + shlex.join(sys.argv[1:])}
    (args.out / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns 0 when done, 130 after Ctrl-C (checkpoint saved), 2 for a user error."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        _check_args(args)
        trainer = DecoderTrainer(args)
        args.out.mkdir(parents=True, exist_ok=True)
        if args.resume:
            trainer.resume()
        else:
            _write_config(args, trainer)
        try:
            completed = run(trainer, progress=not args.no_progress)
        finally:
            trainer.data.close()
        print(f"decoder: {args.out / DECODER_NAME} (iteration {trainer.iteration})")
        return 0 if completed else 130
    except (UserError, torch.cuda.OutOfMemoryError) as exc:
        if args.debug:
            raise
        print(f"error: {failure_line(exc, args)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
