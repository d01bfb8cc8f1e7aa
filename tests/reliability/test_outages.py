"""Redis and PostgreSQL restarted while requests and jobs are in flight (private servers):
at most clear 503s during the outage, 0 500s, 0 lost writes after."""
import pytest

from .outages import assert_outages_handled, restarts_under_load
from .services import FaultStack

pytestmark = pytest.mark.stack


def test_redis_and_postgres_restarts_under_load(tmp_path):
    stack = FaultStack(tmp_path)
    try:
        report = restarts_under_load(stack, users=3, outage_s=2.0, settle_s=2.0, rounds=1)
    finally:
        stack.stop()
    assert [o["service"] for o in report["outages"]] == ["redis", "postgres"]
    assert_outages_handled(report)
