"""Every worker process watches for jobs whose worker died (heartbeat gone stale) and recovers them,
and sends again the message of jobs left queued too long (the broker lost it).
Started once per process: by the Celery `worker_ready` signal and by `manage.py runsite`; with a
beat process (`celery -A config beat`) the same sweep also runs as the task generation.jobs_reap."""
import logging
import threading

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger(__name__)
_started = threading.Lock()
_thread: threading.Thread | None = None


def _loop(stop: threading.Event) -> None:
    from .services import job_reap_stale, job_resend_unclaimed

    while True:
        try:
            close_old_connections()
            job_reap_stale()
            job_resend_unclaimed()
        except Exception:
            log.exception("reaping stale jobs failed; will try again")
        finally:
            close_old_connections()
        if stop.wait(settings.GENERATION["REAP_EVERY_S"]):
            return


def reaper_start() -> threading.Thread:
    global _thread
    with _started:
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_loop, args=(threading.Event(),), name="job-reaper", daemon=True)
            _thread.start()
    return _thread
