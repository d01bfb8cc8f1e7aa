"""A For You pool built from scratch: the viewer's signals, the candidate statement, scoring,
the pool (pool.py) and one page placed from it. Used by the request path when there is no pool it
can serve from (selectors.for_you_page) and by the rebuild that a stale pool sends to Celery
(`pool_rebuild`, feed.tasks.for_you_pool_rebuild), which builds the pool of a first page.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Follow

from ..models import Video, VideoFeedback, VideoView
from . import attributes, candidates, cursor, pool, ranking, trending
from .signals import viewer_signals  # one hand-written statement

log = logging.getLogger(__name__)

# Candidates per source: enough for a page of 20 after the diversity rules (and a few pages of
# cursor), few enough that reading and scoring them stays a few milliseconds (~350 at most).
FOLLOW_CANDIDATES = 80
REMIX_CANDIDATES = 40
TRENDING_CANDIDATES = 90
FRESH_CANDIDATES = 80
SIMILAR_CANDIDATES = 60
SIMILAR_DAYS = 14
OWN_NEW_HOURS = 6
OWN_NEW_MAX = 10
SIMILAR_TOP = 3  # the similar query asks for videos sharing two of the viewer's top three attributes


def hidden_ids(viewer, *, see_less_too: bool = True):
    """Videos the viewer hid (every feed) or asked to see less like (For You only)."""
    rows = VideoFeedback.objects.filter(user=viewer)
    if not see_less_too:
        rows = rows.filter(kind=VideoFeedback.Kind.HIDE)
    return rows.values("video_id")


def follows_sql(viewer) -> QuerySet:
    """The viewer's follows as a subquery. Every video query of a page names the follows (the
    gate's follower-only rule, the follow candidates); 500 ids inlined into each of them cost more
    to compile and send than PostgreSQL spends hashing the subquery (measured: 4 ms a query)."""
    return Follow.objects.filter(follower=viewer).values("followee_id")


def feed_q(viewer, *, followee_ids) -> Q:
    """Published and not held, as explicit top-level conditions (they also let PostgreSQL use the
    partial indexes). Staff see everything through the gate, for moderation; their feed still
    holds only what the audience rules would show anyone: no removed, held or others' private video."""
    q = Q(status=Video.Status.PUBLISHED, consent_hold=False)
    if viewer.is_authenticated and viewer.is_staff:
        q &= (Q(visibility=Video.Visibility.PUBLIC) | Q(owner=viewer)
              | Q(visibility=Video.Visibility.FOLLOWERS, owner_id__in=followee_ids))
    return q


def feed_base(visible: QuerySet[Video], *, viewer, followee_ids) -> QuerySet[Video]:
    return visible.filter(feed_q(viewer, followee_ids=followee_ids))


def _similar_masks(signals: ranking.Signals) -> list[int]:
    """Attribute sets to look for: pairs of the viewer's three strongest tastes ("purple" and
    "circle"), and each attribute a chip asks for more of."""
    top = [name for name, share in sorted(signals.taste.items(), key=lambda kv: (-kv[1], kv[0])) if share > 0][:SIMILAR_TOP]
    masks = {attributes.BIT[a] | attributes.BIT[b] for i, a in enumerate(top) for b in top[i + 1:]}
    if len(top) == 1:
        masks.add(attributes.BIT[top[0]])
    for name, weight in signals.steering.items():
        if weight > 0:
            masks.add(attributes.BIT[name])
            if name.startswith("colour:"):  # a colour chip also means that colour as the background
                masks.add(attributes.BIT[f"background:{name[7:]}"])
    return sorted(masks)


def feed_conditions(viewer, *, follows, served=()) -> QuerySet[Video]:
    """The feed's own conditions over Video, without the gate: published and not held (`feed_q`),
    and for a signed-in viewer not seen, not hidden, not served on an earlier page of the scroll."""
    qs = Video.objects.filter(feed_q(viewer, followee_ids=follows))
    if viewer.is_authenticated:
        seen = VideoView.objects.filter(user=viewer).values("video_id")
        qs = qs.exclude(pk__in=seen).exclude(pk__in=hidden_ids(viewer))
    if served:
        qs = qs.exclude(pk__in=served)
    return qs


def _follows_sql(viewer) -> tuple[str, list]:
    return candidates.compiled("follows", lambda stand_in, _: follows_sql(stand_in), viewer=viewer)


def _feed_where(viewer, *, served) -> tuple[str, list]:
    def build(stand_in, items):
        follows = follows_sql(stand_in) if stand_in.is_authenticated else []
        return feed_conditions(stand_in, follows=follows, served=items).order_by().values_list("id")

    sql, params = candidates.compiled("feed", build, viewer=viewer, items=served)
    return candidates.split_where(sql)[1], params


def ranked_fresh(*, viewer, blocked_ids, state: cursor.ForYouCursor, limit: int,
                 signals: ranking.Signals | None = None, signals_read: bool = False, gen: str | None = None,
                 gate: tuple[str, str, tuple] | None = None, built: float | None = None) -> list[ranking.Ranked]:
    """A page from scratch: the viewer's follows and signals (unless cached), the candidate
    statement, scoring and placement; the scored list becomes the viewer's pool (pool.py).
    `blocked_ids`: the accounts with a block between them and the viewer (read once a page);
    `gate`: candidates.gate_sql for them, when the caller has it. `signals`: the viewer's, when
    the caller has them: cached with the pool when `signals_read` (the caller just read them,
    selectors.for_you_page), else as they came from the cache; `built`: when the caller's reads
    began (time.time())."""
    if built is None:
        built = time.time()  # before any read: a pool is as old as its oldest read
    now = timezone.now()
    read_signals = signals is None or signals_read
    if signals is None:
        signals = viewer_signals(viewer=viewer)
    followee_ids = signals.followee_ids  # for ranking, in Python

    # one base for every branch, the viewer's own videos told apart by each branch's condition:
    # the gate and the feed's own conditions (not seen, not hidden, not served...), each compiled
    # by Django once per shape (candidates.compiled), its values filled in for this viewer
    head, gate_where, gate_params = gate or candidates.gate_sql(viewer, blocked_ids=blocked_ids)
    extra_where, extra_params = _feed_where(viewer, served=state.served)
    base = (head, f"({gate_where}) AND ({extra_where})", (*gate_params, *extra_params))

    col, when = candidates.column, candidates.db_datetime
    others, others_params = (f"{col('owner_id')} <> %s AND ", [viewer.pk]) if viewer.is_authenticated else ("", [])
    sources = []
    if followee_ids:
        followee_sql, followee_params = _follows_sql(viewer)
        sources.append(candidates.Source("follow", f"{others}{col('owner_id')} IN ({followee_sql})",
                                         [*others_params, *followee_params], limit=FOLLOW_CANDIDATES))
    if signals.liked_ids:
        in_liked, liked_params = candidates.any_of(sorted(signals.liked_ids))
        sources.append(candidates.Source("remix_of_liked", f"{others}{col('parent_id')} {in_liked}",
                                         [*others_params, *liked_params], limit=REMIX_CANDIDATES))
    sources.append(candidates.Source("trending", f"{others}{col('trending_score')} >= %s",
                                     [*others_params, trending.key_floor(now=now)],
                                     order_by="trending_score", limit=TRENDING_CANDIDATES))
    sources.append(candidates.Source("fresh", f"{others}{col('published_at')} >= %s",
                                     [*others_params, when(now - timedelta(hours=ranking.FRESH_HOURS))],
                                     limit=FRESH_CANDIDATES))
    masks = _similar_masks(signals)
    if masks:  # recent ones: a bounded index range, so the planner never scans the whole table for it
        sources.append(candidates.Source(
            "similar", f"{others}{col('published_at')} >= %s AND ({candidates.all_of_any(masks)})",
            [*others_params, when(now - timedelta(days=SIMILAR_DAYS)), *(m for mask in masks for m in (mask, mask))],
            limit=SIMILAR_CANDIDATES))
    if viewer.is_authenticated and not state.served:  # the viewer's own new posts, page one only
        sources.append(candidates.Source("own", f"{col('owner_id')} = %s AND {col('published_at')} >= %s",
                                         [viewer.pk, when(now - timedelta(hours=OWN_NEW_HOURS))], limit=OWN_NEW_MAX))
    found = candidates.read(base, sources)
    me = viewer.pk  # (a model's pk is a property: read once, not twice per candidate)
    own, others = [], []
    for c in found.values():
        (own if c.owner_id == me else others).append(c)

    scored = ranking.score_all(others, signals, now=now)
    discovery = [r for r in scored if ranking.is_discovery(r.candidate, signals, now=now)]
    discovery_ids = {r.candidate.id for r in discovery}
    pool.pool_set(viewer, served=state.served, gen=gen, built=built, signals=signals if read_signals else None,
                  own=[(c.id, c.owner_id, c.parent_id) for c in own],
                  scored=[(c.id, c.owner_id, c.parent_id, r.score, c.id in discovery_ids,
                           tuple([(x.signal, x.weight, x.facts) for x in r.reasons]))
                          for r in scored for c in (r.candidate,)])
    return ranking.place(scored, discovery, limit=limit, position=state.position,
                         recent_owners=state.recent_owners, own=own)


def pool_rebuild(*, viewer) -> bool:
    """Build the viewer's pool for a first page (off the request path: the Celery task), unless a
    fresh one is there already. The signals are read again (full watches join the taste). True
    when it built one."""
    cached, _, gen = pool.pool_read(viewer)
    if cached is not None and not pool.is_stale(cached):
        return False
    ranked_fresh(viewer=viewer, blocked_ids=candidates.blocked_ids(viewer), state=cursor.ForYouCursor(), limit=20,
                 gen=gen)
    return True
