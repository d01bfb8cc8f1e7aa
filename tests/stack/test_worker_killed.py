"""kill -9 of a separate Celery worker in the middle of a job: the job does not vanish. The stale
heartbeat is noticed, the job is requeued, and another worker finishes it."""
import os
import signal
import time

import pytest

from tests.processes import Stack

pytestmark = pytest.mark.stack


@pytest.fixture
def stack(tmp_path):
    s = Stack(tmp_path, "scaled", GENERATION_STALE_AFTER_S=6, GENERATION_REAP_EVERY_S=1)
    yield s
    s.stop()


def poll_job(stack, job_id, token, until, timeout=240):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, job = stack.api("GET", f"/api/generations/{job_id}", token=token)
        assert status == 200, job
        if until(job):
            return job
        time.sleep(0.25)
    raise AssertionError(f"job never reached the condition; last: {job}\n{stack.log_tail()}")


def test_killed_worker_does_not_lose_the_job(stack):
    stack.start_site(worker="no")
    first = stack.start_worker("gpu1")
    stack.wait_log("gpu1", "ready")
    status, user = stack.api("POST", "/api/auth/signup", {"username": "kim", "password": "correct-horse-42"})
    assert status == 201, user
    token = user["token"]
    status, job = stack.api("POST", "/api/generations", {"prompt": "a green circle moving left", "steps": 8, "seed": 4},
                            token=token)
    assert status == 201, job

    running = poll_job(stack, job["id"], token, lambda j: j["status"] == "running" and j["step"] >= 2)
    os.kill(first.pid, signal.SIGKILL)  # the worker dies mid-job: no cleanup, no ack
    first.wait(timeout=10)
    assert running["step"] < 8

    status, after_kill = stack.api("GET", f"/api/generations/{job['id']}", token=token)
    assert status == 200 and after_kill["status"] in ("running", "queued")  # still there

    stack.start_worker("gpu2")
    done = poll_job(stack, job["id"], token, lambda j: j["status"] in ("succeeded", "failed", "canceled"))
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2 and done["video"] is not None
    status, video = stack.api("GET", f"/api/videos/{done['video']}", token=token)
    assert status == 200 and video["status"] == "draft" and video["seed"] == 4
    log = (stack.tmp / "gpu2.log").read_text()
    assert "reaped stale job" in log
