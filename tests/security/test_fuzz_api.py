"""schemathesis against the OpenAPI schema: generated requests (valid and invalid) to every
operation, signed in with a token; none may get a 500.

SPACETIME_FUZZ_EXAMPLES sets examples per operation (default 8: ~1,000 requests in all for CI);
SPACETIME_FUZZ_REPORT=path writes how many requests were sent and the status codes seen
(benchmarks/reliability/results/fuzz.json: a run with 80 per operation, over 10,000 requests)."""
import json
import os
from collections import Counter

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, settings

from .world import build_world

EXAMPLES = int(os.environ.get("SPACETIME_FUZZ_EXAMPLES", "8"))
SEEN: Counter = Counter()
PER_OPERATION: Counter = Counter()

schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    path = os.environ.get("SPACETIME_FUZZ_REPORT")
    if path:
        with open(path, "w") as fh:
            json.dump({"requests": sum(SEEN.values()), "status_counts": dict(sorted(SEEN.items())),
                       "requests_per_operation": dict(sorted(PER_OPERATION.items())),
                       "examples_per_operation_setting": EXAMPLES}, fh, indent=2)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through the real WSGI handler, whose request signals close the database
    connection; the test's transaction lives on it (Django's test client unhooks them the same way)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(make_user):
    world = build_world(make_user)  # things to find: videos, a comment, a job
    return world.other.auth_token.key


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors(case, token):
    case.headers = {**(case.headers or {}), "Authorization": f"Token {token}"}
    response = case.call()
    SEEN[str(response.status_code)] += 1
    PER_OPERATION[f"{case.method} {case.path}"] += 1
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code,
                                        response.text[:500])
