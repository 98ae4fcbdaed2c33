"""``adain-live stylize``: stylize images and folders of images."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from adain_live._fs import IMAGE_SUFFIXES, image_suffix_list, list_images
from adain_live.assets import DEMO_CONTENT, DEMO_STYLE
from adain_live.cli.common import add_model_args, add_style_args, build_pipeline, load_styles, style_config
from adain_live.cli.mask_args import add_mask_args, check_mask_args, install_region, mask_files
from adain_live.core.codes import StyleCode
from adain_live.engine.pipeline import StylePipeline
from adain_live.errors import UserError
from adain_live.media.images import read_image, write_image

log = logging.getLogger(__name__)

DEMO_OUTPUT = Path("adain-live-demo.png")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "stylize", help="stylize images or folders of images",
        description="Stylize images (or every image in folders). One style gives one output per image; several "
                    "-s give one output per style, or one blended output with --mix, or a foreground/background "
                    "split with --mask (person, background or a mask image; see --mask).")
    p.add_argument("inputs", nargs="*", type=Path, metavar="INPUT", help="image files or folders of images")
    p.add_argument("-o", "--output", type=Path,
                   help="output file (one input and one result) or folder (created if needed)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace existing output files (an input, style or mask image is never replaced)")
    p.add_argument("--demo", action="store_true",
                   help=f"stylize the bundled sample image with a bundled style (writes {DEMO_OUTPUT})")
    add_style_args(p)
    add_mask_args(p)
    add_model_args(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run ``adain-live stylize``."""
    overwrite = args.overwrite
    if args.demo:
        args.inputs = args.inputs or [DEMO_CONTENT]
        args.style = args.style or [DEMO_STYLE]
        if args.output is None:  # the demo's own output file is replaced on every run
            args.output, overwrite = DEMO_OUTPUT, True
    cfg = style_config(args)
    inputs = collect_inputs(args.inputs)
    if not args.style:
        raise UserError("no style given; add -s STYLE_IMAGE (repeat for several styles), or try --demo")
    check_mask_args(args)
    blended = cfg.mix is not None or args.mask is not None or len(args.style) == 1
    style_names = ["mix" if cfg.mix else Path(args.style[0]).stem] if blended else [s.stem for s in args.style]
    jobs = plan_outputs(inputs, style_names, args.output)
    protected = [*inputs, *args.style, *mask_files(args)]
    check_outputs([dst for _, _, dst in jobs], protected, overwrite)
    pipe = build_pipeline(args, cfg, output_size="processing")
    stats = load_styles(pipe, list(args.style), cfg.style_size)
    install_region(pipe, args, stats)
    # With a mask the pipeline's styles are fixed above; otherwise each job's style is installed as needed.
    styles = None if args.mask is not None else [stats] if blended else [[s] for s in stats]
    folder = None if len(jobs) == 1 and jobs[0][2] == args.output else args.output
    made = folder is not None and not folder.exists()
    if folder is not None:
        _make_folder(folder)
    failures = _run_jobs(pipe, jobs, styles, cfg.mix, quiet=args.quiet)
    if made and failures == len(jobs) and folder is not None and not any(folder.iterdir()):
        folder.rmdir()  # nothing was written: leave no empty folder behind
    if failures:
        raise UserError(f"{failures} of {len(jobs)} images failed (see the messages above)")
    if not args.quiet:
        where = jobs[0][2] if len(jobs) == 1 else jobs[0][2].parent
        print(f"wrote {len(jobs)} image(s) to {where} ({pipe.describe()})")
    return 0


def _run_jobs(pipe: StylePipeline, jobs: list[tuple[Path, int, Path]], styles: list[list[StyleCode]] | None,
              mix: tuple[float, ...] | None, quiet: bool) -> int:
    failures = 0
    current = -1
    bar = tqdm(jobs, unit="img", disable=quiet or len(jobs) < 2, desc="stylize")
    for src, style_index, dst in bar:
        if styles is not None and current != style_index:
            pipe.set_style(styles[style_index], mix)
            current = style_index
        try:
            stylize_file(pipe, src, dst)
        except UserError as exc:
            if len(jobs) == 1:
                raise
            failures += 1
            tqdm.write(f"adain-live: error: {exc}", file=sys.stderr)
    return failures


def stylize_file(pipe: StylePipeline, src: Path, dst: Path) -> None:
    """Stylize one image file into ``dst``; alpha (if any) is carried over unchanged."""
    rgb, alpha = read_image(src)
    out = pipe(rgb)
    if alpha is not None and alpha.shape != out.shape[:2]:
        alpha = np.asarray(Image.fromarray(alpha).resize((out.shape[1], out.shape[0]), Image.BILINEAR))
    write_image(dst, out, alpha)


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create output folder {folder} ({exc.strerror}); choose another -o") from None


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and a.samefile(b)
    except OSError:
        return False


def check_outputs(outputs: list[Path], protected: list[Path], overwrite: bool) -> None:
    """Refuse before any work: two results under one name, an output that is an input image, an existing file.

    ``protected`` (content, style and mask images) are never replaced; other existing files only with
    ``overwrite``.
    """
    if len(set(outputs)) != len(outputs):
        raise UserError("two inputs have the same name, so their results would overwrite each other; "
                        "stylize them in separate runs or rename one")
    for dst in outputs:
        for src in protected:
            if _same(dst, src):
                raise UserError(f"output {dst} is the input image {src}: choose another -o")
        if dst.is_dir():
            raise UserError(f"output {dst} is a folder: choose another -o")
        if dst.exists() and not overwrite:
            raise UserError(f"{dst} already exists: remove it, choose another -o or pass --overwrite")


def collect_inputs(items: list[Path]) -> list[Path]:
    """Expand folders into their image files (sorted); missing paths are a one-line error."""
    if not items:
        raise UserError("no input given; pass image files or folders (or try --demo)")
    files: list[Path] = []
    for item in items:
        if item.is_dir():
            found = list_images(item)
            if not found:
                raise UserError(f"folder {item} has no images ({image_suffix_list()})")
            files += found
        elif item.is_file():
            files.append(item)
        else:
            raise UserError(f"input not found: {item}")
    return files


def plan_outputs(inputs: list[Path], style_names: list[str], output: Path | None) -> list[tuple[Path, int, Path]]:
    """(input, style index, output path) per result; ``output`` is a file for a single result, else a folder."""
    if output is None:
        raise UserError("give -o OUT: a file for one result, or a folder for several")
    n = len(inputs) * len(style_names)
    if output.suffix and output.suffix.lower() not in IMAGE_SUFFIXES and not output.is_dir():
        raise UserError(f"-o {output}: {output.suffix} is not an image format we write ({image_suffix_list()}); "
                        "for a folder of results give a name without an extension")
    if output.exists() and not output.is_dir() and (n > 1 or output.suffix.lower() not in IMAGE_SUFFIXES):
        raise UserError(f"-o {output} is an existing file: give a folder for {n} result(s) or an image file name")
    single_file = n == 1 and output.suffix.lower() in IMAGE_SUFFIXES and not output.is_dir()
    if n > 1 and output.suffix.lower() in IMAGE_SUFFIXES and not output.is_dir():
        raise UserError(f"{n} results would be written but -o {output} is a single file; give a folder")
    jobs = []
    for si, style in enumerate(style_names):
        for src in inputs:
            if single_file:
                dst = output
            else:
                suffix = src.suffix.lower() if src.suffix.lower() in {".jpg", ".jpeg", ".png"} else ".png"
                dst = output / f"{src.stem}_stylized_{style}{suffix}"
            jobs.append((src, si, dst))
    return jobs
