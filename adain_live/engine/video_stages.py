"""The three stages of the batch video job (decode → stylize → encode) and their bounded hand-offs."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from adain_live.errors import MediaError
from adain_live.media.audio import AudioCarrier
from adain_live.media.video_reader import DecodedFrame, VideoReader
from adain_live.media.video_writer import VideoEncoder, mux

logger = logging.getLogger(__name__)

END = object()  #: end-of-stream marker passed through the queues


class BatchStylizer(Protocol):
    """What the job needs from a pipeline: ``process_batch`` (and optionally ``process_stream``)."""

    def process_batch(self, frames: Sequence[np.ndarray]) -> Sequence[np.ndarray] | np.ndarray:
        """Stylize frames of one size; outputs keep the inputs' size."""
        ...


@dataclass(frozen=True)
class Progress:
    """Where a job stands: frames done, of ``total`` (None if unknown), speed and estimated time left."""

    done: int
    total: int | None
    fps: float
    eta: float | None
    elapsed: float


class Stages:
    """Shared state of one job: the stop flag, the first error, the queues."""

    def __init__(self, queue_size: int) -> None:
        self.stop = threading.Event()
        self.error: BaseException | None = None
        #: a decode error after the first frame: the job ends there and keeps what it has
        self.damage: MediaError | None = None
        self.frames: queue.Queue[Any] = queue.Queue(queue_size)
        self.results: queue.Queue[Any] = queue.Queue(queue_size)
        self.audio: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def fail(self, exc: BaseException) -> None:
        """Record the first error and stop every stage."""
        if self.error is None:
            self.error = exc
        self.stop.set()

    def put(self, q: queue.Queue[Any], item: Any) -> bool:
        """Put with back-pressure; give up (False) when the job stops."""
        while not self.stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def get(self, q: queue.Queue[Any]) -> Any:
        """Get, or :data:`END` when the job stops."""
        while not self.stop.is_set():
            try:
                return q.get(timeout=0.1)
            except queue.Empty:
                continue
        return END


def decode_stage(reader: VideoReader, st: Stages) -> None:
    """Thread body: frames to ``st.frames`` (bounded), audio packets to ``st.audio``.

    A decode error after at least one frame ends the stream there (recorded in ``st.damage``): a truncated
    or damaged file is stylized as far as it decodes.
    """
    delivered = 0
    try:
        for item in reader.items():
            if isinstance(item, DecodedFrame):
                if not st.put(st.frames, item):
                    return
                delivered += 1
            else:
                st.audio.put(item)
    except MediaError as exc:
        if delivered == 0:
            st.fail(exc)
            return
        logger.debug("decoding stopped after %d frames: %s", delivered, exc)
        st.damage = exc
    except BaseException as exc:  # noqa: BLE001 - handed to the main thread
        st.fail(exc)
        return
    st.put(st.frames, END)


def _batches(st: Stages, size: int, metas: list[list[DecodedFrame]]) -> Iterator[list[np.ndarray]]:
    """Group decoded frames into batches of ``size``.

    The last batch is padded with copies of its last frame, so the pipeline sees one shape throughout
    (a compiled / CUDA-graph path would otherwise rebuild for the odd batch); the copies are dropped.
    """
    done = False
    while not done:
        batch: list[DecodedFrame] = []
        while len(batch) < size:
            item = st.get(st.frames)
            if item is END:
                done = True
                break
            batch.append(item)
        if batch:
            metas.append(batch)
            images = [f.image for f in batch]
            yield images + [images[-1]] * (size - len(images))


def stylize_stage(pipe: BatchStylizer, st: Stages, batch_size: int) -> None:
    """Main-thread body: batches through the pipeline (``process_stream`` when it has one), results on."""
    metas: list[list[DecodedFrame]] = []
    batches = _batches(st, batch_size, metas)
    stream = getattr(pipe, "process_stream", None)
    outputs = stream(batches) if stream is not None else (pipe.process_batch(b) for b in batches)
    for out in outputs:
        meta_batch = metas.pop(0)
        for meta, image in zip(meta_batch, list(out)[: len(meta_batch)], strict=True):
            if not st.put(st.results, (meta, np.ascontiguousarray(image, dtype=np.uint8))):
                return
    if st.stop.is_set():
        return
    st.put(st.results, END)


class EncodeStage:
    """Thread body: encode stylized frames in order, interleave the audio, report progress."""

    def __init__(self, out: Any, video: VideoEncoder, audio: AudioCarrier, path: Any, total: int | None,
                 on_progress: Callable[[Progress], None] | None) -> None:
        self.out, self.video, self.audio, self.path = out, video, audio, path
        self.total, self.on_progress = total, on_progress
        self.done = 0
        self.started = time.perf_counter()

    def _mux_audio(self, st: Stages) -> None:
        while True:
            try:
                packet = st.audio.get_nowait()
            except queue.Empty:
                return
            mux(self.out, self.audio.handle(packet), self.path)

    def __call__(self, st: Stages) -> None:
        """Run until the end marker (or a stop); errors go to ``st``."""
        try:
            while (item := st.get(st.results)) is not END:
                meta, image = item
                self._mux_audio(st)
                mux(self.out, self.video.encode(image, meta.pts, meta.duration), self.path)
                self.done += 1
                self._report()
            if st.stop.is_set():
                return
            mux(self.out, self.video.flush(), self.path)
            self._mux_audio(st)
            mux(self.out, self.audio.flush(), self.path)
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            st.fail(exc)

    def _report(self) -> None:
        if self.on_progress is None:
            return
        elapsed = time.perf_counter() - self.started
        fps = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / fps if self.total and fps > 0 else None
        self.on_progress(Progress(self.done, self.total, fps, eta, elapsed))
