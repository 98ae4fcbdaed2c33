"""``adain-live doctor``: versions, devices, torch.compile, NVENC, models, a self-test of each path, problems."""

from __future__ import annotations

import argparse
import logging

from adain_live.core.device import resolve_device
from adain_live.engine import doctor
from adain_live.engine.config import parse_sizes
from adain_live.errors import DeviceError, UserError

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``doctor``."""
    p = sub.add_parser(
        "doctor", help="check this machine: versions, devices, compile, NVENC, models, a self-test of each path",
        description="Prints torch/CUDA/cuDNN/PyAV/Qt versions, the devices and their dtypes, whether torch.compile "
                    "and NVENC work, the installed models and the default, then runs each path (eager, compiled, "
                    "CUDA graph) for a few seconds with its agreement figure, and one line per problem saying "
                    "what to do. Exit status 0 when the default path works, 2 otherwise.")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    p.add_argument("--size", default="448x256", help="WxH frame size of the self-test (default 448x256)")
    p.add_argument("--seconds", type=float, default=3.0, help="seconds each path runs in the self-test (default 3)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the report; 0 when the default path works, else 2."""
    try:
        ((w, h),) = parse_sizes([args.size])
    except ValueError as exc:
        raise UserError(f"doctor: {exc}") from None
    if not 0 < args.seconds <= 60:
        raise UserError(f"--seconds must be in (0, 60], got {args.seconds}")
    try:
        device = resolve_device(args.device)
    except DeviceError as exc:
        report = doctor.Report(items=doctor.versions() + doctor.devices()
                               + [doctor.Item("device", args.device, str(exc))])
        print(doctor.format_report(report), end="")
        return 2
    report = doctor.diagnose(device, size=(w, h), seconds=args.seconds, progress=log.info)
    print(doctor.format_report(report), end="")
    return 0 if report.default_ok else 2
