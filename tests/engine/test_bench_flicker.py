"""``adain-live bench --flicker``: a warping-error column per size."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest

from adain_live.cli import bench_cmd
from adain_live.engine import bench


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench_cmd.add_parser(parser.add_subparsers())
    return parser.parse_args(argv)


@pytest.mark.parametrize("model", ["random", "random-microast"])
def test_flicker_flag_adds_a_finite_positive_column(model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(bench, "style_images", lambda n, s=512: [("tiny", np.full((24, 24, 3), 90, np.uint8))])
    argv = ["bench", "--sizes", "64x48", "--device", "cpu", "--precision", "fp32", "--frames", "1", "--warmup",
            "0", "--no-reference", "--no-compile", "--model", model, "--json", str(tmp_path / "r.json")]
    args = _parse(argv)
    assert args.run(args) == 0
    plain = capsys.readouterr().out
    assert "flicker" not in plain and "flicker" not in json.loads((tmp_path / "r.json").read_text())["results"][0]
    args = _parse([*argv, "--flicker"])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    header, _, row = (line for line in out.splitlines() if line.startswith("|"))
    assert header.endswith("| flicker (off/flow) |") and header.count("|") == row.count("|")
    off, flow = (float(v) for v in row.rstrip(" |").rsplit("|", 1)[1].split("/"))
    data = json.loads((tmp_path / "r.json").read_text())["results"][0]["flicker"]
    assert data["off"] == pytest.approx(off, abs=1e-6) and data["flow"] == pytest.approx(flow, abs=1e-6)
    for v in data.values():
        assert math.isfinite(v) and v > 0
    assert data["flow"] < data["off"]  # the stabiliser steadies this pan
