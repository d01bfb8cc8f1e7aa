"""Load test: N concurrent users browse, like and generate against the site, with a separate
generation worker, on loopback only, for a bounded time per level.

    python benchmarks/load/run.py --users 50 200 --seconds 30 --out benchmarks/load/results.json

What it starts (and stops): a private PostgreSQL and Redis in temporary folders on free ports (the
shared servers are not touched), the site as a web host runs it (uvicorn, --web-workers processes,
production settings: DEBUG=false) and one Celery worker on queue
gpu, each its own process. It
seeds users and published videos, then for each level runs that many virtual users, each a
closed loop with no think time:

    browse: GET /api/feed, GET /api/videos/<id>, GET /api/videos/<id>/comments, GET / (the page)
    like:   POST or DELETE /api/videos/<id>/like (every 4th iteration)
    generate: POST /api/generations (once per user per level, 2 steps; the worker runs them)

and reports requests/s and latency percentiles for the browse mix and for everything, the status
codes, and a plot (benchmarks/load/results.png)."""
import argparse
import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (str(ROOT / "platform"), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

import aiohttp  # noqa: E402

from tests.reliability.services import FaultStack  # noqa: E402

BROWSE = ("feed", "video", "comments", "page")

SEED = """
from accounts.services import user_create
from feed.services import comment_create, video_create_draft, video_publish
from tests.security.world import mp4_bytes, png_bytes
from rest_framework.authtoken.models import Token
import json, sys
n_users, n_videos = {users}, {videos}
mp4, png = mp4_bytes(), png_bytes((64, 64))
from django.contrib.auth.hashers import make_password
from accounts.models import User
hashed = make_password("correct-horse-42")
users = User.objects.bulk_create([User(username=f"load{{i}}", password=hashed) for i in range(n_users)])
tokens = [Token.objects.create(user=u).key for u in users]
videos = []
for i in range(n_videos):
    v = video_create_draft(owner=users[i % min(20, n_users)], prompt=f"a red circle moving left {{i}}", seed=i, model_version="load",
                           mp4=mp4, poster_png=png, width=64, height=64, frame_count=16, fps=8)
    v = video_publish(video=v, user=users[i % min(20, n_users)], visibility="public", caption=f"clip {{i}}")
    comment_create(video=v, author=users[(i + 1) % n_users], body=f"nice {{i}}")
    videos.append(v.pk)
print(json.dumps({{"tokens": tokens, "videos": videos}}))
"""


def seed(stack: FaultStack, users: int, videos: int) -> dict:
    res = subprocess.run([sys.executable, "manage.py", "shell", "-c", SEED.format(users=users, videos=videos)],
                         cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


class Recorder:
    def __init__(self, measure_from: float):
        self.measure_from = measure_from  # requests started before this are the warm-up
        self.samples: list[tuple[str, float, int]] = []  # (kind, seconds, status)

    def add(self, kind: str, started: float, seconds: float, status: int) -> None:
        if started >= self.measure_from:
            self.samples.append((kind, seconds, status))


async def _request(session, rec, kind, method, url, token, **kw):
    started, t = time.monotonic(), time.perf_counter()
    try:
        async with session.request(method, url, headers={"Authorization": f"Token {token}"}, **kw) as res:
            await res.read()
            status = res.status
    except (aiohttp.ClientError, asyncio.TimeoutError):
        status = -1
    rec.add(kind, started, time.perf_counter() - t, status)
    return status


async def user_loop(session, base, token, videos, rec, stop_at, rng):
    i = 0
    generated = False
    while time.monotonic() < stop_at:
        i += 1
        vid = rng.choice(videos)
        await _request(session, rec, "feed", "GET", f"{base}/api/feed?limit=20", token)
        await _request(session, rec, "video", "GET", f"{base}/api/videos/{vid}", token)
        await _request(session, rec, "comments", "GET", f"{base}/api/videos/{vid}/comments", token)
        await _request(session, rec, "page", "GET", f"{base}/", token)
        if i % 4 == 0:
            await _request(session, rec, "like", "POST" if i % 8 == 0 else "DELETE", f"{base}/api/videos/{vid}/like",
                           token)
        if not generated and rng.random() < 0.2:
            generated = True
            await _request(session, rec, "generate", "POST", f"{base}/api/generations", token,
                           json={"prompt": "a blue square moving right", "steps": 2, "seed": i})


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = min(len(values) - 1, max(0, int(round(q / 100 * (len(values) - 1)))))
    return values[k]


def summarize(samples, seconds: float) -> dict:
    def stats(rows):
        lat = [s for _, s, _ in rows]
        return {"requests": len(rows), "rps": round(len(rows) / seconds, 1),
                "p50_ms": round(percentile(lat, 50) * 1000, 1), "p95_ms": round(percentile(lat, 95) * 1000, 1),
                "p99_ms": round(percentile(lat, 99) * 1000, 1), "max_ms": round(max(lat) * 1000, 1) if lat else None}

    by_kind = defaultdict(list)
    for row in samples:
        by_kind[row[0]].append(row)
    browse = [r for r in samples if r[0] in BROWSE]
    return {
        "browse": stats(browse), "all": stats(samples),
        "by_kind": {k: stats(v) for k, v in sorted(by_kind.items())},
        "status_counts": {str(k): v for k, v in sorted(Counter(s for _, _, s in samples).items())},
        "errors_5xx": sum(1 for _, _, s in samples if s >= 500),
        "unreachable": sum(1 for _, _, s in samples if s == -1),
    }


async def run_level(base, tokens, videos, users: int, seconds: float, warmup: float) -> tuple[dict, list]:
    rec = Recorder(measure_from=time.monotonic() + warmup)
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        start = time.monotonic()
        stop_at = start + warmup + seconds
        rngs = [random.Random(n) for n in range(users)]
        await asyncio.gather(*(user_loop(session, base, tokens[n % len(tokens)], videos, rec, stop_at, rngs[n])
                               for n in range(users)))
    return summarize(rec.samples, seconds), rec.samples


def plot(results: dict, levels_samples: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    levels = [int(k) for k in results["levels"]]
    a.bar([str(u) for u in levels], [results["levels"][str(u)]["browse"]["rps"] for u in levels], color="#8b5cf6")
    a.set_xlabel("concurrent users")
    a.set_ylabel("browse requests / s")
    a.set_title("Throughput (browse mix)")
    for u in levels:
        lat = sorted(s * 1000 for k, s, _ in levels_samples[u] if k in BROWSE)
        b.plot(lat, [i / len(lat) for i in range(len(lat))],
               label=f"{u} users (p99 {results['levels'][str(u)]['browse']['p99_ms']:.0f} ms)")
    b.set_xscale("log")
    b.set_xlabel("latency (ms, log)")
    b.set_ylabel("fraction of requests")
    b.set_title("Latency distribution (browse mix)")
    b.legend()
    fig.suptitle(f"Spacetime on {results['machine']}")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--videos", type=int, default=60)
    parser.add_argument("--web-workers", type=int, default=2, help="uvicorn processes (one per core)")
    parser.add_argument("--db-pool", type=int, default=0,
                        help="DATABASE_POOL_MAX for the web processes (with DATABASE_PREPARE_THRESHOLD=2), "
                             "as deploy/env.example; 0: one connection per request")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results.json")
    args = parser.parse_args()
    pool = {"DATABASE_POOL_MAX": str(args.db_pool), "DATABASE_PREPARE_THRESHOLD": "2"} if args.db_pool else {}

    tmp = Path(tempfile.mkdtemp(prefix="spacetime-load-"))
    stack = FaultStack(tmp, DEBUG="false", SECRET_KEY=secrets.token_urlsafe(50), SECURE_SSL_REDIRECT="false",
                       SESSION_COOKIE_SECURE="false", CSRF_COOKIE_SECURE="false", CONN_MAX_AGE="0",
                       ALLOWED_HOSTS="127.0.0.1,localhost", LOG_LEVEL="WARNING",
                       GENERATION_STALE_AFTER_S="120", GENERATION_RESEND_QUEUED_AFTER_S="300", **pool)
    results = {"command": "python benchmarks/load/run.py " + " ".join(sys.argv[1:]),
               "machine": f"{os.cpu_count()} CPU cores (shared), site + worker + PostgreSQL + Redis + client",
               "seconds_per_level": args.seconds, "levels": {}}
    samples = {}
    try:
        stack.start_web(workers=args.web_workers)
        stack.start_worker("gpu1")
        world = seed(stack, users=max(args.users), videos=args.videos)
        for users in args.users:
            print(f"{users} users for {args.seconds:.0f} s ...", flush=True)
            summary, measured = asyncio.run(run_level(stack.base, world["tokens"], world["videos"], users,
                                                      args.seconds, args.warmup))
            results["levels"][str(users)] = summary
            samples[users] = measured
            print(json.dumps({"users": users, "browse": summary["browse"], "status": summary["status_counts"]}),
                  flush=True)
        results["jobs"] = dict(stack.sql("SELECT status, count(*) FROM generation_generationjob GROUP BY status"))
    finally:
        stack.stop()
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    plot(results, samples, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
