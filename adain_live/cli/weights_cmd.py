"""``adain-live weights``: list, download and import weight sets."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from adain_live import weights


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``weights list|download|import``."""
    p = sub.add_parser("weights", help="list, download or import model weights",
                       description=f"Weights live in {weights.cache_dir()}/weights (set ADAIN_LIVE_HOME to move it); "
                                   "the bundled model lives in models/.")
    wsub = p.add_subparsers(dest="weights_command", metavar="ACTION", required=True)
    ls = wsub.add_parser("list", help="known weight sets and whether they are installed")
    ls.set_defaults(run=run_list)
    dl = wsub.add_parser("download", help="download a weight set into the cache (needs internet)")
    dl.add_argument("name", choices=[n for n, ws in weights.REGISTRY.items() if not ws.bundled])
    dl.add_argument("--mirror", help="base URL to fetch the files from instead of the official release")
    dl.set_defaults(run=run_download)
    im = wsub.add_parser("import", help="verify weight files you already have and copy them into the cache")
    im.add_argument("files", nargs="+", type=Path, metavar="PATH",
                    help="vgg_normalised.pth and/or decoder.pth (the role is detected from the contents)")
    im.add_argument("--name", default=weights.CANONICAL.name, help="weight set to import into")
    im.set_defaults(run=run_import)


def run_list(args: argparse.Namespace) -> int:
    """Print the registry with install status."""
    try:
        default = weights.default_set().name
    except weights.WeightsError:
        default = None
    for ws in weights.REGISTRY.values():
        state = "installed" if weights.is_available(ws) else "not installed"
        if ws.bundled and not weights.is_available(ws):
            state = "not bundled in this copy"
        mark = " (default)" if ws.name == default else ""
        print(f"{ws.name}{mark}: {state}")
        print(f"    {ws.description}")
        print(f"    location: {weights.set_dir(ws)}")
        for f in ws.files:
            size = f" (~{f.approx_mb:.0f} MB)" if f.approx_mb else ""
            print(f"    {f.role}: {f.filename}{size}" + (f"  <- {f.url}" if f.url else ""))
        if ws.bundled:
            for line in _bundled_summary(ws):
                print(f"    {line}")
        print(f"    licence: {ws.licence}")
    if default is not None:
        order = [ws.name for ws in weights.DEFAULT_ORDER]
        skipped = order[: order.index(default)]  # preferred sets that are not installed
        why = f"{' and '.join(skipped)} not installed" if skipped else "the first choice, and installed"
        print(f"default: {default} ({why}; choose another with --model NAME)")
    if default is None:
        print("no model is available: run `adain-live weights download adain-vgg19` or `adain-live weights import`")
    return 0


def _bundled_summary(ws: weights.WeightSet) -> list[str]:
    """Status, quality and measured speed lines from a bundled set's manifest."""
    man = weights.manifest(ws)
    if man is None:
        return [f"status: no manifest in {weights.set_dir(ws)}"]
    lines = []
    parts = [f"{k}={man[k]}" for k in ("status", "iterations", "device") if k in man]
    agree = man.get("teacher_agreement")
    if isinstance(agree, dict) and "psnr_db" in agree:
        parts.append(f"{agree['psnr_db']} dB PSNR / SSIM {agree.get('ssim')} vs its teacher (MicroAST)")
    if parts:
        lines.append("status: " + ", ".join(parts))
    if isinstance(man.get("status_note"), str):
        lines.append(str(man["status_note"]))
    measured = man.get("measured")
    if isinstance(measured, dict):
        if isinstance(measured.get("summary"), str):
            lines.append(f"measured: {measured['summary']}")
        if isinstance(measured.get("command"), str):
            lines.append(f"  (by `{measured['command']}`)")
    return lines


def run_download(args: argparse.Namespace) -> int:
    """Download with a progress bar."""
    bars: dict[str, tqdm] = {}

    def progress(got: int, total: int | None) -> None:
        bar = bars.setdefault("cur", tqdm(total=total, unit="B", unit_scale=True, disable=args.quiet))
        bar.update(got - bar.n)

    done = []
    try:
        for path in weights.download(args.name, mirror=args.mirror, progress=progress):
            bars.pop("cur", tqdm(disable=True)).close()
            done.append(path)
    finally:
        for bar in bars.values():
            bar.close()
    if not args.quiet:
        print(f"downloaded and verified {', '.join(p.name for p in done)} into {done[0].parent}")
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Verify and copy files into the cache."""
    copied = weights.import_files(args.files, args.name)
    if not args.quiet:
        print(f"imported {', '.join(p.name for p in copied)} into {copied[0].parent}")
        ws = weights.get(args.name)
        if not weights.is_available(ws):
            missing = [f.filename for f in ws.files if not (weights.set_dir(ws) / f.filename).is_file()]
            print(f"{ws.name} still needs {', '.join(missing)}")
    return 0
