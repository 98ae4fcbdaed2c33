from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from training.logs import RunLog, read_log, sample_grid


def test_csv_plot_and_samples_appear(tmp_path: Path) -> None:
    with RunLog(tmp_path, total=30, plot_every=10, progress=False, tensorboard=False) as runlog:
        for it in range(5, 31, 5):
            runlog.step(5)
            runlog.log(it, {"content": 1.0 / it, "style": 2.0 / it}, lr=1e-4, images_per_s=12.5)
        grid = sample_grid(torch.rand(2, 3, 16, 16), torch.rand(3, 3, 16, 16), torch.rand(2, 3, 3, 16, 16))
        path = runlog.save_samples(30, grid)
    names, rows = read_log(tmp_path / "log.csv")
    assert names == ["iteration", "content", "style", "lr", "images_per_s"]
    assert [r["iteration"] for r in rows] == [5, 10, 15, 20, 25, 30]
    assert Image.open(tmp_path / "loss.png").size[0] > 400
    assert path.name == "iter_0000030.jpg" and (tmp_path / "samples" / "latest.jpg").is_file()
    assert Image.open(path).size == (4 * 18 + 2, 3 * 18 + 2)  # (1 + styles) x (1 + contents) cells


def test_resume_drops_rows_after_the_checkpoint(tmp_path: Path) -> None:
    with RunLog(tmp_path, total=40, progress=False, tensorboard=False) as runlog:
        for it in (10, 20, 30):
            runlog.log(it, {"loss": float(it)}, lr=1e-4, images_per_s=1.0)
    with RunLog(tmp_path, total=40, start=20, progress=False, tensorboard=False) as runlog:
        runlog.log(30, {"loss": 99.0}, lr=1e-4, images_per_s=1.0)
    _, rows = read_log(tmp_path / "log.csv")
    assert [(r["iteration"], r["loss"]) for r in rows] == [(10, 10.0), (20, 20.0), (30, 99.0)]
