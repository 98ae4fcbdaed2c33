"""Re-style a video file: decode, stylize and encode overlapped in threads, audio and timing kept.

Timing contract: same frame count, time base and pts as the input (29.97 stays 30000/1001, variable frame
rate stays variable); the output is written to a temporary file next to the target and renamed at the end,
so an interrupted or failed job leaves nothing under the output name. A truncated or damaged input is
stylized as far as it decodes: the output is kept and the result says it is partial (``frames`` of ``expected``).
"""

from __future__ import annotations

import errno
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from adain_live._fs import atomic_write_path, check_replaceable
from adain_live.engine.video_stages import (
    BatchStylizer,
    EncodeStage,
    Progress,
    Stages,
    decode_stage,
    stylize_stage,
)
from adain_live.errors import MediaError
from adain_live.media._averr import disk_full_error, is_disk_full
from adain_live.media.audio import AudioCarrier
from adain_live.media.video_reader import VideoInfo, VideoReader
from adain_live.media.video_writer import (
    CONSTANT_RATE_SUFFIXES,
    VIDEO_SUFFIXES,
    EncodeSettings,
    VideoEncoder,
    check_container,
    check_encoder,
    encoded_size,
    open_output,
)

logger = logging.getLogger(__name__)

__all__ = ["Progress", "VideoJobResult", "restyle_video"]


@dataclass(frozen=True)
class VideoJobResult:
    """What a finished job wrote."""

    output: Path
    frames: int
    seconds: float
    info: VideoInfo
    encoded_size: tuple[int, int]
    audio_notes: list[str] = field(default_factory=list)
    #: frames the input's header announces (None when it does not say)
    expected: int | None = None
    #: why decoding stopped early (None when the input decoded to its end)
    damage: str | None = None

    @property
    def partial(self) -> bool:
        """True when fewer frames were written than the input holds (truncated or damaged input)."""
        return self.damage is not None or (self.expected is not None and self.frames < self.expected)

    def partial_line(self) -> str:
        """One line for a partial result: how many frames of how many, and why."""
        of = f" of {self.expected}" if self.expected is not None else ""
        why = f": {self.damage}" if self.damage else " (the file ends early: truncated?)"
        return (f"{self.info.path} is truncated or damaged: wrote {self.frames}{of} frames to {self.output}"
                f"{why}")

    @property
    def fps(self) -> float:
        """End-to-end frames per second (decode + stylize + encode)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def _write_error(output: Path, exc: OSError) -> MediaError:
    if is_disk_full(exc):
        return disk_full_error(output)
    why = exc.strerror or str(exc)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return MediaError(f"cannot write {output}: folder {output.parent} is not writable ({why}); choose another -o")
    return MediaError(f"cannot write {output}: {why}; choose another -o")


def check_output(src: Path, output: Path, overwrite: bool) -> None:
    """Fail with :class:`MediaError` unless ``output`` can be written for input ``src`` (before any work).

    The output may not be the input, may replace an existing file only with ``overwrite``, needs a known
    video extension and an existing, writable folder (probed by creating and removing a temporary file).
    """
    if output.exists() and src.exists() and output.resolve() == src.resolve():
        raise MediaError(f"output {output} is the input file: choose another -o")
    if output.is_dir():
        raise MediaError(f"output {output} is a folder: give a file name ending in {', '.join(VIDEO_SUFFIXES)}")
    if output.exists() and not overwrite:
        raise MediaError(f"{output} already exists: remove it or pass --overwrite")
    try:
        check_replaceable(output)
    except PermissionError as exc:
        raise MediaError(f"cannot replace {output}: it is open in another program or read-only; close it or "
                         "choose another -o") from exc
    if output.suffix.lower() not in VIDEO_SUFFIXES:
        raise MediaError(f"cannot tell the video format from {output.name!r}: end it in "
                         f"{', '.join(VIDEO_SUFFIXES)}")
    if not output.parent.is_dir():
        raise MediaError(f"cannot write {output}: folder {output.parent} does not exist")
    try:
        with tempfile.TemporaryFile(dir=output.parent):
            pass
    except OSError as exc:
        raise _write_error(output, exc) from exc


def restyle_video(src: str | Path, output: str | Path, pipe: BatchStylizer, *,
                  settings: EncodeSettings | None = None, batch_size: int = 4, queue_size: int = 16,
                  overwrite: bool = False, on_progress: Callable[[Progress], None] | None = None
                  ) -> VideoJobResult:
    """Stylize every frame of ``src`` with ``pipe`` and write ``output`` with the input's audio and timing.

    Parameters
    ----------
    src, output
        Input video and output file (the extension picks the container, e.g. ``.mp4``, ``.mkv``, ``.webm``).
    pipe
        Anything with ``process_batch(frames) -> frames`` (e.g. :class:`~adain_live.engine.StylePipeline`).
    settings
        Encoder choice and quality (default: H.264, CRF 20, yuv420p).
    batch_size, queue_size
        Frames per network batch; frames buffered between stages.
    overwrite
        Replace an existing ``output``.
    on_progress
        Called from the encoder thread after every frame.

    Raises
    ------
    MediaError
        Unreadable input, unusable output location, missing encoder, disk full.
    """
    if batch_size < 1 or queue_size < 1:
        raise ValueError(f"batch_size ({batch_size}) and queue_size ({queue_size}) must be >= 1")
    src, output, settings = Path(src), Path(output), settings or EncodeSettings()
    check_output(src, output, overwrite)
    check_encoder(settings)
    with VideoReader(src, demux_audio=True) as reader:
        try:
            with atomic_write_path(output) as tmp:
                result = _run(reader, tmp, output, pipe, settings, batch_size, queue_size, on_progress)
        except OSError as exc:
            raise _write_error(output, exc) from exc
    logger.debug("%s: %d frames in %.1f s (%.1f fps)", output, result.frames, result.seconds, result.fps)
    return result


def _run(reader: VideoReader, tmp: Path, output: Path, pipe: BatchStylizer, settings: EncodeSettings,
         batch_size: int, queue_size: int, on_progress: Callable[[Progress], None] | None) -> VideoJobResult:
    info = reader.info
    out = open_output(tmp)
    try:
        check_container(out, output, settings)
        video = VideoEncoder(out, width=info.width, height=info.height, time_base=info.time_base,
                             rate=info.average_rate, settings=settings,
                             constant_rate=output.suffix.lower() in CONSTANT_RATE_SUFFIXES)
        audio = AudioCarrier(out, reader.audio_streams)
        encoder = EncodeStage(out, video, audio, output, _total_frames(info), on_progress)
        started = time.perf_counter()
        damage = _run_stages(reader, pipe, encoder, batch_size, queue_size)
    except BaseException:
        _close_quietly(out)
        raise
    try:
        out.close()
    except OSError as exc:
        raise _write_error(output, exc) from exc
    return VideoJobResult(output, encoder.done, time.perf_counter() - started, info,
                          (video.enc_width, video.enc_height), list(audio.notes),
                          expected=info.frame_count, damage=damage)


def _run_stages(reader: VideoReader, pipe: BatchStylizer, encoder: EncodeStage, batch_size: int,
                queue_size: int) -> str | None:
    """Decode and encode in threads, stylize here (so Ctrl-C lands in this thread); re-raise the first error.

    Returns why decoding stopped early (None when the input decoded to its end).
    """
    st = Stages(queue_size)
    threads = [threading.Thread(target=decode_stage, args=(reader, st), name="video-decode", daemon=True),
               threading.Thread(target=encoder, args=(st,), name="video-encode", daemon=True)]
    for t in threads:
        t.start()
    try:
        stylize_stage(pipe, st, batch_size)
    except BaseException as exc:
        st.fail(exc)
    finally:
        if st.error is not None:
            st.stop.set()
        for t in threads:
            t.join()
    if st.error is not None:
        if is_disk_full(st.error) and not isinstance(st.error, MediaError):
            raise disk_full_error(encoder.path) from st.error
        raise st.error
    return None if st.damage is None else str(st.damage)


def _total_frames(info: VideoInfo) -> int | None:
    if info.frame_count:
        return info.frame_count
    if info.duration and info.average_rate:
        return round(info.duration * info.average_rate)
    return None


def _close_quietly(out: object) -> None:
    try:
        out.close()  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - already failing; the first error is the one to report
        logger.debug("closing the partial output failed: %s", exc)


def padded(width: int, height: int, settings: EncodeSettings) -> bool:
    """True when this codec/pixel format pads a ``width`` x ``height`` picture to even sizes."""
    return encoded_size(width, height, settings) != (width, height)
