"""For You and Following at three site sizes: server-side latency (p50, p99) and queries per request.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_feed \\
        python benchmarks/feed/bench.py --out benchmarks/feed/results-postgresql.json --plot benchmarks/feed/latency.png

For each size (10k, 100k, 1M likes; videos = likes / 10, users = max(1,000, likes / 100)) it
seeds a throwaway test database (Django's test-database machinery: `test_<name>` next to the
configured one, dropped at the end) with `manage.py seed_site`, then, for the seeded account
"bench" (500 follows), in a fresh process (like a web worker: not the one that migrated and
seeded), calls the API views in-process through DRF's RequestFactory, timing the
view and the rendering of its JSON: `GET /api/feed/for-you` and `GET /api/feed/following`, the
first page (no cursor) and the next page (with the cursor of the first), 20 cards each.
For You four ways: as it comes (the viewer's cached pool serves repeat visits and next pages,
feed/for_you/pool.py), "pool stale" (the pool made older than its two fresh minutes before each
request: it is served, and a rebuild is sent to Celery; the lock that sends one per 30 s is
forgotten too, so every timed request sends one), "pool gone" (the pool forgotten before each
request, as past its ten minutes: the page is built from scratch with the viewer's cached
signals; this was "pool expired" before stale pools were served) and "nothing cached" (pool and
signals forgotten: everything from scratch, as the first visit in a while).
`--warmup` requests first, then `--requests` timed ones; every request's SQL queries are counted
(CaptureQueriesContext) and their database time summed. Also: how long seeding took. With
`--existing`, `--only` measures some of the ways alone (e.g. `--only "pool gone,nothing cached"`:
the pages built from scratch; round 7 ran it alternately on two checkouts for its A/B).

Each request is framed as Django's handler frames it, outside the timing: `request_started`
before the view, and the response's close() after it (as the server calls it once the response is
written), which sends `request_finished`; the receivers of those signals run as in a web worker
(since round 5: what For You defers until the response is sent, feed/for_you/later.py, and the
garbage collector's freeze after a process's first requests, feed/apps.py). The measuring process
keeps one database connection (CONN_MAX_AGE=None here), as every round measured; a deployment
with CONN_MAX_AGE=0 also opens one per request, which no row includes. With DATABASE_POOL_MAX set
(settings.py), each request borrows a connection from the process's pool at its first query and
gives it back at request_finished, as in a web worker with the pool (the JSON's `pool`). With
DATABASE_PREPARE_THRESHOLD set (settings.py), the statements of a page built from scratch run
prepared with generic plans; the JSON says which (`prepare_threshold`).
"""
import argparse
import json
import os
import platform as stdlib_platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
TARGET_P99_MS = 30.0


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000", help="likes per site, comma separated")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--plot", default=None)
    ap.add_argument("--existing", action="store_true",
                    help="measure the configured database as it is (seeded before, with the account 'bench')")
    ap.add_argument("--only", default="",
                    help="with --existing: only these ways, comma separated (e.g. 'pool gone,nothing cached'; "
                         "'as it comes' is For You's first way, 'following' Following)")
    args = ap.parse_args()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    if os.environ.get("BENCH_DB_NAME"):  # the child of measure_size: the test database just seeded
        connection.close()
        connection.settings_dict["NAME"] = os.environ["BENCH_DB_NAME"]
    if args.existing:  # the measuring process: one database connection for every request (below)
        connection.close()
        if not connection.settings_dict.get("OPTIONS", {}).get("pool"):  # a pool keeps its own (lent per request)
            connection.settings_dict["CONN_MAX_AGE"] = None
    if args.existing:
        result = measure_site(None, args)
        print(json.dumps(result, indent=2))
        return result
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        results = {
            "database": connection.vendor,
            "machine": f"{stdlib_platform.machine()}, {os.cpu_count()} CPU cores, Python {stdlib_platform.python_version()}",
            "requests": args.requests, "warmup": args.warmup, "target_p99_ms": TARGET_P99_MS, "sizes": [],
        }
        for likes in (int(s) for s in args.sizes.split(",")):
            results["sizes"].append(measure_size(likes, args))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.plot:
        plot(results, args.plot)
    return results


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def measure_size(likes: int, args) -> dict:
    from django.core.management import call_command

    videos, users = max(1, likes // 10), max(1000, likes // 100)
    call_command("flush", interactive=False, verbosity=0)
    started = time.perf_counter()
    call_command("seed_site", users=users, videos=videos, likes=likes, seed=args.seed, stdout=open(os.devnull, "w"))
    return measure_in_child(time.perf_counter() - started, args)


def measure_in_child(seed_s: float, args) -> dict:
    """The timing runs in a fresh process, as a web worker (which never migrates or seeds) would:
    in this one, what the migrations and the seeder left behind made every full garbage
    collection walk it (~95 ms a pass, several per 200 requests: the p99 of the from-scratch
    pages measured the benchmark, not the site)."""
    from django.db import connection

    env = dict(os.environ, BENCH_DB_NAME=connection.settings_dict["NAME"])
    command = [sys.executable, str(Path(__file__).resolve()), "--existing",
               "--requests", str(args.requests), "--warmup", str(args.warmup)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    result["seed_seconds"] = round(seed_s, 1)
    return result


def measure_site(seed_s: float | None, args) -> dict:
    from django.core.signals import request_started
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIRequestFactory, force_authenticate

    from accounts.models import Follow, User
    from feed.for_you import pool
    from feed.for_you.api import FollowingApi, ForYouApi
    from feed.models import Like, Video

    bench = User.objects.get(username="bench")
    factory = APIRequestFactory()
    views = {"for_you": ForYouApi.as_view(), "following": FollowingApi.as_view()}
    paths = {"for_you": "/api/feed/for-you", "following": "/api/feed/following"}

    def call(name: str, cursor: str | None, cold: str = ""):
        if cold == "pool stale":  # the pool's fresh minutes ran out: served, a rebuild sent
            if not pool.pool_age(bench.pk, pool.POOL_SECONDS + 1):
                pool.pool_invalidate(bench.pk)  # (none yet: this request builds one, the next is stale)
        elif cold == "pool gone":  # past its maximum age (the viewer's signals are still cached)
            pool.pool_expire(bench.pk)
        elif cold == "nothing cached":  # the viewer's pool and signals forgotten: all from scratch
            pool.pool_invalidate(bench.pk)
        request = factory.get(paths[name], {"cursor": cursor} if cursor else {})
        force_authenticate(request, user=bench)
        connection.queries_log.clear()  # only this request's queries (and no warning at 9,000)
        request_started.send(sender=None)  # as Django's handler does, outside the timing
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            response = views[name](request)
            response.render()
            elapsed = (time.perf_counter() - t0) * 1000
        response.close()  # sends request_finished, as the server does once the response is written
        assert response.status_code == 200, response.content[:300]
        sql_ms = sum(float(q["time"]) for q in ctx.captured_queries) * 1000
        return elapsed, len(ctx.captured_queries), sql_ms, response.data

    endpoints = {}
    runs = [("for_you", ""), ("for_you", "pool stale"), ("for_you", "pool gone"), ("for_you", "nothing cached"),
            ("following", "")]
    if getattr(args, "only", ""):
        wanted = {w.strip() for w in args.only.split(",")}
        runs = [(name, cold) for name, cold in runs
                if (cold or ("following" if name == "following" else "as it comes")) in wanted]
    for name, cold in runs:
        first = call(name, None, cold)[3]
        for page, cursor in (("first page", None), ("next page", first["next"])):
            if cold:
                page += f", {cold}"
            for _ in range(args.warmup):
                call(name, cursor, cold)
            times, queries, sql = [], [], []
            for _ in range(args.requests):
                elapsed, n, sql_ms, data = call(name, cursor, cold)
                times.append(elapsed)
                queries.append(n)
                sql.append(sql_ms)
            endpoints[f"{name} ({page})"] = {
                "cards": len(data["results"]),
                "p50_ms": round(statistics.median(times), 2), "p90_ms": round(_percentile(times, 90), 2),
                "p99_ms": round(_percentile(times, 99), 2), "mean_ms": round(statistics.fmean(times), 2),
                "max_ms": round(max(times), 2),
                "queries_min": min(queries), "queries_max": max(queries),
                "sql_ms_p50": round(statistics.median(sql), 2),
            }
    _purge_rebuilds()
    return {
        "likes": Like.objects.count(), "videos": Video.objects.count(), "users": User.objects.count(),
        "follows_of_viewer": Follow.objects.filter(follower=bench).count(),
        "seed_seconds": round(seed_s, 1) if seed_s is not None else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "prepare_threshold": connection.settings_dict.get("OPTIONS", {}).get("prepare_threshold"),
        "pool": connection.settings_dict.get("OPTIONS", {}).get("pool"),
        "endpoints": endpoints,
    }


def _purge_rebuilds() -> None:
    """The "pool stale" requests sent rebuilds to the broker and no worker ran them: drop them."""
    from config.celery import app

    with app.connection_for_write() as conn:
        try:
            conn.default_channel.queue_purge("cpu")
        except Exception:
            pass


def plot(results: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [s["likes"] for s in results["sizes"]]
    fig, ax = plt.subplots(figsize=(9, 4.2), dpi=120)
    styles = {"for_you (first page)": ("tab:purple", "For You"),
              "for_you (first page, pool stale)": ("tab:blue", "For You, pool stale"),
              "for_you (first page, nothing cached)": ("tab:orange", "For You, nothing cached"),
              "following (first page)": ("tab:green", "Following")}
    for name, (colour, label) in styles.items():
        ax.plot(sizes, [s["endpoints"][name]["p50_ms"] for s in results["sizes"]], "o-", color=colour,
                label=f"{label} p50")
        ax.plot(sizes, [s["endpoints"][name]["p99_ms"] for s in results["sizes"]], "s--", color=colour,
                label=f"{label} p99")
    ax.axhline(results["target_p99_ms"], color="tab:red", lw=1, ls=":", label="p99 target (30 ms)")
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.set_xlabel("site size: likes (videos = likes / 10)")
    ax.set_ylabel("server-side latency per page of 20 (ms)")
    prepared = results["sizes"][0].get("prepare_threshold") is not None
    pooled = bool(results["sizes"][0].get("pool"))
    ax.set_title(f"Feed latency vs site size ({results['database']}{', connection pool' if pooled else ''}"
                 f"{', prepared statements' if prepared else ''}, viewer with 500 follows)")
    top = max(v["p99_ms"] for s in results["sizes"] for k, v in s["endpoints"].items() if k in styles)
    ax.set_ylim(0, max(top, results["target_p99_ms"]) * 1.15)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))  # beside the axes: never over a line
    loads = ", ".join(f"{s['load_average'][0]:.1f}" for s in results["sizes"])
    fig.text(0.01, 0.01, f"{results['machine']}; load average at each size: {loads}", fontsize=7, color="gray")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path)


if __name__ == "__main__":
    main()
