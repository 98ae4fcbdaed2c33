from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from adain_live.core.checkpoint import load_decoder
from adain_live.core.model import AdaINModel
from training.logs import read_log
from training.schedule import lr_at
from training.train import DecoderTrainer, build_parser, main


def _args(dirs: tuple[Path, Path], vgg: Path, out: Path, *extra: str) -> list[str]:
    return ["--content-dir", str(dirs[0]), "--style-dir", str(dirs[1]), "--vgg", str(vgg), "--out", str(out),
            "--batch", "2", "--crop", "32", "--resize", "40", "--workers", "0", "--log-every", "1",
            "--sample-every", "2", "--save-every", "100", "--no-progress", "--lr", "2e-4", *extra]


def test_train_writes_run_folder_and_export_loads_in_app(image_dirs: tuple[Path, Path], vgg_file: Path,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(_args(image_dirs, vgg_file, out, "--iterations", "3", "--export-pth")) == 0
    for name in ("checkpoint.pt", "decoder.safetensors", "decoder.pth", "log.csv", "loss.png", "config.json",
                 "samples/iter_0000002.jpg", "samples/iter_0000003.jpg", "samples/latest.jpg"):
        assert (out / name).is_file(), name
    names, rows = read_log(out / "log.csv")
    assert names == ["iteration", "content", "style", "total", "lr", "images_per_s"] and len(rows) == 3
    config = json.loads((out / "config.json").read_text())
    assert config["skipped_files"] == 2 and config["content_images"] == 5
    decoder = load_decoder(out / "decoder.safetensors")
    pth = torch.load(out / "decoder.pth", weights_only=True)
    assert set(pth) == set(decoder.state_dict()) and "1.weight" in pth
    model = AdaINModel(None, decoder)
    stats = model.style_stats(torch.rand(1, 3, 32, 32))
    out_img = model.stylize(torch.rand(1, 3, 30, 34), stats)
    assert out_img.shape == (1, 3, 30, 34) and torch.isfinite(out_img).all()


def test_ctrl_c_then_resume_is_bit_for_bit(image_dirs: tuple[Path, Path], vgg_file: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    straight, split = tmp_path / "straight", tmp_path / "split"
    quick = ("--sample-every", "0", "--crop", "24", "--iterations", "4")
    assert main(_args(image_dirs, vgg_file, straight, *quick)) == 0

    step = DecoderTrainer.step

    def step_then_ctrl_c(self: DecoderTrainer) -> tuple[torch.Tensor, torch.Tensor]:
        losses = step(self)
        if self.iteration == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return losses

    monkeypatch.setattr(DecoderTrainer, "step", step_then_ctrl_c)
    assert main(_args(image_dirs, vgg_file, split, *quick)) == 130  # stopped after iteration 2, saved
    assert torch.load(split / "checkpoint.pt", weights_only=True)["iteration"] == 2
    monkeypatch.setattr(DecoderTrainer, "step", step)
    assert main(_args(image_dirs, vgg_file, split, *quick, "--resume")) == 0
    a, b = load_file(straight / "decoder.safetensors"), load_file(split / "decoder.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)
    rows_a, rows_b = read_log(straight / "log.csv")[1], read_log(split / "log.csv")[1]
    assert [(r["iteration"], r["content"], r["style"]) for r in rows_a] == \
        [(r["iteration"], r["content"], r["style"]) for r in rows_b]


@pytest.mark.parametrize("case", ["empty_content", "missing_style", "existing_run", "resume_nothing", "bad_vgg"])
def test_bad_input_is_one_line_exit_2(image_dirs: tuple[Path, Path], vgg_file: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str], case: str) -> None:
    dirs, vgg, out, extra = image_dirs, vgg_file, tmp_path / "run", ["--iterations", "1"]
    if case == "empty_content":
        (tmp_path / "empty").mkdir()
        dirs = (tmp_path / "empty", dirs[1])
    elif case == "missing_style":
        dirs = (dirs[0], tmp_path / "nope")
    elif case == "existing_run":
        out.mkdir()
        (out / "checkpoint.pt").write_bytes(b"x")
    elif case == "resume_nothing":
        extra.append("--resume")
    else:
        vgg = tmp_path / "vgg.pth"
        torch.save({"x": torch.zeros(1)}, vgg)
    assert main(_args(dirs, vgg, out, *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("extra", [("--precision", "bf16"), ("--precision", "bf16", "--compile"),
                                   ("--precision", "fp16")])
def test_gpu_training_paths(image_dirs: tuple[Path, Path], vgg_file: Path, tmp_path: Path,
                            extra: tuple[str, ...]) -> None:
    out = tmp_path / "run"
    args = _args(image_dirs, vgg_file, out, "--iterations", "3", "--device", "cuda", *extra)
    assert main(args) == 0
    _, rows = read_log(out / "log.csv")
    assert len(rows) == 3 and all(r["content"] > 0 and r["style"] > 0 for r in rows)
    assert main([*args, "--iterations", "4", "--resume"]) == 0  # resumes on the GPU (fused Adam state, CUDA RNG)
    assert torch.isfinite(torch.stack([v.float().sum() for v in load_decoder(out / "decoder.safetensors")
                                       .state_dict().values()])).all()


def test_epochs_count_content_images(image_dirs: tuple[Path, Path], vgg_file: Path, tmp_path: Path) -> None:
    args = build_parser().parse_args(_args(image_dirs, vgg_file, tmp_path / "run", "--epochs", "2"))
    trainer = DecoderTrainer(args)
    assert trainer.total == 5  # ceil(2 epochs * 5 readable content images / batch 2)
    assert [g["lr"] for g in trainer.opt.param_groups] == [2e-4]
    assert lr_at(1e-4, 20_000, decay=5e-5) == pytest.approx(5e-5)
