from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from adain_live.cli import bench_cmd
from adain_live.core.model import AdaINModel
from adain_live.engine import bench
from adain_live.engine import pipeline as pipeline_module
from adain_live.engine.fastpaths import FrameKey, NamedRunner, Runner
from adain_live.errors import UserError

TINY = bench.BenchConfig(sizes=((40, 32),), frames=2, warmup=0, quality_size=24, quality_styles=1, style_size=24)


def test_run_reports_both_pipelines_and_agreement() -> None:
    seen: list[str] = []
    report = bench.run(AdaINModel.random(), torch.device("cpu"), torch.bfloat16, TINY, seen.append)
    (row,) = report["results"]
    assert row["size"] == "40x32"
    for name in ("reference", "ours"):
        t = row[name]
        assert t["fps"] > 0 and t["median_ms"] > 0 and t["p99_ms"] >= t["median_ms"] and t["first_ms"] > 0
    assert row["ours"]["stream_fps"] > 0 and row["ours"]["path"] == "eager"
    assert row["ratio"] == pytest.approx(row["ours"]["fps"] / row["reference"]["fps"])
    (agree,) = report["agreement"]
    assert agree["psnr_db"] > 30  # bf16 vs fp32 on a real photo
    assert any("reference" in m for m in seen)
    table = bench.markdown_table(report)
    assert "| 40x32 |" in table and "bf16 vs fp32 agreement" in table


def test_reference_pipeline_is_host_float_in_and_out() -> None:
    style = bench.style_images(1, 24)[0][1]
    ref = bench.ReferencePipeline(AdaINModel.random(), torch.device("cpu"), style)
    out = ref(torch.rand(1, 3, 32, 40))
    assert out.device.type == "cpu" and out.dtype == torch.float32 and out.shape == (1, 3, 32, 40)


def test_psnr_and_content_frames() -> None:
    a = np.zeros((4, 4, 3), np.uint8)
    assert math.isinf(bench.psnr(a, a))
    assert bench.psnr(a, a + 1) == pytest.approx(48.13, abs=0.01)
    frames = bench.content_frame(20, 10, batch=2)
    assert frames.shape == (2, 10, 20, 3) and frames.dtype == np.uint8 and frames.std() > 10


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="frames must be at least 1"):
        bench.BenchConfig(frames=0)
    with pytest.raises(ValueError, match="at least one size"):
        bench.BenchConfig(sizes=())


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench_cmd.add_parser(parser.add_subparsers())
    return parser.parse_args(argv)


def test_cli_writes_json_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    args = _parse(["bench", "--sizes", "32x24", "--device", "cpu", "--precision", "fp32", "--frames", "1",
                   "--warmup", "0", "--no-reference", "--no-compile", "--json", str(tmp_path / "r.json"),
                   "--markdown", str(tmp_path / "r.md")])
    monkeypatch.setattr(bench, "style_images", lambda n, s=512: [("tiny", np.full((24, 24, 3), 90, np.uint8))])
    assert args.run(args) == 0
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["meta"]["dtype"] == "fp32" and data["meta"]["model"] == "random"
    assert "agreement" not in data and "reference" not in data["results"][0]
    assert "| 32x24 |" in capsys.readouterr().out
    assert (tmp_path / "r.md").read_text().startswith(data["meta"]["device_name"])


def test_cli_rejects_bad_sizes() -> None:
    args = _parse(["bench", "--sizes", "720p", "--device", "cpu"])
    with pytest.raises(UserError, match="WIDTHxHEIGHT"):
        args.run(args)


def test_table_names_the_path_and_a_dropped_fast_path(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    def wrong(net: object, params: object, key: FrameKey, *args: object, **kwargs: object) -> Runner:
        return NamedRunner(lambda u8: torch.zeros((key.shape[0], *key.out, 3), dtype=torch.uint8), "compiled")

    monkeypatch.setattr(pipeline_module, "make_runner", wrong)  # a deliberately wrong "compiled" runner
    monkeypatch.setattr(bench, "style_images", lambda n, s=512: [("tiny", np.full((24, 24, 3), 90, np.uint8))])
    args = _parse(["bench", "--sizes", "32x24", "--device", "cpu", "--precision", "fp32", "--frames", "1",
                   "--warmup", "0", "--no-reference", "--compile"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "| eager (compiled dropped) |" in out
    assert "32x24: fast path dropped: it agrees with eager at" in out
    plain = bench.run(AdaINModel.random(), torch.device("cpu"), torch.float32,
                      bench.BenchConfig(sizes=((32, 24),), frames=1, warmup=0, reference=False, quality=False))
    assert "| eager |" in bench.markdown_table(plain)
