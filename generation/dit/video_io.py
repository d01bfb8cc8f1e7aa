"""MP4 in and out (H.264 through PyAV, imported lazily so the model package needs only torch)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np


def mp4_bytes(frames: np.ndarray, fps: int = 8, crf: int = 18) -> bytes:
    """uint8 (T, H, W, 3) -> an H.264 MP4 (yuv420p, plays in every browser)."""
    import av

    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "fast", "movflags": "+faststart"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def write_mp4(frames: np.ndarray, path: str | Path, fps: int = 8) -> None:
    Path(path).write_bytes(mp4_bytes(frames, fps))


def read_video(path: str | Path) -> np.ndarray:
    """An .mp4 or .npy clip -> uint8 (T, H, W, 3)."""
    path = Path(path)
    if path.suffix == ".npy":
        return np.load(path)
    import av

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def read_video_bytes(data: bytes) -> np.ndarray:
    """The bytes of an MP4 (or any container PyAV reads) -> uint8 (T, H, W, 3)."""
    import av

    with av.open(io.BytesIO(data)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
