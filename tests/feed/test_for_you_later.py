"""Work after the response (feed/for_you/later.py): inside a request the pool's write and a stale
pool's rebuild wait for the response to be finished; outside one they run at once; a failure is
logged, never raised."""
import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from rest_framework.test import APIRequestFactory, force_authenticate

from accounts.services import user_follow
from feed.for_you import later, pool
from feed.for_you.api import ForYouApi
from tests.feed.for_you_helpers import post
from tests.feed.test_for_you_stale_pool import _sent_rebuilds

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_request_left_open():
    # as Django's test client does: the test's database connection stays open across the signals
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_finished.send(sender=None)  # a test that stopped half-way leaves nothing pending
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    _sent_rebuilds()


def test_outside_a_request_it_runs_at_once():
    done = []
    later.after_response(lambda: done.append(1))
    assert done == [1] and later.pending_count() == 0


def test_inside_a_request_it_waits_for_the_response_and_a_failure_is_only_logged(caplog):
    done = []
    request_started.send(sender=None)
    later.after_response(lambda: done.append(1))
    later.after_response(lambda: 1 / 0)
    later.after_response(lambda: done.append(2))
    assert done == [] and later.pending_count() == 3
    request_finished.send(sender=None)
    assert done == [1, 2] and later.pending_count() == 0
    assert "work after the response failed" in caplog.text
    later.after_response(lambda: done.append(3))  # the request is over: at once again
    assert done == [1, 2, 3]


def test_a_request_never_finished_leaves_its_work_to_the_next_one():
    done = []
    request_started.send(sender=None)
    later.after_response(lambda: done.append(1))
    request_started.send(sender=None)  # the handler failed before it had a response
    assert done == [1]


def _site(make_user):
    viewer = make_user("viewer")
    for i in range(4):
        maker = make_user(f"maker{i}")
        user_follow(follower=viewer, followee=maker)
        post(maker, "a purple circle moving up", hours_ago=1 + i)
    return viewer


def _request(viewer):
    request = APIRequestFactory().get("/api/feed/for-you", {"limit": 3})
    force_authenticate(request, user=viewer)
    return request


def test_the_pool_is_written_once_the_response_is_finished(make_user):
    viewer = _site(make_user)
    pool.pool_invalidate(viewer.pk)
    request_started.send(sender=None)
    response = ForYouApi.as_view()(_request(viewer))
    response.render()
    assert response.status_code == 200 and len(response.data["results"]) == 3
    assert pool.pool_get(viewer)[0] is None  # not yet: the response is still being sent
    response.close()  # the server is done with it: request_finished
    assert pool.pool_get(viewer)[0] is not None


def test_a_stale_pool_publishes_its_rebuild_after_the_response(make_user, django_capture_on_commit_callbacks):
    viewer = _site(make_user)
    request_started.send(sender=None)
    response = ForYouApi.as_view()(_request(viewer))  # builds the pool (written as the response closes)
    response.render()
    response.close()
    first = [c["video"]["id"] for c in response.data["results"]]
    assert pool.pool_age(viewer.pk, pool.POOL_SECONDS + 1)
    request_started.send(sender=None)
    with django_capture_on_commit_callbacks(execute=True) as sent:  # (the test's transaction "commits")
        response = ForYouApi.as_view()(_request(viewer))
        response.render()
    assert [c["video"]["id"] for c in response.data["results"]] == first  # served from the stale pool
    assert len(sent) == 1 and later.pending_count() == 1 and _sent_rebuilds() == []
    response.close()
    assert _sent_rebuilds() == [[viewer.pk]]
