"""Where a For You page built from scratch spends its time: cProfile over N requests (the API view
and its JSON, as bench.py calls it) on an already seeded database (`manage.py seed_site`).

    DATABASE_URL=... REDIS_URL=... python benchmarks/feed/profile_page.py --mode expired -n 200

--mode expired: the pool forgotten before each request (signals cached); nothing: pool and signals
forgotten. Prints the top functions by cumulative and by own time.
"""
import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=("expired", "nothing", "stale"), default="expired")
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--top", type=int, default=35)
    args = ap.parse_args()
    import django

    django.setup()
    from django.conf import settings
    from rest_framework.test import APIRequestFactory, force_authenticate

    from accounts.models import User
    from feed.for_you import pool
    from feed.for_you.api import ForYouApi

    settings.ALLOWED_HOSTS = ["*"]
    bench = User.objects.get(username="bench")
    view, factory = ForYouApi.as_view(), APIRequestFactory()

    def call():
        if args.mode == "expired":
            pool.pool_expire(bench.pk)
        elif args.mode == "nothing":
            pool.pool_invalidate(bench.pk)
        else:
            pool.pool_age(bench.pk, pool.POOL_SECONDS + 1)
        request = factory.get("/api/feed/for-you")
        force_authenticate(request, user=bench)
        response = view(request)
        response.render()

    for _ in range(20):
        call()
    profile, started = cProfile.Profile(), time.perf_counter()
    profile.enable()
    for _ in range(args.n):
        call()
    profile.disable()
    print(f"{(time.perf_counter() - started) * 1000 / args.n:.1f} ms a request under the profiler")
    stats = pstats.Stats(profile)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
