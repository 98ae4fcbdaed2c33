"""``adain-live batch``: plan, resume, keep going on broken files, identical outputs from workers and Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from adain_live.cli import main
from adain_live.engine.batch import REPORT_NAME, BatchSettings, Manifest, plan
from adain_live.engine.batch_exec import prepare
from adain_live.media.synth import make_test_video, pattern


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("batch_in")
    (d / "in").mkdir()
    (d / "styles").mkdir()
    make_test_video(d / "in" / "a.mp4", size=(48, 32), frames=4, rate=Fraction(25))
    make_test_video(d / "in" / "b.mp4", size=(40, 32), frames=3, rate=Fraction(30000, 1001))
    Image.fromarray(pattern(36, 28, 5)).save(d / "in" / "c.png")
    Image.fromarray(pattern(32, 32, 17)[:, ::-1].copy()).save(d / "styles" / "s1.png")
    Image.fromarray(pattern(32, 32, 3)).save(d / "styles" / "s2.jpg")
    return {"in": d / "in", "styles": d / "styles"}


def _argv(data: dict[str, Path], canonical_files: tuple[Path, Path], out: Path, *extra: str) -> list[str]:
    vgg, dec = canonical_files
    return ["-q", "batch", str(data["in"]), "-s", str(data["styles"]), "-o", str(out), "--size", "32",
            "--style-size", "32", "--vgg", str(vgg), "--decoder", str(dec), "--device", "cpu", "--precision",
            "fp32", "--batch", "2", *extra]


def _frames(path: Path) -> list[np.ndarray]:
    if path.suffix == ".png":
        return [np.asarray(Image.open(path))]
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _report(out: Path) -> dict[str, object]:
    return json.loads((out / REPORT_NAME).read_text())


def _visible(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_plan_names_every_input_times_style(tmp_path: Path) -> None:
    inputs = [Path("x/a.mp4"), Path("y/a.mp4"), Path("c.png")]
    jobs = plan(inputs, [Path("s/wave.jpg")], tmp_path / "out", BatchSettings(codec="vp9"))
    assert [j.name for j in jobs] == ["a__wave.webm", "a__wave-2.webm", "c__wave.png"]
    assert [j.kind for j in jobs] == ["video", "video", "image"]


def test_settings_digest_ignores_speed_only_options() -> None:
    a = BatchSettings(device="cpu", batch=1, threads=1).output_digest()
    assert a == BatchSettings(device="cuda", batch=8, threads=4).output_digest()
    assert a != BatchSettings(alpha=0.5).output_digest()
    with pytest.raises(ValueError, match="alpha"):
        BatchSettings(alpha=float("nan"))


def test_batch_writes_every_job_then_a_rerun_skips(data: dict[str, Path], canonical_files: tuple[Path, Path],
                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(_argv(data, canonical_files, out)) == 0
    names = ["a__s1.mp4", "a__s2.mp4", "b__s1.mp4", "b__s2.mp4", "c__s1.png", "c__s2.png", REPORT_NAME]
    assert _visible(out) == sorted(names)
    report = _report(out)
    assert report["summary"] == {"jobs": 6, "done": 6, "skipped": 0, "failed": 0, "partial": 0, "cancelled": 0}
    rows = {Path(r["output"]).name: r for r in report["jobs"]}  # type: ignore[index, union-attr]
    assert rows["a__s1.mp4"]["frames"] == 4 and rows["b__s2.mp4"]["frames"] == 3
    assert len(_frames(out / "a__s1.mp4")) == 4
    assert not np.array_equal(_frames(out / "a__s1.mp4")[0], _frames(out / "a__s2.mp4")[0])  # styles differ
    before = {n: (out / n).stat().st_mtime_ns for n in names[:-1]}

    assert main(_argv(data, canonical_files, out)) == 0
    assert _report(out)["summary"]["skipped"] == 6  # type: ignore[index]
    assert {n: (out / n).stat().st_mtime_ns for n in names[:-1]} == before  # nothing rewritten

    # another alpha is another output: existing files are not replaced without --overwrite
    assert main(_argv(data, canonical_files, out, "--alpha", "0.5")) == 1
    assert _report(out)["summary"]["failed"] == 6  # type: ignore[index]
    assert main(_argv(data, canonical_files, out, "--alpha", "0.5", "--overwrite")) == 0
    assert _report(out)["summary"]["done"] == 6  # type: ignore[index]


def test_changed_input_is_redone(data: dict[str, Path], tmp_path: Path) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    img = inp / "p.png"
    Image.fromarray(pattern(20, 20, 1)).save(img)
    s = BatchSettings(device="cpu")
    jobs = plan([img], [data["styles"] / "s1.png"], tmp_path / "out", s)
    (tmp_path / "out").mkdir()
    m = Manifest(tmp_path / "out")
    prep = prepare(jobs, s, m)
    assert len(prep.todo) == 1
    jobs[0].output.write_bytes(b"x")
    m.record(jobs[0], prep.todo[0][1])
    assert prepare(jobs, s, Manifest(tmp_path / "out")).decided[0].status == "skipped"
    Image.fromarray(pattern(20, 20, 2)).save(img)  # new content, same name
    assert prepare(jobs, s, Manifest(tmp_path / "out")).decided[0].status == "failed"  # exists, other key
    assert len(prepare(jobs, BatchSettings(device="cpu", overwrite=True), Manifest(tmp_path / "out")).todo) == 1


def test_broken_input_and_style_fail_only_their_jobs(data: dict[str, Path], canonical_files: tuple[Path, Path],
                                                     tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "broken.mp4").write_bytes(b"not a video at all" * 10)
    (inp / "ok.png").write_bytes((data["in"] / "c.png").read_bytes())
    styles = tmp_path / "styles"
    styles.mkdir()
    (styles / "bad.png").write_bytes(b"\x89PNG broken")
    (styles / "good.png").write_bytes((data["styles"] / "s1.png").read_bytes())
    vgg, dec = canonical_files
    out = tmp_path / "out"
    argv = ["-q", "batch", str(inp), "-s", str(styles), "-o", str(out), "--size", "32", "--style-size", "32",
            "--vgg", str(vgg), "--decoder", str(dec), "--device", "cpu"]
    assert main(argv) == 1
    rows = {Path(r["output"]).name: r for r in _report(out)["jobs"]}  # type: ignore[index, union-attr]
    assert rows["ok__good.png"]["status"] == "done"
    assert rows["broken__good.mp4"]["status"] == "failed"
    assert all(rows[n]["status"] == "failed" for n in ("ok__bad.png", "broken__bad.mp4"))
    assert all("\n" not in str(r["error"]) for r in rows.values() if r["error"])
    assert _visible(out) == sorted(["ok__good.png", REPORT_NAME])  # no half files
    err = capsys.readouterr().err
    assert "broken__good.mp4" in err and "Traceback" not in err


def test_bad_usage_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["batch", str(tmp_path / "missing.mp4"), "-s", str(tmp_path), "-o", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
    (tmp_path / "x.png").write_bytes(b"")
    assert main(["batch", str(tmp_path / "x.png"), "-s", str(tmp_path / "x.png"), "-o", str(tmp_path / "o"),
                 "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err


@pytest.fixture(scope="module")
def sequential(data: dict[str, Path], canonical_files: tuple[Path, Path],
               tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The batch run in this process, one job after another: what workers and Ray must reproduce (made once)."""
    seq = tmp_path_factory.mktemp("batch_seq") / "seq"
    assert main(_argv(data, canonical_files, seq)) == 0
    return seq


@pytest.mark.slow
def test_two_local_workers_match_sequential(data: dict[str, Path], canonical_files: tuple[Path, Path],
                                            tmp_path: Path, sequential: Path) -> None:
    seq, par = sequential, tmp_path / "par"
    assert main(_argv(data, canonical_files, par, "--workers", "2")) == 0
    assert _visible(seq) == _visible(par)
    for name in _visible(seq):
        if name != REPORT_NAME:
            for a, b in zip(_frames(seq / name), _frames(par / name), strict=True):
                assert np.array_equal(a, b), name


@pytest.mark.slow
def test_ray_local_matches_sequential_and_loads_once_per_worker(
        data: dict[str, Path], canonical_files: tuple[Path, Path], tmp_path: Path, sequential: Path) -> None:
    ray = pytest.importorskip("ray")
    from adain_live.engine import batch_exec

    seq, out = sequential, tmp_path / "ray"
    loads: list[list[int]] = []
    real = batch_exec.run_ray

    def spy(*args: object, **kwargs: object) -> list[int]:
        loads.append(real(*args, **kwargs))  # type: ignore[arg-type]
        return loads[-1]

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        batch_exec.run_ray = spy  # type: ignore[assignment]
        assert main(_argv(data, canonical_files, out, "--ray", "local", "--workers", "2")) == 0
    finally:
        batch_exec.run_ray = real  # type: ignore[assignment]
        ray.shutdown()
    assert sorted(loads[0]) == [1, 1]  # two actors, each loaded the model once for its 3 jobs
    for name in _visible(seq):
        if name != REPORT_NAME:
            for a, b in zip(_frames(seq / name), _frames(out / name), strict=True):
                assert np.array_equal(a, b), name


def test_ray_missing_is_one_line(data: dict[str, Path], canonical_files: tuple[Path, Path], tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    assert main(_argv(data, canonical_files, tmp_path / "o", "--ray")) == 2
    assert "pip install" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_mid_batch_leaves_no_half_file(data: dict[str, Path], canonical_files: tuple[Path, Path],
                                              tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    for i in range(3):
        make_test_video(clips / f"v{i}.mp4", size=(160, 120), frames=60, rate=Fraction(25))
    out = tmp_path / "out"
    vgg, dec = canonical_files
    cmd = [sys.executable, "-m", "adain_live", "batch", str(clips), "-s", str(data["styles"] / "s1.png"), "-o",
           str(out), "--size", "120", "--style-size", "32", "--vgg", str(vgg), "--decoder", str(dec), "--device",
           "cpu", "--batch", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out.is_dir() and any(p.name.endswith(".mp4")
                                                                      for p in out.iterdir())):
        time.sleep(0.1)  # wait until the first job's temporary output exists
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert not [p.name for p in out.iterdir() if ".part" in p.name]
    report = _report(out)
    assert report["interrupted"] is True
    for row in report["jobs"]:  # type: ignore[union-attr]
        name = Path(row["output"])
        if row["status"] == "done":
            assert len(_frames(name)) == 60
        else:
            assert row["status"] == "cancelled" and not name.exists()


def test_truncated_input_is_partial_exit_1_and_redone_by_a_rerun(data: dict[str, Path],
                                                                  canonical_files: tuple[Path, Path],
                                                                  tmp_path: Path) -> None:
    from tests.engine.test_video_reliability import faststart

    whole = faststart(make_test_video(tmp_path / "v.mp4", frames=30), tmp_path / "fs.mp4")
    inp = tmp_path / "in"
    inp.mkdir()
    raw = whole.read_bytes()
    (inp / "cut.mp4").write_bytes(raw[: len(raw) * 60 // 100])
    vgg, dec = canonical_files
    out = tmp_path / "out"
    argv = ["-q", "batch", str(inp), "-s", str(data["styles"] / "s1.png"), "-o", str(out), "--size", "32",
            "--style-size", "32", "--vgg", str(vgg), "--decoder", str(dec), "--device", "cpu"]
    assert main(argv) == 1  # a partial result is not a success
    row = _report(out)["jobs"][0]  # type: ignore[index]
    assert row["status"] == "partial" and 0 < row["frames"] < 30 and row["expected_frames"] == 30
    assert len(_frames(out / "cut__s1.mp4")) == row["frames"]  # kept, and it decodes
    assert main(argv) == 1  # not skipped: the rerun tries again (and is partial again)
    assert _report(out)["summary"]["partial"] == 1  # type: ignore[index]
