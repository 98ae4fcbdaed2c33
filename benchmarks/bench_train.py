"""Training speed: decoder iterations/s at batch 8, 256-pixel crops (the paper's setting).

Random encoder weights of the real shapes (speed does not depend on the values), so no VGG file is needed::

    python benchmarks/bench_train.py --device cuda --precision bf16 --compile     # the H100 figure
    python benchmarks/bench_train.py --device cpu --iterations 3 --warmup 1       # the CPU figure
    python benchmarks/bench_train.py --device cuda --content-dir D --style-dir D  # with the real data path
    python benchmarks/bench_train.py --data-only --content-dir D --style-dir D    # data stream alone

Without folders the batches are random tensors already on the device (the model's speed alone).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Iterator, Sequence

import torch
from torch import nn

from adain_live.core.device import resolve_device
from adain_live.core.model import AdaINModel
from adain_live.core.vgg import build_encoder
from training.data import make_batches
from training.losses import adain_losses
from training.train import amp_dtype, make_optimizer, setup_backends, train_step


def _he_encoder() -> nn.Sequential:
    enc = build_encoder()
    for m in enc.modules():
        if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    return enc


def _batches(args: argparse.Namespace, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    if args.content_dir:
        return make_batches(args.content_dir, args.style_dir, args.batch, args.crop, args.resize, device)
    fixed = (torch.rand(args.batch, 3, args.crop, args.crop, device=device),
             torch.rand(args.batch, 3, args.crop, args.crop, device=device))
    return iter(lambda: fixed, None)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn: object, n: int, device: torch.device) -> float:
    _sync(device)
    t = time.perf_counter()
    for _ in range(n):
        fn()  # type: ignore[operator]
    _sync(device)
    return time.perf_counter() - t


def bench(args: argparse.Namespace) -> dict[str, object]:
    """Run the benchmark; return the figures as a dict."""
    device = resolve_device(args.device)
    setup_backends(device)
    torch.manual_seed(0)
    data = _batches(args, device)
    if args.data_only:
        secs = _time(lambda: next(data), args.iterations, device)
        return {"mode": "data", "batches_per_s": args.iterations / secs}
    amp = amp_dtype(args.precision, device)
    model = AdaINModel(_he_encoder(), None).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(model, 1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=amp is torch.float16)
    loss_fn = torch.compile(adain_losses) if args.compile else adain_losses

    def step() -> None:
        content, style = next(data)
        train_step(model, opt, scaler, loss_fn, content, style, amp)

    t0 = time.perf_counter()
    _time(step, args.warmup, device)
    warmup_s = time.perf_counter() - t0
    rounds = [args.iterations / _time(step, args.iterations, device) for _ in range(args.repeats)]
    out: dict[str, object] = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu x{torch.get_num_threads()}",
        "batch": args.batch, "crop": args.crop, "precision": "fp32" if amp is None else str(amp).split(".")[-1],
        "compile": args.compile, "data": "folders" if args.content_dir else "synthetic on device",
        "warmup_s": round(warmup_s, 1), "it_per_s": round(statistics.median(rounds), 3),
        "it_per_s_rounds": [round(r, 3) for r in rounds],
    }
    if device.type == "cuda":
        out["peak_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run, print one JSON line."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--precision", default="auto", choices=["auto", "bf16", "fp16", "fp32"])
    p.add_argument("--compile", action="store_true")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--resize", type=int, default=512)
    p.add_argument("--iterations", type=int, default=50, help="timed iterations per round")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds (the median is reported)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--content-dir")
    p.add_argument("--style-dir")
    p.add_argument("--data-only", action="store_true", help="time the data stream alone")
    args = p.parse_args(argv)
    if bool(args.content_dir) != bool(args.style_dir) or (args.data_only and not args.content_dir):
        p.error("give both --content-dir and --style-dir (required with --data-only)")
    print(json.dumps(bench(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
