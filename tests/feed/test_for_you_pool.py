"""The cached For You pool (feed/for_you/pool.py) and the hand-written cards (cards.py): a pool
never shows what the gate would not (removed, consent-held, blocked, hidden, seen), the viewer's
own signals (like, see less, follow) change the very next response, and the cards are exactly
what the DRF serializers wrote."""
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.utils.encoders import JSONEncoder

from accounts.services import user_block, user_follow
from feed import services as feed_services
from feed.for_you import pool, selectors
from feed.for_you.api import FeedPageSerializer
from feed.models import Like, Video
from tests.feed.for_you_helpers import cards, ids, post

pytestmark = pytest.mark.django_db

POOL_QUERIES = 3  # blocks, the pool's candidates through the gate, the page's rows
SCRATCH_QUERIES = 3  # the signals with the blocks, the candidates, the page's rows


def _get(client, **params):
    """(cards, next cursor, queries) of one For You request."""
    with CaptureQueriesContext(connection) as ctx:
        entries, nxt = cards(client, **params)
    return entries, nxt, len(ctx.captured_queries)


def _site(make_user, n=8):
    viewer = make_user("viewer")
    makers = [make_user(f"maker{i}") for i in range(n)]
    videos = []
    for i, maker in enumerate(makers):
        user_follow(follower=viewer, followee=maker)
        videos.append(post(maker, "a red circle moving right", hours_ago=1 + i))
    return viewer, makers, videos


def test_the_next_page_and_a_repeat_visit_come_from_the_pool(make_user, client_for):
    viewer, _, _ = _site(make_user)
    client = client_for(viewer)
    first, nxt, cold = _get(client, limit=3)
    assert pool.pool_get(viewer)[0] is not None and cold == SCRATCH_QUERIES
    again, _, warm = _get(client, limit=3)
    assert ids(again) == ids(first) and warm == POOL_QUERIES
    second, _, warm = _get(client, limit=3, cursor=nxt)
    assert len(second) == 3 and not set(ids(first)) & set(ids(second)) and warm == POOL_QUERIES


def test_a_pool_never_shows_a_removed_held_blocked_hidden_or_seen_video(make_user, client_for):
    viewer, makers, videos = _site(make_user, n=10)
    client = client_for(viewer)
    first, _, _ = _get(client, limit=4)
    shown = [v for v in videos if v.pk in ids(first)]
    removed, held, seen = shown[:3]
    # what moderation and a consent revocation do: an UPDATE, no signal to the pool
    Video.objects.filter(pk=removed.pk).update(status=Video.Status.REMOVED)
    Video.objects.filter(pk=held.pk).update(consent_hold=True)
    assert client.post(f"/api/videos/{seen.pk}/view", {"watch_seconds": 1}, format="json").status_code == 200
    assert pool.pool_get(viewer)[0] is not None  # still cached: the gate, not the cache, keeps them out
    after, _, queries = _get(client, limit=4)
    assert queries == POOL_QUERIES
    assert not {removed.pk, held.pk, seen.pk} & set(ids(after)) and len(after) == 4
    # blocked by the creator (the viewer's pool is forgotten too) and hidden by the viewer
    target = after[0]["video"]
    blocker = next(m for m in makers if m.pk == target["owner"]["id"])
    user_block(blocker=blocker, blocked=viewer)
    hidden = after[1]["video"]["id"]
    assert client.post(f"/api/videos/{hidden}/hide").status_code == 200
    final = ids(cards(client, limit=4)[0])
    assert target["id"] not in final and hidden not in final


def test_a_stale_pool_entry_of_a_revoked_video_is_not_shown_even_on_a_next_page(make_user, client_for):
    viewer, _, videos = _site(make_user, n=10)
    client = client_for(viewer)
    first, nxt, _ = _get(client, limit=3)
    rest = [v.pk for v in videos if v.pk not in ids(first)]
    Video.objects.filter(pk__in=rest[:4]).update(consent_hold=True)
    second, _, queries = _get(client, limit=3, cursor=nxt)
    assert queries == POOL_QUERIES and len(second) == 3
    assert not set(rest[:4]) & set(ids(second))


def test_a_like_changes_the_next_response(make_user, client_for):
    viewer, makers, videos = _site(make_user)
    stranger = make_user("stranger")
    liked = videos[5]
    remix = post(stranger, "a red circle moving left", hours_ago=20, parent=liked)
    client = client_for(viewer)
    before = {e["video"]["id"]: e for e in cards(client, limit=20)[0]}
    assert "remix_of_liked" not in {r["signal"] for r in before[remix.pk]["reasons"]}
    assert client.post(f"/api/videos/{liked.pk}/like").status_code == 200
    assert pool.pool_get(viewer) == (None, None)  # pool and signals forgotten at once
    after = {e["video"]["id"]: e for e in cards(client, limit=20)[0]}
    assert "remix_of_liked" in {r["signal"] for r in after[remix.pk]["reasons"]}
    assert after[liked.pk]["video"]["liked"] is True and after[liked.pk]["video"]["like_count"] == 1


def test_see_less_and_a_new_follow_change_the_next_response(make_user, client_for):
    viewer, makers, videos = _site(make_user)
    client = client_for(viewer)
    first, _, _ = _get(client, limit=4)
    _, _, warm = _get(client, limit=4)
    assert warm == POOL_QUERIES
    disliked = first[0]["video"]
    assert client.post(f"/api/videos/{disliked['id']}/see-less").status_code == 200
    after = cards(client, limit=20)[0]
    assert disliked["id"] not in ids(after)
    # a newly followed creator's video gains the follow reason on the next response
    newcomer = make_user("newcomer")
    fresh = post(newcomer, "a red circle moving right", hours_ago=0.5)
    before = {e["video"]["id"]: e for e in cards(client, limit=20)[0]}
    assert "follow" not in {r["signal"] for r in before[fresh.pk]["reasons"]}
    user_follow(follower=viewer, followee=newcomer)
    now = {e["video"]["id"]: e for e in cards(client, limit=20)[0]}
    assert "follow" in {r["signal"] for r in now[fresh.pk]["reasons"]}


def test_a_pool_from_an_earlier_scroll_is_not_used_for_a_new_first_page(make_user, client_for):
    viewer, _, _ = _site(make_user, n=10)
    client = client_for(viewer)
    first, nxt, _ = _get(client, limit=3)
    pool.pool_invalidate(viewer.pk)
    _get(client, limit=3, cursor=nxt)  # the pool is now built without the first page's cards
    again, _, _ = _get(client, limit=3)
    assert ids(again) == ids(first)


def test_a_failing_cache_costs_speed_not_the_page(make_user, client_for, monkeypatch):
    viewer, _, _ = _site(make_user)

    class Down:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("cache down")
            return fail

    monkeypatch.setattr(pool, "cache", Down())
    entries, nxt = cards(client_for(viewer), limit=3)
    assert len(entries) == 3 and nxt


def _json(data):
    return json.loads(json.dumps(data, cls=JSONEncoder))


def test_cards_are_exactly_what_the_serializers_wrote(make_user, make_video, client_for):
    viewer, friend, other = make_user("viewer"), make_user("friend"), make_user("other")
    user_follow(follower=viewer, followee=friend)
    original = make_video(friend, publish=Video.Visibility.PUBLIC, prompt="a red circle moving right")
    remix = make_video(other, publish=Video.Visibility.PUBLIC, prompt="a blue circle moving right", parent=original)
    private = make_video(friend, publish=Video.Visibility.PRIVATE, prompt="a green square falling")
    hidden_parent = make_video(friend, publish=Video.Visibility.PUBLIC, prompt="a white square still", parent=private)
    orphan = make_video(other, publish=Video.Visibility.PUBLIC, prompt="a black circle moving up", parent=original)
    Video.objects.filter(pk=orphan.pk).update(parent=None)  # a deleted parent: depth stays, the link is gone
    post(other, "a purple triangle moving down", hours_ago=70)  # five cards for pages of four: the pool serves
    for fan in (other, friend):
        feed_services.video_like(video=original, user=fan)
    Like.objects.create(user=viewer, video=remix)
    feed_services.comment_create(video=remix, author=other, body="nice")
    client = client_for(viewer)
    for read, path in ((selectors.for_you_page, "/api/feed/for-you"), (selectors.following_page, "/api/feed/following")):
        pool.pool_invalidate(viewer.pk)
        res = client.get(path, {"limit": 4})
        assert res.status_code == 200
        body = res.json()
        # models + DRF, as the API was (For You: from the pool the request built, so the same ranking)
        expected = _json(FeedPageSerializer(read(viewer=viewer, limit=4)).data)
        assert body["results"] and body == expected, path
        assert [list(e) for e in body["results"]] == [list(e) for e in expected["results"]]
        assert [list(e["video"]) for e in body["results"]] == [list(e["video"]) for e in expected["results"]]
    videos = {e["video"]["id"]: e["video"] for e in client.get("/api/feed/for-you").json()["results"]}
    assert videos[remix.pk]["remix_of"]["hidden"] is False and videos[remix.pk]["liked"] is True
    assert videos[hidden_parent.pk]["remix_of"] == {"hidden": True, "mode": hidden_parent.remix_mode}
    assert videos[orphan.pk]["remix_of"]["deleted"] is True
    assert videos[original.pk]["url"].endswith(".mp4") and videos[original.pk]["poster_url"]


def test_a_pool_page_is_the_page_built_from_scratch_when_the_best_are_capped(make_user, client_for):
    """The pool's best candidates are all one creator's: the checked prefix runs out under the
    creator cap, the rest is checked, and the page is the one the sources would give."""
    viewer, prolific = make_user("viewer"), make_user("prolific")
    user_follow(follower=viewer, followee=prolific)
    for i in range(15):
        post(prolific, "a red circle moving right", hours_ago=0.1 + i * 0.01)
    for i in range(6):
        other = make_user(f"other{i}")
        user_follow(follower=viewer, followee=other)
        post(other, "a blue square moving left", hours_ago=5 + i)
    client = client_for(viewer)
    first, nxt, _ = _get(client, limit=3)
    again, _, queries = _get(client, limit=3)
    assert ids(again) == ids(first) and queries == POOL_QUERIES + 1  # the rest of the pool, checked
    from_pool, _, _ = _get(client, limit=3, cursor=nxt)
    pool.pool_invalidate(viewer.pk)
    from_scratch, _, _ = _get(client, limit=3, cursor=nxt)
    assert ids(from_pool) == ids(from_scratch)


def test_an_expired_pool_is_rebuilt_from_the_cached_signals(make_user, client_for):
    viewer, _, _ = _site(make_user)
    client = client_for(viewer)
    first, _, from_scratch = _get(client, limit=3)
    pool.pool_expire(viewer.pk)  # as when POOL_SECONDS ran out
    with CaptureQueriesContext(connection) as ctx:
        again, _ = cards(client, limit=3)
    assert ids(again) == ids(first)
    # no follows, signals or chips read (the statement that reads them with the blocks): the blocks alone
    assert len(ctx.captured_queries) == from_scratch == SCRATCH_QUERIES
    assert not any("feed_comment" in q["sql"] for q in ctx.captured_queries)
