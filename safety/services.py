"""Safety services (writes and checks with side effects)."""
from django.core.exceptions import ValidationError

from .prompt_check import PromptVerdict, prompt_assess


def prompt_check(*, prompt: str) -> PromptVerdict:
    """Raise ValidationError naming the field `prompt` with a specific reason when the prompt breaks
    the content policy; return the verdict when it is allowed. Runs before any GPU time."""
    verdict = prompt_assess(prompt)
    if not verdict.allowed:
        raise ValidationError({"prompt": f"This prompt can't be made into a video. {verdict.reason}"},
                              code=f"unsafe_{verdict.category}")
    return verdict


def video_provenance_sign(*, mp4: bytes, job, model_version: str) -> bytes:
    """Embed the instance-signed C2PA manifest in a generated clip (the parent video, if any, as a
    `parentOf` ingredient carrying its own manifest)."""
    from .provenance import mp4_sign

    parent_mp4, parent_id = None, ""
    if job.parent_id is not None:
        with job.parent.file.open("rb") as fh:
            parent_mp4 = fh.read()
        parent_id = str(job.parent_id)
    return mp4_sign(mp4=mp4, title=f"spacetime-job-{job.pk}.mp4", seed=job.seed, model_version=model_version,
                    creator=job.owner.get_username(), parent_mp4=parent_mp4, parent_id=parent_id)
