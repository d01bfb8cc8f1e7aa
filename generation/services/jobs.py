"""Generation job lifecycle: create, cancel, retry, and recovery of jobs whose worker died."""
import logging
import random
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from config.exceptions import Conflict

from ..models import GenerationJob
from . import events

log = logging.getLogger(__name__)

SEED_MAX = 2**31 - 1
Status = GenerationJob.Status


class IllegalTransition(Conflict):
    """A job was asked to move between two states that the state machine does not connect."""


def job_transition(*, job: GenerationJob, to: str, **fields) -> GenerationJob:
    """Move `job` to state `to` (in memory and in the row), or raise IllegalTransition."""
    if to not in GenerationJob.TRANSITIONS[job.status]:
        raise IllegalTransition({"status": f"A job cannot go from {job.status} to {to}."})
    job.status = to
    now = timezone.now()
    if to in GenerationJob.FINISHED:
        job.finished_at = now
    for name, value in fields.items():
        setattr(job, name, value)
    job.save(update_fields=["status", "finished_at", *fields])
    return job


def _conf(name: str):
    return settings.GENERATION[name]


def _enqueue(job: GenerationJob) -> None:
    """Send the Celery message once the row is committed (the row is the source of truth)."""
    from ..tasks import job_run

    job_id = str(job.pk)

    def send() -> None:
        try:
            job_run.apply_async(args=[job_id], queue="gpu")
        except Exception as exc:  # broker down: the row stays queued and job_resend_unclaimed sends it later
            log.warning("job %s: message not sent (%s: %s); the sweeper will send it again", job_id,
                        type(exc).__name__, exc)
            return
        _sent_mark(job_id)
        fresh = GenerationJob.objects.filter(pk=job_id).select_related("video").first()
        if fresh is not None:
            events.job_announce(fresh)

    transaction.on_commit(send)


def job_validate(*, prompt, seed, steps, guidance) -> dict:
    """Check a request for a clip; returns the cleaned values or raises naming every bad field."""
    errors: dict[str, str] = {}
    prompt = prompt.strip() if isinstance(prompt, str) else prompt
    if not isinstance(prompt, str) or not prompt:
        errors["prompt"] = "Describe the video you want: the prompt is empty."
    elif "\x00" in prompt:  # PostgreSQL cannot store it
        errors["prompt"] = "Null characters are not allowed in the prompt."
    elif len(prompt) > _conf("PROMPT_MAX_CHARS"):
        errors["prompt"] = f"The prompt is too long: at most {_conf('PROMPT_MAX_CHARS')} characters (got {len(prompt)})."
    if seed is None:
        seed = random.randint(0, SEED_MAX)
    elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        errors["seed"] = f"The seed must be a whole number from 0 to {SEED_MAX}."
    if steps is None:
        steps = _conf("DEFAULT_STEPS")
    elif isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= _conf("MAX_STEPS"):
        errors["steps"] = f"Steps must be a whole number from 1 to {_conf('MAX_STEPS')}."
    if guidance is None:
        guidance = _conf("DEFAULT_GUIDANCE")
    elif isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or not 0 <= guidance <= _conf("MAX_GUIDANCE"):
        errors["guidance"] = f"Guidance must be a number from 0 to {_conf('MAX_GUIDANCE')}."
    if errors:
        raise ValidationError(errors)
    return {"prompt": prompt, "seed": seed, "steps": steps, "guidance": float(guidance)}


Mode = GenerationJob.Mode
# measured (benchmarks/remix/eval_h200.json): colour edits need t >= 0.95 on this model, where
# direction and track still carry over 96-100%
DEFAULT_STRENGTH = 0.95
# A clip with a cameo is made with less guidance when none is asked for: measured on 24 held-out
# pictures (generation/dit/weights/eval_cameo_guidance_sweep_cpu.json), guidance 1 / 1.5 / 2 / 4
# kept the subject's likeness at SSIM 0.276 / 0.255 / 0.218 / 0.121; 1.5 kept every attribute of
# the cameo clips right (guidance 1 lost one relation of 8).
DEFAULT_CAMEO_GUIDANCE = 1.5


def _remix_settings(*, owner, parent, mode, strength, seed, steps, guidance) -> dict:
    """Check a remix request against its parent; returns {mode, strength, seed?, steps?, guidance?}.

    prompt_edit takes the parent's seed and settings; remix (video to video) takes a strength in
    [0, 1] (0: the parent as it is, 1: a new clip); extend continues the parent's last frames."""
    if mode is None:
        mode = Mode.REMIX if parent is not None else Mode.GENERATE
    if mode not in Mode.values:
        raise ValidationError({"mode": f"Choose one of: {', '.join(Mode.values)}."})
    if parent is None:
        if mode != Mode.GENERATE:
            raise ValidationError({"parent": f"Mode {mode} needs a parent video to remix."})
        if strength is not None:
            raise ValidationError({"strength": "Strength applies to video-to-video remixes only (mode remix)."})
        return {"mode": mode, "strength": None}
    from feed.selectors import video_visible_qs
    from feed.services import remix_check

    if not video_visible_qs(viewer=owner).filter(pk=parent.pk).exists():
        raise ValidationError({"parent": "No video with this id that you can remix."})
    remix_check(parent=parent, user=owner)
    out: dict = {"mode": mode, "strength": None}
    if mode == Mode.REMIX:
        if strength is None:
            strength = DEFAULT_STRENGTH
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= strength <= 1:
            raise ValidationError({"strength": "Strength must be a number from 0 (keep the parent) to 1 (a new clip)."})
        out["strength"] = float(strength)
    elif strength is not None:
        raise ValidationError({"strength": "Strength applies to video-to-video remixes only (mode remix)."})
    if mode == Mode.PROMPT_EDIT:
        if seed is not None:
            raise ValidationError({"seed": "A prompt edit reuses the parent's seed; leave the seed out."})
        source = GenerationJob.objects.filter(video=parent).only("steps", "guidance").first()
        out["seed"] = parent.seed
        if source is not None:
            out["steps"] = steps if steps is not None else source.steps
            out["guidance"] = guidance if guidance is not None else source.guidance
    return out


def job_create(*, owner, prompt: str, seed: int | None = None, steps: int | None = None,
               guidance: float | None = None, parent=None, mode: str | None = None,
               strength: float | None = None) -> GenerationJob:
    """Queue a clip for `owner`. Validates, enforces the per-user limit of active jobs, writes the
    row, and sends the Celery message on commit. With a parent video it is a remix in `mode`
    (prompt_edit, remix, extend, or generate: a new clip credited to the parent)."""
    remix = _remix_settings(owner=owner, parent=parent, mode=mode, strength=strength, seed=seed,
                            steps=steps, guidance=guidance)
    seed, steps, guidance = remix.pop("seed", seed), remix.pop("steps", steps), remix.pop("guidance", guidance)
    cleaned = job_validate(prompt=prompt, seed=seed, steps=steps, guidance=guidance) | remix
    from cameos.services import job_cameos_check, job_cameos_record
    from safety.services import prompt_check

    # consent for the cameo the prompt names and every cameo in the parent's lineage (403 naming the field)
    cameos = job_cameos_check(owner=owner, prompt=cleaned["prompt"], parent=parent)
    if guidance is None and cameos.named is not None:
        cleaned["guidance"] = DEFAULT_CAMEO_GUIDANCE
    # content policy and the cameos' restrictions, before any GPU time (400 naming `prompt`); outside
    # the transaction so that a refusal stays recorded for staff review
    prompt_check(prompt=cleaned["prompt"], user=owner, cameo_restrictions=cameos.restrictions_for(owner))
    from moderation.services import generation_quota_check

    with transaction.atomic():
        # one job_create per user at a time (`_meta.model`, not type(): the session's user is a lazy proxy)
        owner._meta.model.objects.select_for_update().filter(pk=owner.pk).first()
        generation_quota_check(user=owner)  # daily limit: 429 with the reset time
        active = GenerationJob.objects.filter(owner=owner, status__in=GenerationJob.ACTIVE).count()
        if active >= _conf("MAX_ACTIVE_JOBS_PER_USER"):
            raise Conflict({"prompt": f"You already have {active} videos in the making; wait for one to finish."})
        job = GenerationJob.objects.create(owner=owner, parent=parent, **cleaned)
        job_cameos_record(job=job, cameos=cameos)
        _enqueue(job)
    return job


def _locked(job: GenerationJob) -> GenerationJob:
    return GenerationJob.objects.select_for_update().get(pk=job.pk)


@transaction.atomic
def job_cancel(*, job: GenerationJob, user) -> GenerationJob:
    """Cancel a queued job at once; ask a running one to stop (its worker checks between steps)."""
    job = _locked(job)
    if job.owner_id != user.pk and not user.is_staff:
        raise PermissionDenied("Only the job's owner may cancel it.")
    if job.is_finished:
        raise Conflict({"status": f"The job already {job.status}; only queued or running jobs can be canceled."})
    if job.status == Status.QUEUED:
        job_transition(job=job, to=Status.CANCELED, cancel_requested=True)
        transaction.on_commit(lambda: (events.job_announce(job), events.queue_positions_announce()))
    else:
        job.cancel_requested = True
        job.save(update_fields=["cancel_requested"])
    return job


@transaction.atomic
def job_retry(*, job: GenerationJob, user) -> GenerationJob:
    """Run a failed job again, with the same prompt, seed and settings."""
    job = _locked(job)
    if job.owner_id != user.pk and not user.is_staff:
        raise PermissionDenied("Only the job's owner may retry it.")
    if job.status != Status.FAILED:
        raise Conflict({"status": f"Only failed jobs can be retried; this one is {job.status}."})
    job_transition(job=job, to=Status.QUEUED, step=0, eta_s=None, last_preview="", attempts=0,
                   run_token="", cancel_requested=False, queued_at=timezone.now(), finished_at=None,
                   error="")
    _enqueue(job)
    return job


def _sent_key(job_id) -> str:
    return f"generation:sent:{job_id}"


def _sent_mark(job_id) -> None:
    """Remember (in the shared cache) that a message for the job went out just now."""
    from django.core.cache import cache

    try:
        cache.set(_sent_key(job_id), 1, timeout=max(1, int(_conf("RESEND_QUEUED_AFTER_S"))))
    except Exception:  # cache down: the sweeper may send once more; a duplicate message is harmless
        pass


def _sent_recently(job_id) -> bool:
    from django.core.cache import cache

    try:
        return bool(cache.get(_sent_key(job_id)))
    except Exception:
        return False


def job_resend_unclaimed(*, now=None) -> list[GenerationJob]:
    """Send the message again for jobs queued longer than RESEND_QUEUED_AFTER_S with no message
    sent in that time: the broker lost it (Redis restarted empty) or the publish failed during an
    outage. A duplicate message is harmless: only one run can claim a queued job (job_claim)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=_conf("RESEND_QUEUED_AFTER_S"))
    resent = []
    for job in GenerationJob.objects.filter(status=Status.QUEUED, queued_at__lt=cutoff).order_by("queued_at")[:500]:
        if _sent_recently(job.pk):
            continue
        with transaction.atomic():
            _enqueue(job)
        log.warning("job %s still queued since %s: message sent again", job.pk, job.queued_at)
        resent.append(job)
    return resent


def job_reap_stale(*, now=None) -> list[GenerationJob]:
    """Recover running jobs whose worker stopped sending heartbeats (killed, crashed, host lost).

    Each is requeued while it has attempts left, and otherwise ends failed with the reason.
    Safe to run from any number of workers at once: each job is decided under a row lock and only
    if it is still stale.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=_conf("STALE_AFTER_S"))
    reaped = []
    stale_ids = list(
        GenerationJob.objects.filter(status=Status.RUNNING, heartbeat_at__lt=cutoff).values_list("pk", flat=True)
    )
    for job_id in stale_ids:
        with transaction.atomic():
            job = (
                GenerationJob.objects.select_for_update(skip_locked=True)
                .filter(pk=job_id, status=Status.RUNNING, heartbeat_at__lt=cutoff)
                .first()
            )
            if job is None:
                continue
            where = f"at step {job.step} of {job.steps}"
            if job.cancel_requested:
                job_transition(job=job, to=Status.CANCELED, run_token="")
            elif job.attempts < _conf("MAX_ATTEMPTS"):
                job_transition(
                    job=job, to=Status.QUEUED, run_token="", step=0, eta_s=None,
                    error=f"The worker running attempt {job.attempts} stopped {where}; the job was requeued.",
                )
                _enqueue(job)
            else:
                job_transition(
                    job=job, to=Status.FAILED, run_token="",
                    error=(f"The worker running this job stopped {where} (attempt {job.attempts} of "
                           f"{_conf('MAX_ATTEMPTS')}); giving up. Retry to run it again."),
                )
                transaction.on_commit(lambda j=job: events.job_announce(j))
            log.warning("reaped stale job %s -> %s", job.pk, job.status)
            reaped.append(job)
    return reaped
