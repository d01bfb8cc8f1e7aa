"""The embedded default: a Celery worker in a thread of the web process, on the in-process broker."""
import logging
import socket
import threading

log = logging.getLogger(__name__)


def embedded_worker_start(*, queues=("gpu", "cpu")):
    """Start a solo-pool Celery worker in a daemon thread and return it once it consumes."""
    from celery.worker import WorkController

    from config.celery import app

    ready = threading.Event()

    class EmbeddedWorker(WorkController):
        def on_consumer_ready(self, consumer):
            super().on_consumer_ready(consumer)
            ready.set()

    worker = EmbeddedWorker(
        app=app,
        hostname=f"embedded@{socket.gethostname()}",
        pool="solo",
        concurrency=1,
        queues=list(queues),
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        loglevel="INFO",
    )
    thread = threading.Thread(target=worker.start, name="celery-embedded", daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("the embedded Celery worker did not start within 30 s")
    log.info("embedded Celery worker consuming %s", ", ".join(queues))
    return worker
