"""A worker with a thread pool and GENERATION_BATCH_MAX > 1: concurrent jobs share batches and each
still becomes its own draft video; a job cancelled mid-run stops without a video."""
import os
import threading
import time

import pytest

from generation import services
from generation.models import GenerationJob
from generation.services import run as run_module

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # worker threads writing at once need a server database: the SQLite test database is one
    # shared in-memory cache whose table locks fail concurrent writers (CI runs PostgreSQL)
    pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="needs PostgreSQL"),
]


@pytest.fixture
def batching_worker(settings, pipeline):
    settings.GENERATION = {**settings.GENERATION, "BATCH_MAX": 4}
    run_module._batching_pipeline.cache_clear()
    yield run_module.pipeline_get()
    run_module._batching_pipeline.cache_clear()


def run_in_threads(job_ids):
    results = {}

    def one(job_id):
        try:
            results[job_id] = services.job_run(job_id=job_id, worker="batch-test")
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=one, args=(j,)) for j in job_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def test_concurrent_jobs_are_batched_and_each_makes_one_video(alice, batching_worker):
    prompts = ["a red circle moving left", "a blue square moving up", "a green triangle falling"]
    jobs = [services.job_create(owner=alice, prompt=p, seed=i, steps=4) for i, p in enumerate(prompts)]
    ticks = batching_worker.scheduler.ticks
    results = run_in_threads([j.pk for j in jobs])
    assert set(results.values()) == {"succeeded"}
    assert batching_worker.scheduler.ticks - ticks < 3 * 4  # they shared network calls
    videos = {GenerationJob.objects.get(pk=j.pk).video_id for j in jobs}
    assert len(videos) == 3 and None not in videos


def test_cancel_during_a_batched_run_stops_that_job_only(alice, batching_worker):
    slow = services.job_create(owner=alice, prompt="a red circle moving right", seed=5, steps=100)
    fast = services.job_create(owner=alice, prompt="a blue circle moving left", seed=6, steps=4)
    results = {}
    slow_thread = threading.Thread(target=lambda: results.update(run_in_threads([slow.pk])))
    slow_thread.start()
    for _ in range(600):  # until the slow job is running
        if GenerationJob.objects.filter(pk=slow.pk, status="running").exists():
            break
        time.sleep(0.05)
    results.update(run_in_threads([fast.pk]))  # runs in the same batches as the slow one
    GenerationJob.objects.filter(pk=slow.pk).update(cancel_requested=True)
    slow_thread.join(120)
    assert results == {slow.pk: "canceled", fast.pk: "succeeded"}
    assert GenerationJob.objects.get(pk=slow.pk).video_id is None
