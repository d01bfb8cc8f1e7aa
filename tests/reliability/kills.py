"""kill -9 of generation workers in the middle of jobs, again and again, then the books are checked:
every job ended (succeeded here: attempts are not the limit), none twice, no video without its job.

Used by tests/reliability/test_worker_kills.py (a few kills) and by
`python -m benchmarks.reliability.run kills --kills 20` (the full run, results committed)."""
import os
import signal
import time

from .services import FaultStack

FINISHED = ("succeeded", "failed", "canceled")


def _signup(stack: FaultStack, name: str) -> str:
    status, user = stack.api("POST", "/api/auth/signup", {"username": name, "password": "correct-horse-42"})
    assert status == 201, user
    return user["token"]


def _running_victim(stack: FaultStack, alive: dict, min_step: int):
    """(job id, step, worker name, pid) of a job that a live worker runs past `min_step`, or None."""
    rows = stack.sql("SELECT id, step, run_token FROM generation_generationjob "
                     "WHERE status = 'running' AND step >= %s ORDER BY attempts, started_at", min_step)
    by_pid = {p.pid: name for name, p in alive.items()}
    for job_id, step, token in rows:
        parts = token.split(":")
        if len(parts) > 1 and parts[1].isdigit() and int(parts[1]) in by_pid:
            pid = int(parts[1])
            return str(job_id), step, by_pid[pid], pid
    return None  # (a job held by a killed worker waits for the reaper)


def books(stack: FaultStack) -> dict:
    """What the database says about every job and video, for the assertions."""
    jobs = stack.sql("SELECT status, count(*) FROM generation_generationjob GROUP BY status")
    videos_per_job = stack.sql(
        "SELECT j.id, count(v.id) FROM generation_generationjob j LEFT JOIN feed_video v ON v.id = j.video_id "
        "GROUP BY j.id HAVING count(v.id) > 1")
    orphans = stack.sql("SELECT count(*) FROM feed_video v WHERE NOT EXISTS "
                        "(SELECT 1 FROM generation_generationjob j WHERE j.video_id = v.id)")[0][0]
    succeeded_without_video = stack.sql(
        "SELECT count(*) FROM generation_generationjob WHERE status = 'succeeded' AND video_id IS NULL")[0][0]
    failed_without_reason = stack.sql(
        "SELECT count(*) FROM generation_generationjob WHERE status = 'failed' AND error = ''")[0][0]
    return {
        "jobs_by_status": {status: n for status, n in jobs},
        "videos": stack.sql("SELECT count(*) FROM feed_video")[0][0],
        "jobs_with_two_videos": len(videos_per_job),
        "videos_without_job": orphans,
        "succeeded_without_video": succeeded_without_video,
        "failed_without_reason": failed_without_reason,
        "attempts_max": stack.sql("SELECT coalesce(max(attempts), 0) FROM generation_generationjob")[0][0],
    }


def worker_kills(stack: FaultStack, *, kills: int, workers: int = 2, steps: int = 4, backlog: int = 3,
                 timeout_s: float = 900, log=print) -> dict:
    """Keep `backlog` jobs waiting, kill -9 whichever worker is mid-job (step >= 1) `kills` times
    (a fresh worker takes its place at once), then wait for every job to end."""
    stack.start_site(worker="no")
    alive = {}
    for i in range(workers):
        name = f"gpu{i}"
        alive[name] = stack.start_worker(name)
    token = _signup(stack, "kim")
    submitted: list[str] = []
    killed: list[dict] = []
    started = time.monotonic()
    deadline = started + timeout_s
    serial = workers

    def submit() -> None:
        n = len(submitted)
        status, job = stack.api("POST", "/api/generations",
                                {"prompt": f"a red circle moving left {n}", "steps": steps, "seed": n}, token=token)
        assert status == 201, job
        submitted.append(job["id"])

    while len(killed) < kills:
        assert time.monotonic() < deadline, f"only {len(killed)} kills in {timeout_s} s\n{stack.log_tail()}"
        waiting = stack.sql("SELECT count(*) FROM generation_generationjob WHERE status = 'queued'")[0][0]
        for _ in range(max(0, backlog - waiting)):
            submit()
        victim = _running_victim(stack, alive, min_step=1)
        if victim is None:
            time.sleep(0.1)
            continue
        job_id, step, name, pid = victim
        os.kill(pid, signal.SIGKILL)  # no cleanup, no ack
        alive.pop(name).wait(timeout=10)
        killed.append({"job": job_id, "step": step, "worker": name, "t_s": round(time.monotonic() - started, 2)})
        log(f"kill {len(killed)}/{kills}: worker {name} (pid {pid}) at step {step} of job {job_id}")
        submit()  # fresh work keeps coming, so the kills spread over many jobs
        serial += 1
        replacement = f"gpu{serial}"
        alive[replacement] = stack.start_worker(replacement)

    while True:
        open_jobs = stack.sql("SELECT count(*) FROM generation_generationjob WHERE status IN ('queued', 'running')")[0][0]
        if open_jobs == 0:
            break
        assert time.monotonic() < deadline, f"{open_jobs} jobs never ended\n{stack.log_tail()}"
        time.sleep(0.5)
    report = books(stack)
    report.update(kills=len(killed), jobs_submitted=len(submitted), killed=killed, steps=steps, workers=workers,
                  wall_s=round(time.monotonic() - started, 1),
                  killed_jobs_attempts={j: stack.sql("SELECT attempts FROM generation_generationjob WHERE id = %s",
                                                     j)[0][0] for j in {k["job"] for k in killed}})
    return report


def assert_nothing_lost(report: dict) -> None:
    statuses = report["jobs_by_status"]
    assert sum(statuses.values()) == report["jobs_submitted"], report
    assert statuses.get("succeeded", 0) == report["jobs_submitted"], report  # none lost, none failed
    assert report["videos"] == report["jobs_submitted"], report  # one video per job, no more
    assert report["jobs_with_two_videos"] == 0 and report["videos_without_job"] == 0, report
    assert report["succeeded_without_video"] == 0, report
    assert all(n >= 2 for n in report["killed_jobs_attempts"].values()), report  # each killed run was re-run
