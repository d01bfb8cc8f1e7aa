"""Celery worker hooks: start the stale-job reaper in every worker."""
from celery.signals import worker_ready


@worker_ready.connect
def _start_reaper(**kwargs) -> None:
    from .reaper import reaper_start

    reaper_start()
