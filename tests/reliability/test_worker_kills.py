"""kill -9 of generation workers mid-job, repeatedly, against a private PostgreSQL and Redis:
0 jobs lost, 0 duplicated (the full run of 20 kills: benchmarks/reliability/)."""
import pytest

from .kills import assert_nothing_lost, worker_kills
from .services import FaultStack

pytestmark = pytest.mark.stack


def test_repeated_worker_kills_lose_and_duplicate_nothing(tmp_path):
    stack = FaultStack(tmp_path)
    try:
        report = worker_kills(stack, kills=3, workers=2, steps=4, backlog=2, timeout_s=240)
    finally:
        stack.stop()
    assert report["kills"] == 3
    assert_nothing_lost(report)
