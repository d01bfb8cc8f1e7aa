"""Celery tasks (thin): a GPU worker runs one generation job. Route: queue "gpu"."""
import logging

from celery import shared_task
from django.db import OperationalError, close_old_connections

from . import services

log = logging.getLogger(__name__)


@shared_task(
    name="generation.job_run",
    bind=True,
    acks_late=True,  # the message is acknowledged only after the job ran: a killed worker's
    reject_on_worker_lost=True,  # message comes back; the heartbeat reaper recovers the row
    ignore_result=True,
    max_retries=5,
)
def job_run(self, job_id: str) -> str:
    close_old_connections()
    try:
        return services.job_run(job_id=job_id, worker=self.request.hostname or "")
    except OperationalError as exc:  # database unreachable for a moment: try again shortly
        raise self.retry(exc=exc, countdown=5)
    finally:
        close_old_connections()


@shared_task(name="generation.jobs_reap", ignore_result=True)
def jobs_reap() -> int:
    return len(services.job_reap_stale()) + len(services.job_resend_unclaimed())
