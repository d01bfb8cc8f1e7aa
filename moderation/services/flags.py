"""What the automatic checks record for staff: refused prompts and held clips."""
import io

import numpy as np
from django.db import transaction

from ..models import FlaggedFrames, FlaggedPrompt


@transaction.atomic
def prompt_flag(*, user, prompt: str, category: str, reason: str, source: str = "", score: float = 0.0) -> FlaggedPrompt:
    """Keep a prompt the prompt check refused (the caller commits it even though the request fails)."""
    return FlaggedPrompt.objects.create(user=user, prompt=prompt, category=category or "", reason=reason,
                                        source=source, score=float(score))


def frames_strip_png(frames: np.ndarray) -> bytes:
    """uint8 (N, H, W, 3) -> one PNG of the frames side by side, 1 px apart."""
    from PIL import Image

    frames = np.asarray(frames, dtype=np.uint8)
    n, h, w, _ = frames.shape
    strip = np.zeros((h, n * (w + 1) - 1, 3), np.uint8)
    for i, frame in enumerate(frames):
        strip[:, i * (w + 1):i * (w + 1) + w] = frame
    buf = io.BytesIO()
    Image.fromarray(strip).save(buf, format="PNG")
    return buf.getvalue()


@transaction.atomic
def frames_flag(*, job, check_name: str, reason: str, frames: np.ndarray, frame_indices, scores) -> FlaggedFrames:
    """Hold a generated clip for staff: the checked frames (as one PNG, in the database, never
    under the public media URL), their scores and the reason the job failed with."""
    frames = np.asarray(frames)
    return FlaggedFrames.objects.create(
        user=job.owner, job=job, prompt=job.prompt, check_name=check_name, reason=reason,
        frame_indices=[int(i) for i in frame_indices], scores=[round(float(s), 4) for s in scores],
        frames_png=frames_strip_png(frames[list(frame_indices)]),
    )


def frames_released(*, job, check_name: str) -> bool:
    """Did staff release this job's clip after `check_name` (nsfw, likeness) held it (a false hold)?"""
    return FlaggedFrames.objects.filter(job=job, check_name=check_name, released=True).exists()
