"""The reads a For You page built from scratch compiles once per shape (candidates.compiled): the
visibility gate, the feed's own conditions and the follows are, filled in for a viewer, exactly
what Django compiles for that viewer; one viewer's values never reach another's page; the
candidate statement may run prepared (DATABASES OPTIONS prepare_threshold) with the same page; the
process freezes what its first requests loaded (feed/apps.py)."""
import gc
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.selectors import user_blocked_ids
from accounts.services import user_block, user_follow
from feed import apps as feed_apps
from feed.for_you import build, candidates, cursor, selectors
from feed.models import Video, VideoFeedback
from feed.selectors import video_visible_qs
from tests.feed.for_you_helpers import cards, ids, post

pytestmark = pytest.mark.django_db


def _inlined(sql, params) -> str:
    """The text with every value written in (both forms compare equal when they say the same)."""
    values, out = iter(params), []
    for part in re.split(r"(%%|%s)", sql):
        if part == "%s":
            value = next(values)
            part = f"'{value}'" if isinstance(value, str) else str(value)
        out.append(part)
    return "".join(out)


def _same(compiled, direct) -> bool:
    *c_text, c_params = compiled
    *d_text, d_params = direct
    assert not any(isinstance(v, str) for v in c_params)  # the choices' values are written in
    return _inlined(" WHERE ".join(c_text), c_params) == _inlined(" WHERE ".join(d_text), d_params)


def _direct_gate(viewer, blocked):
    follows = build.follows_sql(viewer) if viewer.is_authenticated else []
    qs = video_visible_qs(viewer=viewer, followee_ids=follows, blocked_ids=blocked)
    sql, params = qs.order_by().values_list(*candidates.COLUMNS).query.sql_with_params()
    head, where = candidates.split_where(sql)
    return head, where, tuple(params)


def _direct_feed_where(viewer, served):
    follows = build.follows_sql(viewer) if viewer.is_authenticated else []
    qs = build.feed_conditions(viewer, follows=follows, served=served)
    sql, params = qs.order_by().values_list("id").query.sql_with_params()
    return candidates.split_where(sql)[1], list(params)


def _viewers(make_user):
    from django.contrib.auth.models import AnonymousUser

    plain, blocking, staff = make_user("plain"), make_user("blocking"), make_user("staffer")
    staff.is_staff = True
    staff.save(update_fields=["is_staff"])
    others = [make_user(f"other{i}") for i in range(3)]
    user_follow(follower=plain, followee=others[0])
    user_block(blocker=blocking, blocked=others[1])
    user_block(blocker=others[2], blocked=blocking)  # a block either way
    return [plain, blocking, staff, AnonymousUser()]


@pytest.mark.parametrize("served", [[], [5, 3, 9]])
def test_compiled_reads_are_what_django_compiles_for_each_viewer(make_user, served):
    for viewer in _viewers(make_user):
        blocked = sorted(user_blocked_ids(user=viewer))
        for _ in range(2):  # the first call compiles the shape, the second fills it in
            assert _same(candidates.gate_sql(viewer, blocked_ids=blocked), _direct_gate(viewer, blocked))
            assert _same(build._feed_where(viewer, served=served), _direct_feed_where(viewer, served))
        if viewer.is_authenticated:
            sql, params = build.follows_sql(viewer).query.sql_with_params()
            assert build._follows_sql(viewer) == (sql, list(params))


def test_the_blocks_read_is_user_blocked_ids_compiled_once(make_user):
    """candidates.blocked_ids: the accounts with a block either way, as accounts.selectors reads
    them, for every viewer on one compiled statement (and none for an anonymous visitor)."""
    viewers = _viewers(make_user)
    bystander = make_user("bystander")
    user_block(blocker=bystander, blocked=viewers[2])  # staff are blocked like anyone
    for viewer in viewers:
        for _ in range(2):  # compiled, then filled in
            assert candidates.blocked_ids(viewer) == user_blocked_ids(user=viewer)
    assert candidates.blocked_ids(viewers[1]) and not candidates.blocked_ids(viewers[0])


def test_the_signals_statement_reads_the_blocks_too(make_user):
    """signals.viewer_signals_and_blocks: the same signals as viewer_signals and the same blocks
    as accounts.selectors, in one statement."""
    from feed.for_you import signals as for_you_signals

    for viewer in _viewers(make_user):
        with CaptureQueriesContext(connection) as ctx:
            signals, blocked = for_you_signals.viewer_signals_and_blocks(viewer=viewer)
        assert blocked == user_blocked_ids(user=viewer)
        assert signals == for_you_signals.viewer_signals(viewer=viewer)
        assert len(ctx.captured_queries) == (1 if viewer.is_authenticated else 0)


def test_a_page_built_from_scratch_reads_its_blocks_in_the_signals_statement(make_user, client_for):
    """Nothing cached: 3 queries (signals with the blocks, candidates, cards); signals cached:
    the blocks alone, candidates, cards; from the pool: blocks, check, cards. Blocked either way
    never shows, on every path."""
    from feed.for_you import pool

    viewer = make_user("viewer")
    makers = [make_user(f"maker{i}") for i in range(6)]
    videos = []
    for i, m in enumerate(makers):
        user_follow(follower=viewer, followee=m)
        videos.append(post(m, "a blue square moving left", hours_ago=1 + i))
    user_block(blocker=makers[0], blocked=viewer)
    user_block(blocker=viewer, blocked=makers[1])
    client = client_for(viewer)

    def page():
        with CaptureQueriesContext(connection) as ctx:
            shown = ids(cards(client, limit=3)[0])
        return shown, [q["sql"] for q in ctx.captured_queries]

    def blocks_alone(queries):
        return [q for q in queries if "accounts_block" in q and "feed_like" not in q and "feed_video" not in q]

    pool.pool_invalidate(viewer.pk)
    nothing_cached, q_nothing = page()
    pool.pool_expire(viewer.pk)
    signals_cached, q_signals = page()
    from_pool, q_pool = page()
    assert nothing_cached == signals_cached == from_pool and len(from_pool) == 3
    assert not {videos[0].pk, videos[1].pk} & set(from_pool)
    assert (len(q_nothing), len(q_signals), len(q_pool)) == (3, 3, 3)
    assert not blocks_alone(q_nothing) and "accounts_block" in q_nothing[0] and "feed_like" in q_nothing[0]
    assert len(blocks_alone(q_signals)) == 1 and len(blocks_alone(q_pool)) == 1


def test_one_viewers_values_never_reach_anothers_reads(make_user):
    a, b = make_user("viewer_a"), make_user("viewer_b")
    ga, gb = candidates.gate_sql(a, blocked_ids=[]), candidates.gate_sql(b, blocked_ids=[])
    assert ga[:2] == gb[:2]  # one shape, one text
    assert a.pk in ga[2] and b.pk not in ga[2] and b.pk in gb[2] and a.pk not in gb[2]
    served_a, served_b = [900_001, 900_002], [900_007, 900_008]  # (no account has these keys)
    wa, wb = build._feed_where(a, served=served_a), build._feed_where(b, served=served_b)
    assert wa[0] == wb[0] and {a.pk, *served_a} <= set(wa[1]) and not set(wa[1]) & {b.pk, *served_b}
    assert {b.pk, *served_b} <= set(wb[1]) and not set(wb[1]) & {a.pk, *served_a}


def test_a_page_built_from_scratch_honours_blocks_hidden_seen_and_removal(make_user, client_for):
    """Through the compiled gate: blocked either way, hidden, seen, removed and consent-held videos
    never come out of a page built from scratch, for two viewers in a row (one compiled shape)."""
    from feed.for_you.services import video_view_record

    viewer, other = make_user("viewer"), make_user("other")
    makers = [make_user(f"maker{i}") for i in range(7)]
    videos = [post(m, "a blue square moving left", hours_ago=1 + i) for i, m in enumerate(makers)]
    for m in makers:
        user_follow(follower=viewer, followee=m)
        user_follow(follower=other, followee=m)
    user_block(blocker=viewer, blocked=makers[0])
    user_block(blocker=makers[1], blocked=viewer)
    VideoFeedback.objects.create(user=viewer, video=videos[2], kind=VideoFeedback.Kind.HIDE)
    video_view_record(video=videos[3], user=viewer, watch_seconds=1.0)
    Video.objects.filter(pk=videos[4].pk).update(status=Video.Status.REMOVED)
    Video.objects.filter(pk=videos[5].pk).update(consent_hold=True)
    shown = set(ids(cards(client_for(viewer), limit=20)[0]))
    assert shown == {videos[6].pk}
    # the other viewer, on the same compiled shapes, sees what their own gate lets through
    assert set(ids(cards(client_for(other), limit=20)[0])) == {videos[i].pk for i in (0, 1, 2, 3, 6)}


def _statement_page(viewer):
    blocked = user_blocked_ids(user=viewer)
    ranked = build.ranked_fresh(viewer=viewer, blocked_ids=blocked, state=cursor.ForYouCursor(), limit=20)
    return [(r.candidate.id, r.score, r.slot) for r in ranked]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements: PostgreSQL (psycopg 3)")
def test_the_candidate_statement_runs_prepared_when_the_connection_allows_it(make_user):
    viewer = make_user("viewer")
    makers = [make_user(f"maker{i}") for i in range(4)]
    for i, m in enumerate(makers):
        user_follow(follower=viewer, followee=m)
        post(m, "a green triangle falling", hours_ago=1 + i)
    connection.ensure_connection()
    raw = connection.connection
    configured = connection.settings_dict.get("OPTIONS", {}).get("prepare_threshold")
    if configured is None:  # the default (DATABASE_PREPARE_THRESHOLD unset), as Django leaves it: off
        assert raw.prepare_threshold is None and not candidates.prepares()
    raw.prepare_threshold = None
    plain = _statement_page(viewer)
    raw.prepare_threshold = 0  # as DATABASE_PREPARE_THRESHOLD=0 sets it (settings.py) ...
    with connection.cursor() as cur:
        cur.execute("SET plan_cache_mode = force_generic_plan")  # ... with this
    try:
        assert candidates.prepares()
        with CaptureQueriesContext(connection) as ctx:
            prepared = [_statement_page(viewer) for _ in range(3)]
        with connection.cursor() as cur:
            cur.execute("SELECT sum(generic_plans) FROM pg_prepared_statements WHERE statement LIKE %s", ["%source_0%"])
            assert cur.fetchone()[0] >= 3  # one statement, its generic plan used every time
    finally:
        raw.prepare_threshold = configured
        with connection.cursor() as cur:
            cur.execute("RESET plan_cache_mode")
    assert all(page == plain for page in prepared)
    assert sum("source_0" in q["sql"] for q in ctx.captured_queries) == 3  # logged and counted as usual


def test_the_process_freezes_what_its_first_requests_loaded(monkeypatch):
    calls = []
    monkeypatch.setattr(feed_apps, "_requests_finished", 0)
    monkeypatch.setattr(feed_apps.gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(feed_apps.gc, "collect", lambda *a: calls.append("collect"))
    for _ in range(12):
        feed_apps._freeze_after_request()
    assert calls == ["collect", "freeze", "collect", "freeze"]  # after the 1st and the 10th request
    assert gc.isenabled()


def test_the_signal_is_connected():
    from django.core.signals import request_finished, request_started

    assert any(r[1]() is feed_apps._freeze_after_request for r in request_finished.receivers)
    assert any(r[1]() is feed_apps.gc_pause for r in request_started.receivers)
    assert any(r[1]() is feed_apps.gc_resume for r in request_finished.receivers)


def test_no_automatic_collection_while_a_request_is_answered(make_user, client_for, monkeypatch):
    """feed/apps.py: the collector pauses from request_started to request_finished, and a
    finished request leaves it running."""
    enabled = []
    original = selectors.for_you_page

    def spy(**kwargs):
        enabled.append(gc.isenabled())
        return original(**kwargs)

    monkeypatch.setattr(selectors, "for_you_page", spy)  # the view reads it from the module
    assert client_for(make_user("viewer")).get("/api/feed/for-you").status_code == 200
    assert enabled == [False] and gc.isenabled()
    feed_apps.gc_pause()
    try:
        assert not gc.isenabled() and gc.collect() >= 0  # explicit collections still run
    finally:
        feed_apps.gc_resume()
    assert gc.isenabled()


def test_selectors_keep_the_pool_path_on_the_queryset_gate(make_user, client_for):
    """The pool path still reads through video_visible_qs (with the page's one blocks read)."""
    viewer = make_user("viewer")
    maker = make_user("maker")
    user_follow(follower=viewer, followee=maker)
    v = post(maker, "a red circle moving right")
    client = client_for(viewer)
    assert ids(cards(client, limit=5)[0]) == [v.pk]
    Video.objects.filter(pk=v.pk).update(status=Video.Status.REMOVED)
    assert ids(cards(client, limit=5)[0]) == []
    assert selectors.PAGE_MAX >= 20
