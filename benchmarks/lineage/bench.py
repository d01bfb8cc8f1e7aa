"""Lineage reads at depth 50 and with 10,000 descendants: query counts and latency.

    python benchmarks/lineage/bench.py [--out benchmarks/lineage/results-sqlite.json]
    DATABASE_URL=postgres://... python benchmarks/lineage/bench.py --out benchmarks/lineage/results-postgresql.json

Builds a throwaway test database (Django's test-database machinery: SQLite in memory by default,
`test_<name>` on PostgreSQL), writes a 50-deep remix chain and a 10,000-descendant family (a root,
100 remixes, 99 remixes of each) with the same paths `video_create_draft` writes (bulk inserted:
the files are not needed for reads), then times `feed.selectors.lineage_get` and the HTTP API
(`GET /api/videos/<id>/lineage`) for a signed-in viewer: median and p95 of 30 runs, and the
number of SQL queries each read issues.
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=None)
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        return run(args, connection, CaptureQueriesContext)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def _bulk(owner, parent, n, prompt):
    from feed.models import Video

    rows = [Video(owner=owner, prompt=f"{prompt} {i}", file="videos/x.mp4", poster="posters/x.png", seed=i,
                  model_version="bench", status=Video.Status.PUBLISHED, visibility=Video.Visibility.PUBLIC,
                  parent=parent, lineage_path=parent.descendant_prefix if parent else "",
                  depth=parent.depth + 1 if parent else 0, remix_mode="remix" if parent else "")
            for i in range(n)]
    return Video.objects.bulk_create(rows, batch_size=500)


def run(args, connection, CaptureQueriesContext) -> dict:
    from accounts.services import user_create
    from feed import selectors
    from rest_framework.test import APIClient

    alice = user_create(username="alice", password="correct-horse-42")
    viewer = user_create(username="viewer", password="correct-horse-42")
    chain = _bulk(alice, None, 1, "chain")
    for _ in range(50):
        chain += _bulk(alice, chain[-1], 1, "chain")
    t0 = time.perf_counter()
    root = _bulk(alice, None, 1, "family")[0]
    kids = _bulk(alice, root, 100, "kid")
    for kid in kids:
        _bulk(alice, kid, 99, "grandkid")
    build_s = time.perf_counter() - t0
    client = APIClient()
    client.force_authenticate(viewer)

    def measure(label, fn):
        with CaptureQueriesContext(connection) as ctx:
            fn()
        queries = len(ctx.captured_queries)
        times = []
        for _ in range(args.runs):
            s = time.perf_counter()
            fn()
            times.append((time.perf_counter() - s) * 1000)
        times.sort()
        row = {"case": label, "queries": queries, "median_ms": round(statistics.median(times), 2),
               "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2)}
        print(f"{label:58s} {queries:3d} queries  median {row['median_ms']:8.2f} ms  p95 {row['p95_ms']:8.2f} ms",
              flush=True)
        return row

    def api(video_id, **params):
        def call():
            res = client.get(f"/api/videos/{video_id}/lineage", params)
            assert res.status_code == 200, res.content
            return res.json()
        return call

    deep, mid = chain[-1], kids[50]
    body = api(root.pk, limit=50)()
    assert body["descendant_count"] == 100 + 100 * 99 and body["remix_count"] == 100
    assert len(api(deep.pk)()["ancestors"]) == 50
    rows = [
        measure("selector: leaf at depth 50 (50 ancestors)", lambda: selectors.lineage_get(video_id=deep.pk, viewer=viewer)),
        measure("selector: root of 10,000 descendants, first page of 50",
                lambda: selectors.lineage_get(video_id=root.pk, viewer=viewer)),
        measure("selector: root of 10,000 descendants, page at offset 9,950",
                lambda: selectors.lineage_get(video_id=root.pk, viewer=viewer, offset=9950)),
        measure("selector: a remix with 99 remixes (1 ancestor)", lambda: selectors.lineage_get(video_id=mid.pk, viewer=viewer)),
        measure("API: leaf at depth 50", api(deep.pk)),
        measure("API: root of 10,000 descendants, limit 50", api(root.pk, limit=50)),
        measure("API: root of 10,000 descendants, limit 200", api(root.pk, limit=200)),
    ]
    report = {"database": connection.vendor, "server_version": getattr(connection, "pg_version", None) or
              connection.Database.sqlite_version if connection.vendor == "sqlite" else str(connection.pg_version),
              "videos": 51 + 1 + 100 + 9900, "build_s": round(build_s, 2), "runs": args.runs, "rows": rows}
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    main()
