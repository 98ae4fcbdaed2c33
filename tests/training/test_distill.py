"""Distillation: student semantics, loss, overfitting one batch, the CLI with resume/init, export round trip."""

from __future__ import annotations

import hashlib
import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from adain_live.core import AdaINModel
from adain_live.core.checkpoint import load_decoder, load_encoder
from training import distill
from training.logs import read_log
from training.student import (
    DECODER_FILE,
    ENCODER_FILE,
    MANIFEST_FILE,
    distill_loss,
    export_student,
    new_student,
    sample_alpha,
    student_forward,
    teacher_target,
)
from training.teacher import TEACHER_FILES, MicroAST


def write_images(folder: Path, count: int, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        img = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize((72, 56))
        img.save(folder / f"im{i}.jpg")


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    write_images(tmp_path / "content", 5, seed=1)
    write_images(tmp_path / "style", 5, seed=2)
    torch.manual_seed(0)
    teacher = MicroAST()
    (tmp_path / "teacher").mkdir()
    for part, name in TEACHER_FILES.items():
        torch.save(getattr(teacher, part).state_dict(), tmp_path / "teacher" / name)
    return {"root": tmp_path, "content": tmp_path / "content", "style": tmp_path / "style",
            "teacher": tmp_path / "teacher"}


def cli(setup: dict[str, Path], out: str, *extra: str) -> list[str]:
    return ["--content-dir", str(setup["content"]), "--style-dir", str(setup["style"]), "--teacher",
            str(setup["teacher"]), "--out", str(setup["root"] / out), "--batch", "2", "--crop", "32",
            "--max-side", "48", "--val-count", "1", "--device", "cpu", "--eval-every", "2", "--no-progress", *extra]


def test_student_forward_matches_model_stylize() -> None:
    """Training runs the exact maths of the app's per-frame path, so alpha and cached stats keep their meaning."""
    model = new_student(0).eval()
    content, style = torch.rand(1, 3, 32, 40), torch.rand(1, 3, 32, 40)
    with torch.no_grad():
        for a in (0.0, 0.4, 1.0):
            ours = student_forward(model, content, style, torch.tensor([a]))[..., :32, :40]
            ref = model.stylize(content, model.style_stats(style), a)
            torch.testing.assert_close(ours.clamp(0, 1), ref, atol=1e-5, rtol=1e-4)


def test_new_student_features_are_not_vanishing() -> None:
    model = new_student(0)
    with torch.no_grad():
        feat = model.encoder(torch.rand(1, 3, 64, 64))
    assert feat.std() > 1e-2
    assert all(p.requires_grad for p in model.encoder.parameters())


def test_alpha_sampling_and_targets() -> None:
    alpha = sample_alpha(4000, torch.Generator().manual_seed(0))
    assert 0.65 < (alpha == 1).float().mean() < 0.75 and 0.07 < (alpha == 0).float().mean() < 0.13
    assert ((alpha >= 0) & (alpha <= 1)).all()
    teacher = MicroAST().eval()
    content, style = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    target = teacher_target(teacher, content, style, torch.tensor([0.0, 1.0]))
    torch.testing.assert_close(target[0], content[0])
    torch.testing.assert_close(target[1], teacher(content[1:], style[1:], 1.0)[0])


def test_loss_is_zero_for_identical_images_and_counts_gradients() -> None:
    x = torch.rand(2, 3, 16, 16)
    assert float(distill_loss(x, x)) == 0.0
    shifted = x + 0.1
    torch.testing.assert_close(distill_loss(shifted.clamp(max=10), x, grad_weight=1.0),
                               torch.tensor(0.1), atol=1e-6, rtol=0)


@pytest.mark.slow
def test_loss_falls_when_overfitting_one_batch() -> None:
    torch.manual_seed(0)
    teacher = MicroAST().eval()
    model = new_student(0)
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    content, style = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    alpha = torch.tensor([1.0, 0.5])
    target = teacher_target(teacher, content, style, alpha)
    losses = []
    for _ in range(40):
        loss = distill_loss(student_forward(model, content, style, alpha), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:5]) / 5


def test_cli_runs_resumes_and_exports(setup: dict[str, Path]) -> None:
    assert distill.main(cli(setup, "run", "--iterations", "2")) == 0
    run = setup["root"] / "run"
    manifest = json.loads((run / "export" / MANIFEST_FILE).read_text())
    assert manifest["iterations"] == 2 and manifest["device"] == "cpu"
    assert "validation_psnr_db" in manifest and manifest["training_command"].startswith("python -m training.distill")
    assert distill.main(cli(setup, "run", "--iterations", "4", "--resume")) == 0
    saved = torch.load(run / "checkpoint.pt", weights_only=True)
    assert saved["iteration"] == 4 and {"encoder", "decoder", "optimizer", "data", "run"} <= set(saved["objects"])
    assert saved["format"] == 1 and "rng" in saved
    assert (run / "log.csv").read_text().count("\n") == 3  # header + iterations 2 and 4


def test_ctrl_c_then_resume_is_bit_for_bit(setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A distillation checkpoint resumes exactly like a training one: same weights, Adam state and log."""
    assert distill.main(cli(setup, "straight", "--iterations", "4")) == 0
    step = distill.DistillTrainer.train_step

    def step_then_ctrl_c(self: distill.DistillTrainer, progress: float) -> float:
        loss = step(self, progress)
        if self.iteration == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return loss

    monkeypatch.setattr(distill.DistillTrainer, "train_step", step_then_ctrl_c)
    assert distill.main(cli(setup, "split", "--iterations", "4")) == 130  # stopped after iteration 2, saved
    monkeypatch.setattr(distill.DistillTrainer, "train_step", step)
    assert distill.main(cli(setup, "split", "--iterations", "4", "--resume")) == 0
    a, b = (torch.load(setup["root"] / run / "checkpoint.pt", weights_only=True)["objects"]
            for run in ("straight", "split"))
    for part in ("encoder", "decoder"):
        assert all(torch.equal(a[part][k], b[part][k]) for k in a[part]), part
    assert a["optimizer"]["param_groups"] == b["optimizer"]["param_groups"]
    sa, sb = a["optimizer"]["state"], b["optimizer"]["state"]
    assert sa.keys() == sb.keys() and sa  # Adam state for every parameter
    for i in sa:  # step count and both moments, bit for bit
        assert sa[i].keys() == sb[i].keys() == {"step", "exp_avg", "exp_avg_sq"}
        assert all(torch.equal(sa[i][k], sb[i][k]) for k in sa[i]), f"Adam state of parameter {i}"
    assert a["data"] == b["data"] and a["run"]["best_iteration"] == b["run"]["best_iteration"]
    rows = [read_log(setup["root"] / run / "log.csv")[1] for run in ("straight", "split")]
    assert [(r["iteration"], r["loss"]) for r in rows[0]] == [(r["iteration"], r["loss"]) for r in rows[1]]


def test_run_folder_rules_are_the_training_ones(setup: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert distill.main(cli(setup, "fresh", "--iterations", "1", "--resume")) == 2
    assert "no checkpoint" in capsys.readouterr().err
    assert distill.main(cli(setup, "fresh", "--iterations", "1")) == 0
    assert distill.main(cli(setup, "fresh", "--iterations", "2")) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_cli_init_from_export_continues_the_iteration_count(setup: dict[str, Path]) -> None:
    assert distill.main(cli(setup, "first", "--iterations", "2")) == 0
    assert distill.main(cli(setup, "second", "--iterations", "3", "--init",
                            str(setup["root"] / "first" / "export"))) == 0
    manifest = json.loads((setup["root"] / "second" / "export" / MANIFEST_FILE).read_text())
    assert manifest["iterations"] == 3


def test_time_limit_stops_and_still_exports(setup: dict[str, Path]) -> None:
    assert distill.main(cli(setup, "quick", "--time-limit", "0.01")) == 0
    assert (setup["root"] / "quick" / "export" / ENCODER_FILE).is_file()


def test_bad_teacher_folder_is_a_one_line_error(setup: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = cli(setup, "bad", "--iterations", "1")
    args[args.index("--teacher") + 1] = str(setup["root"])
    assert distill.main(args) == 2
    assert "teacher file" in capsys.readouterr().err


def test_export_loads_in_the_app_and_stylizes(tmp_path: Path) -> None:
    model = new_student(3)
    manifest = export_student(model, tmp_path, {"iterations": 7, "status": "test"})
    for part, name in (("encoder", ENCODER_FILE), ("decoder", DECODER_FILE)):
        data = (tmp_path / name).read_bytes()
        assert len(data) < 16 * 2**20
        assert manifest["files"][part]["sha256"] == hashlib.sha256(data).hexdigest()
    app = AdaINModel(load_encoder(tmp_path / ENCODER_FILE), load_decoder(tmp_path / DECODER_FILE)).eval()
    content, style = torch.rand(1, 3, 40, 48), torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        out = app.stylize(content, app.style_stats(style), 0.7)
        ref = model.eval().stylize(content, model.style_stats(style), 0.7)
    assert out.shape == content.shape and torch.isfinite(out).all()
    assert (out - ref).abs().max() < 0.05  # fp16 storage only


def test_ssim_and_psnr_of_identical_and_different_images() -> None:
    from training.evaluate import ssim
    from training.validation import psnr

    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(ssim(x, x), torch.ones(2))
    assert (ssim(x, torch.rand(2, 3, 32, 32)) < 0.2).all()
    assert (psnr(x, x) >= 99).all() and psnr(x, (x + 0.1).clamp(0, 1)).mean() < 21


def test_evaluate_writes_grid_and_manifest(setup: dict[str, Path]) -> None:
    from training import evaluate

    root = setup["root"]
    export_student(new_student(0), root / "student", {"iterations": 1})
    eval_dir = root / "eval"
    write_images(eval_dir / "content", 2, seed=5)
    write_images(eval_dir / "style", 3, seed=6)
    grid = root / "docs" / "grid.jpg"
    assert evaluate.main(["--student", str(root / "student"), "--teacher", str(setup["teacher"]), "--eval-dir",
                          str(eval_dir), "--grid", str(grid), "--manifest", str(root / "student" / MANIFEST_FILE),
                          "--speed-runs", "0", "--device", "cpu"]) == 0
    assert 0 < grid.stat().st_size < 1_500_000 and grid.with_name("grid_alpha.jpg").is_file()
    with Image.open(grid) as im:
        assert im.width > im.height / 3
    manifest = json.loads((root / "student" / MANIFEST_FILE).read_text())
    assert manifest["teacher_agreement"]["pairs"] == 6 and manifest["iterations"] == 1
    assert 0 < manifest["teacher_agreement"]["psnr_db"] < 60
