"""Redis and PostgreSQL restarted while people browse, like, comment and generate.

A few client threads keep a browse + write mix going against the site (a separate process with a
separate worker) while the private Redis, then the private PostgreSQL, is killed and started again.
Every response is recorded. Afterwards: no 500 (an outage is a clear 503), every write that was
answered 2xx is still there, every job created ends succeeded, and the site serves normally again.

Used by tests/reliability/test_outages.py and `python -m benchmarks.reliability.run outages`."""
import threading
import time
import urllib.error
import urllib.request
from collections import Counter

from .services import FaultStack


class Traffic:
    """Client threads, each as one user: read the feed and a video, like it, comment, sometimes
    ask for a clip. Writes answered 2xx are remembered to be checked after the outages."""

    def __init__(self, stack: FaultStack, tokens: list[str], video_id: int, generate_every: int = 15):
        self.stack, self.tokens, self.video_id, self.generate_every = stack, tokens, video_id, generate_every
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.codes: Counter = Counter()
        self.timeline: list[tuple[float, str, int]] = []  # (t, what, status)
        self.comments: list[tuple[str, int]] = []  # (token, comment id) answered 201
        self.jobs: list[tuple[str, str]] = []  # (token, job id) answered 201
        self.unreachable = 0
        self.t0 = time.monotonic()

    def _call(self, what: str, method: str, path: str, body=None, token=None):
        try:
            status, data = self.stack.api(method, path, body, token=token)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            status, data = -1, None
        except ValueError:  # a body that is not JSON: recorded by its status
            status, data = 0, None
        with self.lock:
            if status == -1:
                self.unreachable += 1
            self.codes[status] += 1
            self.timeline.append((round(time.monotonic() - self.t0, 3), what, status))
        return status, data

    def _user(self, n: int, token: str) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            self._call("feed", "GET", "/api/feed?limit=10", token=token)
            self._call("video", "GET", f"/api/videos/{self.video_id}", token=token)
            self._call("like", "POST" if i % 2 else "DELETE", f"/api/videos/{self.video_id}/like", token=token)
            status, data = self._call("comment", "POST", f"/api/videos/{self.video_id}/comments",
                                      {"body": f"user {n} comment {i}"}, token=token)
            if status == 201:
                with self.lock:
                    self.comments.append((token, data["id"]))
            if i % self.generate_every == 1:
                status, data = self._call("generate", "POST", "/api/generations",
                                          {"prompt": "a blue square moving right", "steps": 2, "seed": i},
                                          token=token)
                if status == 201:
                    with self.lock:
                        self.jobs.append((token, data["id"]))
            time.sleep(0.05)

    def __enter__(self):
        self.threads = [threading.Thread(target=self._user, args=(n, t), daemon=True)
                        for n, t in enumerate(self.tokens)]
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)


def _wait_healthy(stack: FaultStack, token: str, timeout: float = 60) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if stack.api("GET", "/api/me", token=token)[0] == 200:
                return time.monotonic() - start
        except Exception:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the site did not recover\n{stack.log_tail()}")


def restarts_under_load(stack: FaultStack, *, users: int = 4, outage_s: float = 3.0, settle_s: float = 3.0,
                        rounds: int = 1, log=print) -> dict:
    stack.start_site(worker="no")
    stack.start_worker("gpu1")
    tokens = []
    for n in range(users):
        status, user = stack.api("POST", "/api/auth/signup", {"username": f"load{n}", "password": "correct-horse-42"})
        assert status == 201, user
        tokens.append(user["token"])
    # one published video everybody reads, likes and comments on
    status, job = stack.api("POST", "/api/generations", {"prompt": "a red circle moving left", "steps": 2, "seed": 1},
                            token=tokens[0])
    assert status == 201, job
    video_id = _wait_job(stack, tokens[0], job["id"])["video"]
    status, _ = stack.api("POST", f"/api/videos/{video_id}/publish", {"visibility": "public"}, token=tokens[0])
    assert status == 200

    outages = []
    with Traffic(stack, tokens, video_id) as traffic:
        time.sleep(settle_s)
        for r in range(rounds):
            for name, down, up in (("redis", stack.redis.stop, stack.redis.start),
                                   ("postgres", lambda: stack.pg.stop("immediate"), stack.pg.start)):
                t_down = time.monotonic() - traffic.t0
                down()
                log(f"round {r + 1}: {name} down at {t_down:.1f} s")
                time.sleep(outage_s)
                up()
                t_up = time.monotonic() - traffic.t0
                recovered = _wait_healthy(stack, tokens[0])
                log(f"round {r + 1}: {name} up at {t_up:.1f} s; site healthy {recovered:.1f} s later")
                outages.append({"service": name, "down_at_s": round(t_down, 2), "up_at_s": round(t_up, 2),
                                "healthy_after_s": round(recovered, 2)})
                time.sleep(settle_s)
    after = time.monotonic() - traffic.t0

    # the books: every write answered 2xx is there, every job created ends succeeded
    missing_comments = [cid for token, cid in traffic.comments if not _comment_exists(stack, video_id, cid)]
    jobs = [_wait_job(stack, token, job_id, timeout=240) for token, job_id in traffic.jobs]
    def window(o):
        return [(what, s) for t, what, s in traffic.timeline if o["down_at_s"] <= t <= o["up_at_s"] + o["healthy_after_s"]]

    during = {f'{o["service"]} #{i // 2 + 1}': dict(Counter(str(s) for _, s in window(o))) for i, o in enumerate(outages)}
    during_by_kind = {f'{o["service"]} #{i // 2 + 1}': dict(Counter(f"{what} {s}" for what, s in window(o)))
                      for i, o in enumerate(outages)}
    tail = [s for t, _, s in traffic.timeline if t > after - settle_s + 1]
    return {
        "users": users, "outage_s": outage_s, "rounds": rounds, "outages": outages,
        "requests": sum(traffic.codes.values()),
        "status_counts": {str(k): v for k, v in sorted(traffic.codes.items())},
        "status_counts_during_outages": during,
        "requests_during_outages": during_by_kind,
        "unreachable": traffic.unreachable,
        "comments_acknowledged": len(traffic.comments), "comments_missing_after": len(missing_comments),
        "jobs_acknowledged": len(traffic.jobs),
        "jobs_by_status_after": dict(Counter(j["status"] for j in jobs)),
        "last_seconds_statuses": dict(Counter(str(s) for s in tail)),
    }


def _comment_exists(stack: FaultStack, video_id: int, comment_id: int) -> bool:
    return bool(stack.sql("SELECT 1 FROM feed_comment WHERE id = %s AND video_id = %s", comment_id, video_id))


def _wait_job(stack: FaultStack, token: str, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    job = None
    while time.monotonic() < deadline:
        status, job = stack.api("GET", f"/api/generations/{job_id}", token=token)
        if status == 200 and job["status"] in ("succeeded", "failed", "canceled"):
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not end: {job}\n{stack.log_tail()}")


def assert_outages_handled(report: dict) -> None:
    codes = {int(k): v for k, v in report["status_counts"].items()}
    assert not [c for c in codes if c >= 500 and c != 503], report  # never a 500: an outage is a clear 503
    assert report["unreachable"] == 0, report  # the web server itself stays up
    assert 0 not in codes, report  # every answer is JSON, 503s included
    assert codes.get(503, 0) > 0, report  # the outages were seen (the test is not vacuous)
    assert report["comments_missing_after"] == 0, report  # 0 lost writes
    assert set(report["jobs_by_status_after"]) <= {"succeeded"}, report
    assert set(report["last_seconds_statuses"]) <= {"200", "201"}, report  # back to normal
