"""Job lifecycle without a worker: validation, the state machine, cancel, retry, the reaper, and
the Celery message that job_create sends once the row is committed."""
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery import app
from generation import services
from generation.models import GenerationJob
from generation.services import IllegalTransition

pytestmark = pytest.mark.django_db
S = GenerationJob.Status


def gpu_messages():
    """Take every message waiting in the broker's "gpu" queue (memory:// or Redis, for real)."""
    out = []
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        while (msg := channel.basic_get("gpu", no_ack=True)) is not None:
            out.append(msg)
    return out


def test_job_create_sends_the_celery_message_only_after_commit(alice, django_capture_on_commit_callbacks):
    gpu_messages()
    with django_capture_on_commit_callbacks(execute=True):
        job = services.job_create(owner=alice, prompt="  a red circle moving right  ", seed=7, steps=4)
        assert gpu_messages() == []  # not before the row is committed
    assert job.status == S.QUEUED and job.prompt == "a red circle moving right" and job.seed == 7
    messages = gpu_messages()
    assert len(messages) == 1
    assert messages[0].headers["task"] == "generation.job_run"
    args, kwargs, _ = messages[0].decode()
    assert args == [str(job.pk)]


def test_job_create_rolled_back_sends_nothing(alice, django_capture_on_commit_callbacks):
    from django.db import transaction

    gpu_messages()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError):
            with transaction.atomic():
                services.job_create(owner=alice, prompt="a red circle", steps=4)
                raise RuntimeError("boom")
    assert callbacks == [] and gpu_messages() == []
    assert not GenerationJob.objects.exists()


def test_defaults_and_random_seed(alice):
    job = services.job_create(owner=alice, prompt="a blue square")
    assert job.steps == 20 and job.guidance == 2.0 and 0 <= job.seed <= 2**31 - 1


def test_state_machine_rejects_illegal_transitions(alice):
    job = services.job_create(owner=alice, prompt="a red circle", steps=4)
    with pytest.raises(IllegalTransition):
        services.job_transition(job=job, to=S.SUCCEEDED)  # queued -> succeeded skips running
    services.job_transition(job=job, to=S.RUNNING)
    services.job_transition(job=job, to=S.SUCCEEDED)
    for target in (S.QUEUED, S.RUNNING, S.FAILED, S.CANCELED):
        with pytest.raises(IllegalTransition):
            services.job_transition(job=job, to=target)
    job.refresh_from_db()
    assert job.status == S.SUCCEEDED and job.finished_at is not None


def test_active_job_limit(alice, settings):
    settings.GENERATION = settings.GENERATION | {"MAX_ACTIVE_JOBS_PER_USER": 2}
    services.job_create(owner=alice, prompt="one")
    services.job_create(owner=alice, prompt="two")
    with pytest.raises(Exception) as exc:
        services.job_create(owner=alice, prompt="three")
    assert "in the making" in str(exc.value)


def test_cancel_queued_is_immediate_and_running_is_requested(alice):
    queued = services.job_create(owner=alice, prompt="a red circle", steps=4)
    assert services.job_cancel(job=queued, user=alice).status == S.CANCELED
    running = services.job_create(owner=alice, prompt="a red circle", steps=4)
    services.job_transition(job=running, to=S.RUNNING)
    after = services.job_cancel(job=running, user=alice)
    assert after.status == S.RUNNING and after.cancel_requested


def test_retry_only_failed_jobs(alice, bob):
    job = services.job_create(owner=alice, prompt="a red circle", steps=4)
    with pytest.raises(Exception) as exc:
        services.job_retry(job=job, user=alice)
    assert "Only failed" in str(exc.value)
    services.job_transition(job=job, to=S.FAILED, error="Generation failed: boom")
    with pytest.raises(Exception):
        services.job_retry(job=job, user=bob)
    again = services.job_retry(job=job, user=alice)
    assert again.status == S.QUEUED and again.error == "" and again.finished_at is None


def test_reaper_requeues_a_stale_running_job_then_gives_up(alice, settings):
    settings.GENERATION = settings.GENERATION | {"STALE_AFTER_S": 30, "MAX_ATTEMPTS": 2}
    job = services.job_create(owner=alice, prompt="a red circle", steps=4)
    old = timezone.now() - timedelta(seconds=60)
    GenerationJob.objects.filter(pk=job.pk).update(status=S.RUNNING, attempts=1, heartbeat_at=old, step=2, run_token="w1")
    fresh = services.job_create(owner=alice, prompt="alive", steps=4)
    GenerationJob.objects.filter(pk=fresh.pk).update(status=S.RUNNING, attempts=1, heartbeat_at=timezone.now())

    reaped = services.job_reap_stale()
    assert [j.pk for j in reaped] == [job.pk]
    job.refresh_from_db()
    assert job.status == S.QUEUED and "stopped at step 2 of 4" in job.error and job.run_token == ""
    assert GenerationJob.objects.get(pk=fresh.pk).status == S.RUNNING  # a live worker keeps its job

    GenerationJob.objects.filter(pk=job.pk).update(status=S.RUNNING, attempts=2, heartbeat_at=old)
    services.job_reap_stale()
    job.refresh_from_db()
    assert job.status == S.FAILED and "giving up" in job.error


def test_reaper_honours_a_cancel_request(alice, settings):
    job = services.job_create(owner=alice, prompt="a red circle", steps=4)
    old = timezone.now() - timedelta(seconds=settings.GENERATION["STALE_AFTER_S"] + 5)
    GenerationJob.objects.filter(pk=job.pk).update(status=S.RUNNING, heartbeat_at=old, cancel_requested=True)
    services.job_reap_stale()
    job.refresh_from_db()
    assert job.status == S.CANCELED
