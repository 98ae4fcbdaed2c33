"""Media in and out (OpenCV capture + PyAV + Pillow; no torch): sources, recorder, video and image files.

Everything leaves this package as RGB ``uint8`` HWC arrays; OpenCV's BGR stays inside.
"""

from __future__ import annotations

from adain_live.media.audio import AudioCarrier, can_copy
from adain_live.media.camera import CameraSource
from adain_live.media.camera_list import CameraInfo, list_cameras
from adain_live.media.file_source import FileSource
from adain_live.media.frames import Frame
from adain_live.media.images import read_image, write_image
from adain_live.media.recorder import Recorder
from adain_live.media.sources import FrameSource, open_source
from adain_live.media.video_reader import DecodedFrame, VideoInfo, VideoReader, probe_video
from adain_live.media.video_writer import CODECS, EncodeSettings, VideoEncoder, check_encoder

__all__ = [
    "CODECS",
    "AudioCarrier",
    "CameraInfo",
    "CameraSource",
    "DecodedFrame",
    "EncodeSettings",
    "FileSource",
    "Frame",
    "FrameSource",
    "Recorder",
    "VideoEncoder",
    "VideoInfo",
    "VideoReader",
    "can_copy",
    "check_encoder",
    "list_cameras",
    "open_source",
    "probe_video",
    "read_image",
    "write_image",
]
