"""Clip statistics (``--clip-stats``): shots, sampling, the shared statistics per shot, both model families, files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image

from adain_live.cli import main
from adain_live.core.microast import MicroASTModel
from adain_live.core.model import AdaINModel
from adain_live.engine.clip_stats import ClipStats, plan_samples
from adain_live.engine.pipeline import StylePipeline
from adain_live.engine.temporal import Stabilizer, StabilizeSettings
from adain_live.engine.video_job import restyle_video
from adain_live.media.motion import motion_clip, textured_image
from adain_live.media.synth import make_test_video, pattern
from tests.helpers import fail_decoding_at, read_timeline, styled_pipeline

SITES = {AdaINModel: ["relu4_1"], MicroASTModel: ["microast/level2", "microast/level1"]}


@pytest.fixture(scope="module")
def two_shots() -> np.ndarray:
    """5 frames panning over one texture, then 4 over another: a scene cut before frame 5."""
    a = motion_clip(textured_image(96, 72, seed=8), 5, (64, 48), pan=(1.5, 0.5), noise=5, seed=1)
    b = motion_clip(textured_image(96, 72, seed=1), 4, (64, 48), pan=(1.5, 0.5), noise=5, seed=2)
    return np.stack(a + b)


def test_plan_samples_spreads_over_shots() -> None:
    assert plan_samples([0], 100, 4) == [12, 37, 62, 87]
    assert plan_samples([0, 90], 100, 10) == [5, 15, 25, 35, 45, 55, 65, 75, 85, 95]  # 9 + 1 by length
    assert plan_samples([0, 1, 2, 3], 4, 2) == [0, 1, 2, 3]  # at least one per shot
    assert plan_samples([0], 3, 10) == [0, 1, 2]  # never more than the frames
    with pytest.raises(ValueError):
        plan_samples([0], 0, 4)


def _fake_pipeline(hook: ClipStats, values: dict[int, float]) -> object:
    """A 'pipeline' whose content statistics at site ``s`` are the frame's first pixel value (C = 2)."""

    def run(batch: np.ndarray) -> np.ndarray:
        v = torch.tensor([float(f[0, 0, 0]) for f in batch]).view(-1, 1, 1, 1)
        mean, std = hook("s", v.expand(-1, 2, 1, 1) + torch.tensor([0.0, 1.0]).view(1, 2, 1, 1),
                         torch.ones(len(batch), 2, 1, 1) * 2)
        for f, m in zip(batch, mean[:, 0, 0, 0].tolist(), strict=True):
            values[int(f[0, 0, 0])] = m
        return batch

    return run


@pytest.mark.parametrize("keep_gain", [False, True])
def test_every_frame_of_a_shot_gets_the_shot_mean(keep_gain: bool) -> None:
    """Frames 0-5 (shot 1, values 10..15) and 6-9 (shot 2, values 160..163), a cut between."""
    frames = [np.full((18, 32, 3), v, np.uint8) for v in (10, 11, 12, 13, 14, 15, 160, 161, 162, 163)]
    hook = ClipStats(samples=4, cut=0.2, keep_gain=keep_gain)
    seen: dict[int, float] = {}
    run = _fake_pipeline(hook, seen)
    # thumbnails are exposure-normalised: a flat grey of any level looks the same, so mark the cut by texture
    frames[6:] = [f.copy() for f in frames[6:]]
    for f in frames[6:]:
        f[:, :16] = 0
    frames[6][0, 0, 0], frames[7][0, 0, 0], frames[8][0, 0, 0], frames[9][0, 0, 0] = 160, 161, 162, 163
    picks = hook.fit(run, lambda: iter(frames), batch=3)  # type: ignore[arg-type]
    assert hook.starts == [0, 6] and picks == hook.sampled == [1, 4, 7, 9]
    assert seen == {11: 11.0, 14: 14.0, 161: 161.0, 163: 163.0}  # the first pass uses each frame's own statistics
    seen.clear()
    for i in range(0, 10, 4):  # the second pass, in batches of 4 (the last one padded with copies)
        batch = frames[i:i + 4]
        run(np.stack(batch + [batch[-1]] * (4 - len(batch))))  # type: ignore[operator]
    # the shot's mean of (sampled) normalised statistics, times the frame's own scale (std 2) or not
    # (with keep_gain: shared as value / 2 and put back × 2, every frame's std being 2 here)
    shot1, shot2 = (11 + 14) / 2, (161 + 163) / 2
    assert {v: round(m, 4) for v, m in seen.items()} == {**{v: shot1 for v in range(10, 16)},
                                                         **{v: shot2 for v in range(160, 164)}}


def test_keep_gain_follows_each_frame_exposure() -> None:
    plain = ClipStats(samples=2)
    plain.starts, plain._shared = [0], {"s": (torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 1.0]]))}
    mean, _ = plain("s", torch.zeros(2, 2, 1, 1), torch.tensor([[1.0, 1.0], [3.0, 3.0]]).view(2, 2, 1, 1))
    assert mean.flatten().tolist() == [1.0, 2.0, 1.0, 2.0]  # by default shared as they are (ReReVST)
    hook = ClipStats(samples=2, keep_gain=True)
    hook.starts, hook._shared = [0], {"s": (torch.tensor([[1.0, 2.0]]), torch.tensor([[1.0, 1.0]]))}
    mean, std = hook("s", torch.zeros(2, 2, 1, 1), torch.tensor([[1.0, 1.0], [3.0, 3.0]]).view(2, 2, 1, 1))
    assert mean.flatten().tolist() == [1.0, 2.0, 3.0, 6.0] and std.flatten().tolist() == [1.0, 1.0, 3.0, 3.0]
    other = hook("t", torch.zeros(1, 2, 1, 1), torch.ones(1, 2, 1, 1))  # a site never fitted: passed through
    assert other[0].abs().sum() == 0


@pytest.mark.parametrize("family", [AdaINModel, MicroASTModel])
@pytest.mark.parametrize("masked", [False, True])
def test_both_families_share_statistics_per_shot(family: type, masked: bool, two_shots: np.ndarray) -> None:
    pipe = styled_pipeline(family, two_shots.shape, masked)
    off = pipe.process_batch(two_shots)
    stab = Stabilizer(pipe, StabilizeSettings(mode="off", clip=True, clip_samples=4))
    stab.start_clip(lambda: iter(two_shots))
    assert isinstance(stab.stats, ClipStats) and stab.stats.starts == [0, 5]
    want = {s + r for s in SITES[family] for r in (("/fg", "/bg") if masked else ("",))}
    assert set(stab.stats._shared) == want
    assert all(v[0].shape[0] == 2 for v in stab.stats._shared.values())  # one row of statistics per shot
    out = np.concatenate([stab.process_batch(two_shots[:4]), stab.process_batch(two_shots[4:])])
    assert out.shape == off.shape and out.dtype == np.uint8
    diff = np.abs(out.astype(np.int16) - off).mean(axis=(1, 2, 3))
    assert (diff > 0.05).all()  # every frame is normalised with its shot's statistics, not its own
    stab.close()
    assert np.array_equal(pipe.process_batch(two_shots), off)


def test_settings_refuse_clip_with_a_moving_average() -> None:
    with pytest.raises(ValueError, match="clip statistics replace"):
        StabilizeSettings(mode="stats", clip=True)
    with pytest.raises(ValueError, match="clip_samples"):
        StabilizeSettings(clip=True, clip_samples=0)
    assert StabilizeSettings(mode="flow", clip=True).active and StabilizeSettings(clip=True).active
    assert not StabilizeSettings().active


def test_microast_file_timing_and_audio_stay_exact(tmp_path: Path) -> None:
    clip = make_test_video(tmp_path / "in.mp4", size=(64, 48), frames=7)
    pipe = StylePipeline(MicroASTModel.random(seed=2), torch.device("cpu"), torch.float32, size=32)
    pipe.set_style(pipe.style_code(pattern(32, 32, 9), style_size=32))
    plain = restyle_video(clip, tmp_path / "off.mp4", pipe, batch_size=3)
    stab = Stabilizer(pipe, StabilizeSettings(mode="flow", clip=True, clip_samples=3, flow_size=48))
    stab.start_clip(clip, batch=2)
    assert isinstance(stab.stats, ClipStats) and stab.stats._shared
    shared = restyle_video(clip, tmp_path / "clip.mp4", stab, batch_size=3)  # type: ignore[arg-type]
    stab.close()
    assert plain.frames == shared.frames == 7
    (src_pts, src_audio), (off_pts, off_audio), (clip_pts, clip_audio) = (
        read_timeline(p) for p in (clip, tmp_path / "off.mp4", tmp_path / "clip.mp4"))
    assert src_pts == off_pts == clip_pts
    assert off_audio == clip_audio and len(clip_audio) > 5


def test_cli_clip_stats(canonical_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clip = make_test_video(tmp_path / "in.mp4", size=(66, 50), frames=6)
    style = tmp_path / "style.png"
    Image.fromarray(pattern(40, 40, 17)).save(style)
    vgg, dec = canonical_files
    argv = ["video", str(clip), "-s", str(style), "--size", "32", "--style-size", "32", "--vgg", str(vgg),
            "--decoder", str(dec), "--device", "cpu", "--batch", "4"]
    assert main([*argv, "-o", str(tmp_path / "off.mp4")]) == 0
    assert main([*argv, "-o", str(tmp_path / "clip.mp4"), "--clip-stats", "--clip-samples", "3"]) == 0
    off, shared = read_timeline(tmp_path / "off.mp4"), read_timeline(tmp_path / "clip.mp4")
    assert off == shared  # the same pts and audio packets
    assert len(off[0]) == 6
    with av.open(str(tmp_path / "off.mp4")) as a, av.open(str(tmp_path / "clip.mp4")) as b:
        fa = [f.to_ndarray(format="rgb24").astype(np.int16) for f in a.decode(video=0)]
        fb = [f.to_ndarray(format="rgb24").astype(np.int16) for f in b.decode(video=0)]
    assert np.abs(np.stack(fa) - np.stack(fb)).mean() > 0.2  # the shared statistics changed the pictures
    capsys.readouterr()
    assert main([*argv, "-o", str(tmp_path / "bad.mp4"), "--clip-stats", "--stabilize", "stats"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "clip statistics" in err and not (tmp_path / "bad.mp4").exists()


def test_cli_clip_stats_on_damaged_and_spliced_files(canonical_files: tuple[Path, Path], tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A decode error midway: the first pass uses what decodes, the job says n of m (exit 1); a size change is fine."""
    a = make_test_video(tmp_path / "a.ts", size=(64, 48), frames=6, audio=())
    b = make_test_video(tmp_path / "b.ts", size=(80, 60), frames=6, audio=(), pts=list(range(8, 14)),
                        time_base=Fraction(1001, 30000))
    spliced = tmp_path / "spliced.ts"
    spliced.write_bytes(a.read_bytes() + b.read_bytes())
    style = tmp_path / "style.png"
    Image.fromarray(pattern(32, 32, 5)).save(style)
    vgg, dec = canonical_files
    argv = ["-q", "video", "-s", str(style), "--size", "32", "--style-size", "32", "--vgg", str(vgg), "--decoder",
            str(dec), "--device", "cpu", "--batch", "4", "--clip-stats"]
    assert main([*argv, str(spliced), "-o", str(tmp_path / "spliced.mp4")]) == 0
    with av.open(str(tmp_path / "spliced.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 12
    capsys.readouterr()


    fail_decoding_at(monkeypatch, 20)
    whole = make_test_video(tmp_path / "v40.mp4", frames=40)
    assert main([*argv, str(whole), "-o", str(tmp_path / "damaged.mp4")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "of 40 frames" in err[0], err


def test_file_with_a_cut_gets_a_row_of_statistics_per_shot(two_shots: np.ndarray, tmp_path: Path) -> None:
    path = tmp_path / "cut.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv444p"
        for frame in two_shots:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    pipe = StylePipeline(AdaINModel.random(seed=5), torch.device("cpu"), torch.float32, size=32)
    pipe.set_style(pipe.style_code(pattern(32, 32, 9), style_size=32))
    stab = Stabilizer(pipe, StabilizeSettings(clip=True, clip_samples=4))
    stab.start_clip(path)
    assert isinstance(stab.stats, ClipStats) and stab.stats.starts == [0, 5] and stab.stats.sampled == [1, 3, 6, 8]
    assert stab.stats._shared["relu4_1"][0].shape == (2, 512)
    result = restyle_video(path, tmp_path / "o.mp4", stab, batch_size=3)  # type: ignore[arg-type]
    stab.close()
    assert result.frames == 9
