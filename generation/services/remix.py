"""The worker's side of a remix: which pipeline call a job's mode asks for, fed with the parent's
frames read back from storage (disk or S3)."""
from typing import Iterator

import numpy as np

from ..models import GenerationJob

Mode = GenerationJob.Mode
REMIX_STRENGTH = 0.95  # the default of job_create, for rows written without one


def parent_frames(video) -> np.ndarray:
    """The stored clip of `video` as uint8 (T, H, W, 3)."""
    from generation.dit.video_io import read_video_bytes

    with video.file.open("rb") as f:
        return read_video_bytes(f.read())


def job_events(job: GenerationJob, pipe, cameo_image=None) -> Iterator:
    """The pipeline's step events for `job`: a clip from noise (generate, prompt_edit: the job
    already carries the parent's seed and settings), video to video (remix) or a continuation.
    cameo_image: the picture of the cameo the prompt names (cameos.services.job_cameos_preflight)."""
    cameo = {"cameo_image": cameo_image} if cameo_image is not None else {}
    if job.mode in (Mode.REMIX, Mode.EXTEND):
        if job.parent is None:
            raise RuntimeError(f"the parent video of this {job.mode} was deleted")
        frames = parent_frames(job.parent)
        if job.mode == Mode.REMIX:
            strength = job.strength if job.strength is not None else REMIX_STRENGTH
            return pipe.iter_remix(job.prompt, frames, strength=strength,
                                   seed=job.seed, steps=job.steps, guidance=job.guidance, **cameo)
        return pipe.iter_extend(job.prompt, frames, seed=job.seed, steps=job.steps, guidance=job.guidance, **cameo)
    return pipe.iter_generate(job.prompt, seed=job.seed, steps=job.steps, guidance=job.guidance, **cameo)


def video_remix_mode(job: GenerationJob) -> str:
    """The Video.remix_mode of the clip a job makes."""
    return job.mode if job.parent_id is not None and job.mode in GenerationJob.REMIX_MODES else ""
