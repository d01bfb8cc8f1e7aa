"""Stale-while-revalidate of the For You pool (feed/for_you/pool.py, build.py, feed/tasks.py): a
pool past POOL_SECONDS serves the page without building one and sends one rebuild to Celery; it
never shows what the gate would not; past POOL_MAX_SECONDS the page is built from scratch; the
viewer's own writes still change the very next response, even when they race a rebuild."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Block
from feed.for_you import build, cursor, pool
from feed.models import Video, VideoFeedback
from feed.tasks import for_you_pool_rebuild
from tests.feed.for_you_helpers import cards, ids, post
from tests.feed.test_for_you_pool import POOL_QUERIES, _site

pytestmark = pytest.mark.django_db


def _get(client, **params):
    with CaptureQueriesContext(connection) as ctx:
        entries, nxt = cards(client, **params)
    return entries, nxt, len(ctx.captured_queries)


def _sent_rebuilds() -> list:
    """The rebuild messages on the broker (the real one: in-process, or Redis with REDIS_URL),
    taken off it."""
    from config.celery import app

    found = []
    with app.connection_for_read() as conn:
        channel = conn.default_channel
        while (message := channel.basic_get("cpu", no_ack=True)) is not None:
            if message.headers.get("task") == "feed.for_you_pool_rebuild":
                found.append(message.decode()[0])  # the task's args
    return found


@pytest.fixture(autouse=True)
def _no_messages_left():
    _sent_rebuilds()
    yield
    _sent_rebuilds()


def test_a_stale_pool_serves_without_building_and_sends_one_rebuild(make_user, client_for, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    # the worker closes its connections around a task; here that would close the test's transaction
    monkeypatch.setattr("feed.tasks.close_old_connections", lambda: None)
    viewer, makers, _ = _site(make_user)
    client = client_for(viewer)
    first, _, _ = _get(client, limit=3)
    newest = post(makers[0], "a red circle moving right", hours_ago=0.01)  # a build would rank it first
    assert pool.pool_age(viewer.pk, pool.POOL_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True) as sent:
        stale, _, queries = _get(client, limit=3)
    assert ids(stale) == ids(first) and newest.pk not in ids(stale)
    assert queries == POOL_QUERIES  # no signals, no candidate statement: nothing was built
    assert len(sent) == 1 and _sent_rebuilds() == [[viewer.pk]]
    with django_capture_on_commit_callbacks(execute=True) as sent:
        _get(client, limit=3)  # still stale, the rebuild is on its way: not sent again
    assert sent == [] and _sent_rebuilds() == []
    # what the worker does with the message: the pool is fresh and holds the new video
    assert for_you_pool_rebuild(viewer.pk) is True
    cached = pool.pool_get(viewer)[0]
    assert cached is not None and not pool.is_stale(cached)
    with django_capture_on_commit_callbacks(execute=True) as sent:
        fresh, _, queries = _get(client, limit=3)
    assert ids(fresh)[0] == newest.pk and queries == POOL_QUERIES and sent == []
    assert for_you_pool_rebuild(viewer.pk) is False  # a fresh pool is left alone


def test_a_stale_pool_never_shows_a_removed_held_blocked_hidden_or_seen_video(make_user, client_for):
    viewer, makers, videos = _site(make_user, n=10)
    client = client_for(viewer)
    first, _, _ = _get(client, limit=5)
    removed, held, seen, blocked, hidden = [v for v in videos if v.pk in ids(first)]
    assert pool.pool_age(viewer.pk, pool.POOL_SECONDS + 1)
    Video.objects.filter(pk=removed.pk).update(status=Video.Status.REMOVED)  # moderation: no signal
    Video.objects.filter(pk=held.pk).update(consent_hold=True)  # a revoked consent: no signal
    assert client.post(f"/api/videos/{seen.pk}/view", {"watch_seconds": 1}, format="json").status_code == 200
    # rows written without signals (the services' writes would forget the pool): the gate alone
    Block.objects.bulk_create([Block(blocker=blocked.owner, blocked=viewer)])
    VideoFeedback.objects.bulk_create([VideoFeedback(user=viewer, video=hidden, kind=VideoFeedback.Kind.HIDE)])
    cached = pool.pool_get(viewer)[0]
    assert cached is not None and pool.is_stale(cached)
    assert {v.pk for v in (removed, held, seen, blocked, hidden)} <= {e[0] for e in cached["scored"]}
    after, _, queries = _get(client, limit=5)
    assert queries == POOL_QUERIES and len(after) == 5
    assert not {v.pk for v in (removed, held, seen, blocked, hidden)} & set(ids(after))


def test_past_the_max_age_the_page_is_built_from_scratch(make_user, client_for, django_capture_on_commit_callbacks):
    viewer, makers, _ = _site(make_user)
    client = client_for(viewer)
    _, _, from_scratch = _get(client, limit=3)
    newest = post(makers[0], "a red circle moving right", hours_ago=0.01)
    assert pool.pool_age(viewer.pk, pool.POOL_MAX_SECONDS + 1)
    assert pool.pool_get(viewer)[0] is None  # too old to serve, even while the cache still holds it
    with django_capture_on_commit_callbacks(execute=True) as sent:
        page, _, queries = _get(client, limit=3)
    assert ids(page)[0] == newest.pk and queries == from_scratch  # built (signals cached: the blocks read alone)
    assert sent == [] and _sent_rebuilds() == []
    cached = pool.pool_get(viewer)[0]
    assert cached is not None and not pool.is_stale(cached)


def _site_with_a_remix(make_user):
    """The site, one of its videos the viewer will like, and a stranger's remix of it."""
    viewer, _, videos = _site(make_user)
    liked = videos[5]
    return viewer, liked, post(make_user("stranger"), "a red circle moving left", hours_ago=20, parent=liked)


def test_the_viewers_like_changes_the_next_response_even_from_a_stale_pool(make_user, client_for):
    viewer, liked, remix = _site_with_a_remix(make_user)
    client = client_for(viewer)
    before = {e["video"]["id"]: e for e in cards(client, limit=20)[0]}
    assert "remix_of_liked" not in {r["signal"] for r in before[remix.pk]["reasons"]}
    assert pool.pool_age(viewer.pk, pool.POOL_SECONDS + 1)
    assert client.post(f"/api/videos/{liked.pk}/like").status_code == 200
    after = {e["video"]["id"]: e for e in cards(client, limit=20)[0]}
    assert "remix_of_liked" in {r["signal"] for r in after[remix.pk]["reasons"]}


def test_steering_changes_the_next_response_even_from_a_stale_pool(make_user, client_for):
    viewer, makers, _ = _site(make_user)
    purple = post(makers[0], "a purple triangle moving down", hours_ago=30)
    client = client_for(viewer)
    assert purple.pk not in ids(cards(client, limit=3)[0])
    assert pool.pool_age(viewer.pk, pool.POOL_SECONDS + 1)
    assert client.post("/api/feed/steering", {"text": "more purple triangles"}, format="json").status_code in (200, 201)
    top = cards(client, limit=3)[0][0]
    assert top["video"]["id"] == purple.pk and "steering" in {r["signal"] for r in top["reasons"]}


def test_a_rebuild_that_read_before_the_viewers_like_is_not_kept(make_user, client_for):
    """The race the generation token closes: the rebuild read the viewer's rows, then they liked
    a video, then it wrote its pool. The pool is ignored; the next page is built with the like."""
    viewer, liked, remix = _site_with_a_remix(make_user)
    client = client_for(viewer)
    cards(client, limit=3)
    _, _, gen_before = pool.pool_read(viewer)  # what a rebuild starting now reads first
    assert client.post(f"/api/videos/{liked.pk}/like").status_code == 200
    stale_signals = build.viewer_signals(viewer=viewer)
    stale_signals.liked_ids = set()  # as read before the like
    build.ranked_fresh(viewer=viewer, blocked_ids=set(), state=cursor.ForYouCursor(), limit=3,
                       signals=stale_signals, gen=gen_before)
    assert pool.pool_get(viewer)[0] is None
    after = {e["video"]["id"]: e for e in cards(client, limit=20)[0]}
    assert "remix_of_liked" in {r["signal"] for r in after[remix.pk]["reasons"]}


def test_the_viewers_write_sends_a_rebuild_whose_pool_has_it(make_user, client_for, monkeypatch,
                                                             django_capture_on_commit_callbacks):
    monkeypatch.setattr("feed.tasks.close_old_connections", lambda: None)  # (as in the first test)
    viewer, liked, remix = _site_with_a_remix(make_user)
    client = client_for(viewer)
    cards(client, limit=20)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/api/videos/{liked.pk}/like").status_code == 200
    assert pool.pool_get(viewer)[0] is None and _sent_rebuilds() == [[viewer.pk]]
    assert for_you_pool_rebuild(viewer.pk) is True  # the worker, after the like was committed
    entries = pool.pool_get(viewer)[0]["scored"]
    assert "remix_of_liked" in {x[0] for e in entries if e[0] == remix.pk for x in e[5]}
    _, _, queries = _get(client, limit=3)
    assert queries == POOL_QUERIES  # placed from the rebuilt pool
    # someone who never opened For You (no pool) sends no rebuild with their writes
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(make_user("newcomer")).post(f"/api/videos/{liked.pk}/like").status_code == 200
    assert _sent_rebuilds() == []
