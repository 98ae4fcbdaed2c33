"""The one-line error both training commands print for an expected failure."""

from __future__ import annotations

import argparse

import torch


def failure_line(exc: BaseException, args: argparse.Namespace) -> str:
    """What to tell the user: out-of-GPU-memory gets the flags to lower, anything else its own message."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return f"out of GPU memory at --batch {args.batch} --crop {args.crop}; lower them (or drop --compile)"
    return str(exc)
