"""Typed job events, sent to the channel-layer group of a job and to its owner's notifications.

Every event is JSON: {"type": "queued" | "progress" | "succeeded" | "failed" | "canceled",
"job": "<uuid>", ...}. A failure to deliver an event never fails the job: the row stays the truth.
"""
import base64
import io
import logging

import numpy as np
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from PIL import Image

from ..models import GenerationJob

log = logging.getLogger(__name__)


def job_group(job_id) -> str:
    return f"job-{job_id}"


def user_group(user_id) -> str:
    return f"user-{user_id}"


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), mode="RGB").save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def png_data_url(image: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def queue_position(job: GenerationJob) -> int:
    """1 = next to run."""
    ahead = GenerationJob.objects.filter(status=GenerationJob.Status.QUEUED, queued_at__lt=job.queued_at).count()
    return ahead + 1


def event_for(job: GenerationJob) -> dict:
    """The event that describes the job's current state (sent on subscribe and on changes)."""
    base = {"job": str(job.pk), "status": job.status}
    if job.status == GenerationJob.Status.QUEUED:
        return base | {"type": "queued", "position": queue_position(job), "attempt": job.attempts + 1,
                       "note": job.error}
    if job.status == GenerationJob.Status.RUNNING:
        return base | {"type": "progress", "step": job.step, "steps": job.steps, "eta": job.eta_s,
                       "preview": job.last_preview or None}
    if job.status == GenerationJob.Status.SUCCEEDED:
        video = job.video
        return base | {"type": "succeeded", "video": video.pk if video else None,
                       "url": video.file.url if video else None,
                       "poster": video.poster.url if video else None}
    if job.status == GenerationJob.Status.FAILED:
        return base | {"type": "failed", "reason": job.error or "The job failed."}
    return base | {"type": "canceled"}


def _group_send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:  # the channel layer is best effort; the row is the truth
        log.exception("could not send %s to %s", message.get("type"), group)


def event_send(*, job_id, event: dict) -> None:
    _group_send(job_group(job_id), {"type": "job.event", "event": event})


def notify_user(*, user_id, payload: dict) -> None:
    _group_send(user_group(user_id), {"type": "user.notification", "payload": payload})


def job_announce(job: GenerationJob) -> None:
    """Send the job's current state to its subscribers, and tell its owner when it finished."""
    event = event_for(job)
    event_send(job_id=job.pk, event=event)
    if job.is_finished:
        notify_user(user_id=job.owner_id, payload={"kind": f"job.{job.status}"} | event)


def queue_positions_announce(limit: int = 50) -> None:
    """A job left the queue: tell the ones still waiting where they stand now."""
    queued = GenerationJob.objects.filter(status=GenerationJob.Status.QUEUED).order_by("queued_at")[:limit]
    for position, job in enumerate(queued, start=1):
        event_send(job_id=job.pk, event={"type": "queued", "job": str(job.pk), "status": job.status,
                                         "position": position, "attempt": job.attempts + 1, "note": job.error})
