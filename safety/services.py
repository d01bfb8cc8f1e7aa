"""Safety services (writes and checks with side effects)."""
from django.core.exceptions import ValidationError

from .prompt_check import PromptVerdict, prompt_assess


def prompt_check(*, prompt: str, user=None, cameo_restrictions: list[tuple[str, str]] | None = None) -> PromptVerdict:
    """Raise ValidationError naming the field `prompt` with a specific reason when the prompt breaks
    the content policy; return the verdict when it is allowed. Runs before any GPU time. A refusal
    for a `user` is recorded for staff review (call this outside the transaction that the refusal
    rolls back, or the record goes with it). `cameo_restrictions`: (handle, "never in political
    videos") for the cameos the prompt uses; a prompt in a ruled-out topic is refused too."""
    if cameo_restrictions:
        from .restrictions import restrictions_assess

        hit = restrictions_assess(prompt, [text for _, text in cameo_restrictions])
        if hit is not None:
            handle = next(h for h, text in cameo_restrictions if text == hit.restriction)
            raise ValidationError({"prompt": f"The owner of the cameo @{handle} does not allow this: {hit.reason()}."},
                                  code="cameo_restriction")
    verdict = prompt_assess(prompt)
    if not verdict.allowed:
        if user is not None:
            from moderation.services import prompt_flag

            prompt_flag(user=user, prompt=prompt, category=verdict.category, reason=verdict.reason,
                        source=verdict.source, score=verdict.score)
        raise ValidationError({"prompt": f"This prompt can't be made into a video. {verdict.reason}"},
                              code=f"unsafe_{verdict.category}")
    return verdict


def video_provenance_sign(*, mp4: bytes, job, model_version: str) -> bytes:
    """Embed the instance-signed C2PA manifest in a generated clip (the parent video, if any, as a
    `parentOf` ingredient carrying its own manifest)."""
    from .provenance import mp4_sign, weights_sha256

    parent_mp4, parent_id = None, ""
    if job.parent_id is not None:
        with job.parent.file.open("rb") as fh:
            parent_mp4 = fh.read()
        parent_id = str(job.parent_id)
    return mp4_sign(mp4=mp4, title=f"spacetime-job-{job.pk}.mp4", seed=job.seed, model_version=model_version,
                    creator=job.owner.get_username(), parent_mp4=parent_mp4, parent_id=parent_id,
                    weights_hash=weights_sha256(_weights_dir()), job_id=str(job.pk))


def _weights_dir() -> str:
    """The folder the worker's pipeline loads (generation.dit.pipeline.get_pipeline)."""
    import os

    from generation.dit.pipeline import WEIGHTS_DIR

    return str(os.environ.get("SPACETIME_WEIGHTS", WEIGHTS_DIR))


class ClipHeldForReview(Exception):
    """The frame check held a generated clip: the job fails with this message, nothing is stored,
    and staff find the frames in the moderation queue."""


def video_frames_check(*, job, frames) -> None:
    """Check a generated clip's frames before it is stored: NSFW classifier on a few sampled
    frames, then the likeness check for cameos. Raises ClipHeldForReview (after recording the
    frames for staff) when either holds it; a check whose hold staff released for this job (a false
    hold) is not run again."""
    from django.conf import settings

    from moderation.services import frames_flag, frames_released

    from .frame_check import frames_assess

    if not frames_released(job=job, check_name="nsfw"):
        verdict = frames_assess(frames, threshold=settings.SAFETY["FRAME_NSFW_THRESHOLD"],
                                samples=settings.SAFETY["FRAME_SAMPLES"])
        if not verdict.allowed:
            frames_flag(job=job, check_name="nsfw", reason=verdict.reason, frames=frames,
                        frame_indices=verdict.frame_indices, scores=verdict.scores)
            raise ClipHeldForReview(f"{verdict.reason} The clip was held for review and not stored.")
    if not frames_released(job=job, check_name="likeness"):
        frame_likeness_check(job=job, frames=frames)


def frame_likeness_check(*, job, frames) -> None:
    """The likeness check: a registered cameo found in the frames when the job had no consent for
    it holds the clip, like the NSFW check. The finding belongs to the cameos app
    (`cameos.services.cameos_found_in_frames(frames, allowed_cameo_ids)`: the cameos seen that are
    not allowed); the cameos a job may show are those recorded for it at job_create (job.cameos)."""
    from cameos.services import cameos_found_in_frames

    found = list(cameos_found_in_frames(frames, list(job.cameos.values_list("pk", flat=True))))
    if found:
        from moderation.services import frames_flag

        handles = ", ".join(f"@{cameo.handle}" for cameo in found)
        reason = f"The clip shows the cameo {handles} without consent for this video."
        frames_flag(job=job, check_name="likeness", reason=reason, frames=frames,
                    frame_indices=list(range(len(frames))), scores=[])
        raise ClipHeldForReview(f"{reason} The clip was held for review and not stored.")


def video_watermark(*, frames, job):
    """The frames as stored: upscaled 4x with the moving "@handle · Spacetime" watermark."""
    from .watermark import watermark_frames, watermark_phase

    return watermark_frames(frames, job.owner.get_username(), phase=watermark_phase(job.seed))
