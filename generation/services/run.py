"""What a GPU worker does with one job: claim it, run the DiT step by step with live progress and
cancel checks, then store the clip (MP4 + poster) as its owner's draft video."""
import functools
import logging
import os
import socket
import threading
import time
import traceback
import uuid

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from ..models import GenerationJob
from . import events
from .jobs import job_transition
from .remix import job_events, video_remix_mode

log = logging.getLogger(__name__)
Status = GenerationJob.Status


def pipeline_get():
    """The process-wide DiT pipeline (loaded once per worker process). With GENERATION_BATCH_MAX
    above 1 (for a worker with a thread pool: `celery -A config worker -Q gpu -P threads -c 16`),
    the jobs its threads run at the same time share one network call a step
    (generation/dit/batching.py); progress and cancel stay per job."""
    from generation.dit.pipeline import get_pipeline

    batch_max = settings.GENERATION.get("BATCH_MAX", 1)
    return _batching_pipeline(batch_max) if batch_max > 1 else get_pipeline()


@functools.lru_cache(maxsize=None)
def _batching_pipeline(batch_max: int):
    from generation.dit.batching import BatchingPipeline
    from generation.dit.pipeline import get_pipeline

    return BatchingPipeline(get_pipeline(), max_batch=batch_max)


def job_claim(*, job_id, run_token: str, model_version: str) -> GenerationJob | None:
    """queued -> running for exactly one worker run; None if the job is gone or not queued."""
    with transaction.atomic():
        job = GenerationJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status != Status.QUEUED:
            return None
        if job.cancel_requested:
            job_transition(job=job, to=Status.CANCELED)
            transaction.on_commit(lambda: events.job_announce(job))
            return None
        now = timezone.now()
        job_transition(job=job, to=Status.RUNNING, run_token=run_token, attempts=job.attempts + 1,
                       started_at=now, heartbeat_at=now, step=0, model_version=model_version)
    return job


def _still_mine(job: GenerationJob, run_token: str):
    return GenerationJob.objects.filter(pk=job.pk, status=Status.RUNNING, run_token=run_token)


def _finish(job: GenerationJob, run_token: str, to: str, **fields) -> GenerationJob | None:
    with transaction.atomic():
        fresh = _still_mine(job, run_token).select_for_update().first()
        if fresh is None:
            return None
        job_transition(job=fresh, to=to, **fields)
    return fresh


class Heartbeat:
    """While a run holds a job, a thread stamps `heartbeat_at` every few seconds, however long a
    single step takes. When the process dies the stamps stop, and the reaper notices."""

    def __init__(self, job: GenerationJob, run_token: str):
        self.job, self.run_token, self.stop = job, run_token, threading.Event()
        stale = settings.GENERATION["STALE_AFTER_S"]
        self.every = max(0.2, min(10.0, stale / 4))
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{job.pk}", daemon=True)

    def _beat(self) -> None:
        from django.db import close_old_connections

        try:
            while not self.stop.wait(self.every):
                try:
                    _still_mine(self.job, self.run_token).update(heartbeat_at=timezone.now())
                except OperationalError as exc:  # database restarting: keep beating once it is back
                    log.warning("heartbeat of job %s missed (%s)", self.job.pk, exc)
                    connection.close_if_unusable_or_obsolete()
        except Exception:
            log.exception("heartbeat of job %s failed", self.job.pk)
        finally:
            close_old_connections()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)


def job_run(*, job_id, worker: str = "") -> str:
    """Run one job to its end. Returns the job's final status as this run saw it ("skipped" when
    another run holds it, it is finished, or it does not exist)."""
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job is None or job.status != Status.QUEUED:
        log.info("job %s is %s; nothing to do", job_id, job.status if job else "unknown")
        return "skipped"
    pipe = pipeline_get()  # before claiming: loading weights must not count against heartbeats
    run_token = f"{worker or socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    job = job_claim(job_id=job_id, run_token=run_token, model_version=pipe.model_version)
    if job is None:
        return "skipped"
    events.queue_positions_announce()
    log.info("job %s running (attempt %s) on %s", job.pk, job.attempts, run_token)

    with Heartbeat(job, run_token):
        return _run_claimed(job, run_token, pipe)


def _run_claimed(job: GenerationJob, run_token: str, pipe) -> str:
    write_every = settings.GENERATION["PROGRESS_WRITE_EVERY_S"]
    last_write = 0.0
    frames = None
    try:
        from cameos.services import job_cameos_attach, job_cameos_preflight

        # consent re-checked right before generating (it may have been taken back since job_create)
        cameo_image = job_cameos_preflight(job=job, pipe=pipe)
        for ev in job_events(job, pipe, cameo_image=cameo_image):
            if GenerationJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
                done = _finish(job, run_token, Status.CANCELED, step=ev.step)
                if done is not None:
                    events.job_announce(done)
                return Status.CANCELED
            preview = events.png_data_url(ev.preview)
            events.event_send(job_id=job.pk, event={
                "type": "progress", "job": str(job.pk), "status": Status.RUNNING, "step": ev.step,
                "steps": ev.steps, "eta": round(float(ev.eta_s), 2), "preview": preview,
            })
            now = time.monotonic()
            if now - last_write >= write_every or ev.step == ev.steps:
                last_write = now
                try:
                    updated = _still_mine(job, run_token).update(
                        step=ev.step, eta_s=float(ev.eta_s), last_preview=preview, heartbeat_at=timezone.now()
                    )
                except OperationalError as exc:  # the row's progress is advisory: a locked table must not fail the job
                    log.warning("job %s: progress not written (%s); next step tries again", job.pk, exc)
                    last_write, updated = 0.0, 1
                    connection.close_if_unusable_or_obsolete()  # a restarted database: reconnect next time
                if not updated:  # requeued after we were taken for dead, or finished elsewhere
                    log.warning("job %s was taken from run %s; stopping", job.pk, run_token)
                    return "skipped"
            if ev.frames is not None:
                frames = ev.frames
        if frames is None:
            raise RuntimeError("the pipeline ended without returning frames")
        from safety.services import video_frames_check

        # NSFW and likeness checks; a held clip fails the job. Outside the transaction below, so
        # the flagged-frames item for staff is kept although the job fails.
        video_frames_check(job=job, frames=frames)
        # The draft and the job's success commit together: a run killed in between leaves no
        # video behind, so the requeued run never makes a second one.
        with transaction.atomic():
            fresh = _still_mine(job, run_token).select_for_update().first()
            if fresh is None:
                return "skipped"
            video = _store(job, frames, pipe)
            job_cameos_attach(job=fresh, video=video)  # last consent check under lock; owners told
            job_transition(job=fresh, to=Status.SUCCEEDED, video=video, step=fresh.steps, eta_s=0.0)
        events.job_announce(fresh)
        return Status.SUCCEEDED
    except Exception as exc:
        log.exception("job %s failed", job.pk)
        reason = f"Generation failed: {type(exc).__name__}: {exc}".strip()
        done = _finish(job, run_token, Status.FAILED, error=reason[:2000])
        if done is not None:
            events.job_announce(done)
        log.debug("%s", traceback.format_exc())
        return Status.FAILED


def _store(job: GenerationJob, frames, pipe):
    """Frames (T, H, W, 3) uint8 -> H.264 MP4 + PNG poster -> storage -> draft Video."""
    from feed.services import video_create_draft
    from generation.dit.video_io import mp4_bytes

    from safety.services import video_provenance_sign, video_watermark

    frames = video_watermark(frames=frames, job=job)  # upscaled 4x, moving "@handle · Spacetime"
    t, h, w, _ = frames.shape
    mp4 = mp4_bytes(frames, fps=pipe.fps)

    mp4 = video_provenance_sign(mp4=mp4, job=job, model_version=pipe.model_version)  # C2PA manifest
    poster = events.png_bytes(frames[t // 2])
    return video_create_draft(
        owner=job.owner, prompt=job.prompt, seed=job.seed, model_version=pipe.model_version, mp4=mp4,
        poster_png=poster, width=w, height=h, frame_count=t, fps=pipe.fps, parent=job.parent,
        remix_mode=video_remix_mode(job),
    )
