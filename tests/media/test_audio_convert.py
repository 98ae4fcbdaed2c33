"""Audio the output container cannot take as it is gets converted, with a log line (issue 15)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np
import pytest

from adain_live.engine.video_job import restyle_video
from adain_live.media.audio import pick_rate
from adain_live.media.synth import make_test_video


class Same:
    def process_batch(self, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
        return list(frames)


def test_pick_rate() -> None:
    opus = [48000, 24000, 16000, 12000, 8000]
    assert pick_rate(44100, opus) == 48000 and pick_rate(48000, opus) == 48000
    assert pick_rate(22050, opus) == 24000 and pick_rate(96000, opus) == 48000 and pick_rate(44100, None) == 44100


def test_44k1_aac_into_webm_becomes_48k_opus(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    src = make_test_video(tmp_path / "in.mp4", size=(64, 48), frames=10, sample_rate=44100)
    out = tmp_path / "out.webm"
    from adain_live.media.video_writer import EncodeSettings

    with caplog.at_level(logging.WARNING):
        result = restyle_video(src, out, Same(), settings=EncodeSettings(codec="vp9"))
    with av.open(str(out)) as c:
        audio = c.streams.audio[0]
        name, rate = audio.codec_context.name, audio.codec_context.sample_rate
        samples = sum(f.samples for f in c.decode(audio=0))
    assert name == "opus" and rate == 48000 and samples > 0.25 * 48000  # ~0.33 s of audio kept
    assert any("48000 Hz (from 44100 Hz)" in n for n in result.audio_notes)
    assert any("48000 Hz" in r.getMessage() for r in caplog.records)
