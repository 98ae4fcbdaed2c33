"""Run logs: a CSV of named losses, a loss-curve PNG, sample grids, a tqdm bar and optional TensorBoard.

Generic over what is trained — losses are any ``{name: float}`` mapping::

    with RunLog(run_dir, total=160_000, start=resumed_iteration) as runlog:
        for it in range(start, total):
            ...
            runlog.step()                                   # advances the progress bar
            if (it + 1) % 50 == 0:
                runlog.log(it + 1, {"content": lc, "style": ls}, lr=lr, images_per_s=ips)
            if (it + 1) % 1000 == 0:
                runlog.save_samples(it + 1, sample_grid(content, style, outputs))

Files in ``run_dir``: ``log.csv`` (iteration, the losses, lr, images_per_s), ``loss.png`` (regenerated every
``plot_every`` iterations and at the end), ``samples/iter_NNNNNNN.jpg`` and ``samples/latest.jpg``. On resume
the CSV keeps only rows up to ``start``, so it matches the checkpoint exactly.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm import tqdm

from adain_live._fs import atomic_write_path

log = logging.getLogger(__name__)

CSV_NAME = "log.csv"
PLOT_NAME = "loss.png"
SAMPLES_DIR = "samples"


def read_log(path: str | os.PathLike[str]) -> tuple[list[str], list[dict[str, float]]]:
    """Read a run's CSV: return (column names, rows as floats); empty if the file does not exist."""
    p = Path(path)
    if not p.is_file():
        return [], []
    with p.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in reader]
        return list(reader.fieldnames or []), rows


def _smooth(values: Sequence[float]) -> list[float]:
    """Exponential moving average, lighter for short curves (0.9 from 50 points on) so it does not lag."""
    weight = min(0.9, max(0.0, 1.0 - 5.0 / max(len(values), 1)))
    out, acc = [], None
    for v in values:
        acc = v if acc is None else weight * acc + (1 - weight) * v
        out.append(acc)
    return out


def plot_losses(csv_path: str | os.PathLike[str], png_path: str | os.PathLike[str], title: str = "") -> bool:
    """Draw one panel per loss column of the CSV (raw + smoothed, log scale); return False if no rows yet."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names, rows = read_log(csv_path)
    losses = [n for n in names if n not in ("iteration", "lr", "images_per_s")]
    if not rows or not losses:
        return False
    fig = Figure(figsize=(4.5 * len(losses), 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    its = [r["iteration"] for r in rows]
    for i, name in enumerate(losses):
        ax = fig.add_subplot(1, len(losses), i + 1)
        vals = [r.get(name, math.nan) for r in rows]
        ax.plot(its, vals, color="tab:blue", alpha=0.3, linewidth=0.8, label="raw")
        ax.plot(its, _smooth(vals), color="tab:blue", linewidth=1.6, label="smoothed")
        if all(v > 0 for v in vals if not math.isnan(v)):
            ax.set_yscale("log")
        ax.set_title(name if name.startswith("val_") else f"{name} loss")  # val_*: a metric
        ax.set_xlabel("iteration")
        ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title)
    _atomic_write(Path(png_path), lambda tmp: fig.savefig(tmp, format="png"))
    return True


def sample_grid(content: Tensor, style: Tensor, outputs: Tensor, pad: int = 2) -> Tensor:
    """Lay out a sample sheet: styles along the top, contents down the left, stylized pairs in the cells.

    ``content`` is (C, 3, H, W), ``style`` (S, 3, H, W), ``outputs`` (C, S, 3, H, W), all in [0, 1].
    Returns a (3, H', W') image in [0, 1] on the CPU.
    """
    from torchvision.utils import make_grid

    c, s = content.shape[0], style.shape[0]
    blank = torch.ones_like(content[:1])
    rows = [torch.cat([blank, style.to(content)])]
    rows += [torch.cat([content[i:i + 1], outputs[i].to(content)]) for i in range(c)]
    cells = torch.cat(rows).float().clamp(0, 1).cpu()
    return make_grid(cells, nrow=s + 1, padding=pad, pad_value=1.0)


def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then rename over ``path`` so readers never see a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write_path(path) as tmp:
        write(tmp)


class RunLog:
    """The logs of one run folder (see the module docstring).

    Parameters
    ----------
    run_dir
        The run folder; created if needed.
    total
        Iteration the run ends at (for the progress bar's ETA).
    start
        Iteration the run (re)starts from; CSV rows after it are dropped.
    plot_every
        Regenerate ``loss.png`` at most this often (iterations); it is always drawn at :meth:`close`.
    progress, tensorboard
        Show a tqdm bar; write TensorBoard events too (only if ``tensorboard`` is installed).
    """

    def __init__(self, run_dir: str | os.PathLike[str], total: int, start: int = 0, *, plot_every: int = 1000,
                 progress: bool = True, tensorboard: bool = True, title: str = "") -> None:
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.csv_path, self.plot_path = self.dir / CSV_NAME, self.dir / PLOT_NAME
        self.plot_every, self.title = plot_every, title
        self._last_plot = start
        self._columns, rows = read_log(self.csv_path)
        kept = [r for r in rows if r.get("iteration", 0) <= start]
        if len(kept) != len(rows) or not self._columns:
            self._rewrite(kept)
        self._bar = tqdm(total=total, initial=start, unit="it", dynamic_ncols=True, disable=not progress)
        self._tb = _tensorboard_writer(self.dir) if tensorboard else None

    def _rewrite(self, rows: list[dict[str, float]]) -> None:
        def write(tmp: Path) -> None:
            with tmp.open("w", newline="") as f:
                if self._columns:
                    w = csv.DictWriter(f, self._columns)
                    w.writeheader()
                    w.writerows({k: _fmt(v) for k, v in r.items() if k in self._columns} for r in rows)
        _atomic_write(self.csv_path, write)

    def step(self, n: int = 1) -> None:
        """Advance the progress bar by ``n`` iterations."""
        self._bar.update(n)

    def log(self, iteration: int, losses: Mapping[str, float], lr: float, images_per_s: float,
            metrics: Mapping[str, float] | None = None) -> None:
        """Append a CSV row (and TensorBoard scalars); redraw the plot if ``plot_every`` has passed.

        ``metrics`` are further columns plotted beside the losses (e.g. a validation PSNR).
        """
        row = {"iteration": float(iteration), **{k: float(v) for k, v in losses.items()},
               **{k: float(v) for k, v in (metrics or {}).items()}, "lr": float(lr),
               "images_per_s": float(images_per_s)}
        if not self._columns:
            self._columns = list(row)
            self._rewrite([])
        with self.csv_path.open("a", newline="") as f:
            writer = csv.DictWriter(f, self._columns, extrasaction="ignore")
            writer.writerow({k: _fmt(v) for k, v in row.items()})
        self._bar.set_postfix({k: f"{v:.3g}" for k, v in losses.items()} | {"img/s": f"{images_per_s:.3g}"},
                              refresh=False)
        if self._tb is not None:
            for k, v in losses.items():
                self._tb.add_scalar(f"loss/{k}", float(v), iteration)
            for k, v in (metrics or {}).items():
                self._tb.add_scalar(f"metric/{k}", float(v), iteration)
            self._tb.add_scalar("lr", lr, iteration)
            self._tb.add_scalar("images_per_s", images_per_s, iteration)
        if iteration - self._last_plot >= self.plot_every:
            self.plot()
            self._last_plot = iteration

    def plot(self) -> None:
        """Redraw ``loss.png`` from the CSV now."""
        plot_losses(self.csv_path, self.plot_path, self.title)

    def save_samples(self, iteration: int, grid: Tensor) -> Path:
        """Save a (3, H, W) [0, 1] image as ``samples/iter_NNNNNNN.jpg`` and ``samples/latest.jpg``."""
        from PIL import Image

        pixels = grid.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).cpu()
        image = Image.fromarray(pixels.numpy())
        path = self.dir / SAMPLES_DIR / f"iter_{iteration:07d}.jpg"
        for target in (path, path.with_name("latest.jpg")):
            _atomic_write(target, lambda tmp: image.save(tmp, format="JPEG", quality=92))
        if self._tb is not None:
            self._tb.add_image("samples", grid, iteration)
        return path

    def write(self, message: str) -> None:
        """Print a line without breaking the progress bar."""
        self._bar.write(message)

    def close(self) -> None:
        """Draw the final plot, close the bar and TensorBoard (idempotent)."""
        if self._bar is not None:
            self.plot()
            self._bar.close()
            self._bar = None  # type: ignore[assignment]
        if self._tb is not None:
            self._tb.close()
            self._tb = None

    def __enter__(self) -> RunLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() and abs(v) < 2**53 else f"{v:.6g}"


def _tensorboard_writer(run_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(log_dir=str(run_dir / "tensorboard"))
