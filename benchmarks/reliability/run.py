"""The full fault runs (the pytest versions in tests/reliability/ are shorter), results as JSON.

    python -m benchmarks.reliability.run kills --kills 20      # kill -9 workers mid-job 20 times
    python -m benchmarks.reliability.run outages --rounds 3    # restart Redis and PostgreSQL under load

Both start their own PostgreSQL and Redis in temporary folders on free loopback ports (never the
shared servers), the site and Celery workers as separate processes, and stop everything after."""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for p in (str(ROOT / "platform"), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)

from tests.reliability.kills import assert_nothing_lost, worker_kills  # noqa: E402
from tests.reliability.outages import assert_outages_handled, restarts_under_load  # noqa: E402
from tests.reliability.services import FaultStack  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    k = sub.add_parser("kills")
    k.add_argument("--kills", type=int, default=20)
    k.add_argument("--workers", type=int, default=2)
    k.add_argument("--steps", type=int, default=4)
    o = sub.add_parser("outages")
    o.add_argument("--rounds", type=int, default=3)
    o.add_argument("--users", type=int, default=6)
    o.add_argument("--outage-s", type=float, default=5.0)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix=f"spacetime-{args.what}-"))
    stack = FaultStack(tmp)
    started = time.time()
    try:
        if args.what == "kills":
            report = worker_kills(stack, kills=args.kills, workers=args.workers, steps=args.steps, backlog=3,
                                  timeout_s=1800)
            check = assert_nothing_lost
        else:
            report = restarts_under_load(stack, users=args.users, outage_s=args.outage_s, settle_s=4.0,
                                         rounds=args.rounds)
            check = assert_outages_handled
    finally:
        stack.stop()
    report["command"] = "python -m benchmarks.reliability.run " + " ".join(sys.argv[1:])
    report["machine"] = f"{os.cpu_count()} CPU cores, shared; {time.strftime('%Y-%m-%d', time.gmtime(started))}"
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{args.what}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    check(report)
    print(f"ok: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
