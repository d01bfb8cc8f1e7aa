"""Reads of the personalized feed: For You, Following, the viewer's signals and steering chips.

Fast by design, whatever the size of the site: every read is a fixed number of indexed queries
with a LIMIT, all built on the one visibility gate (`feed.selectors.video_visible_qs`).

For You, a page built from scratch = 3 queries (API cards), never more with more follows, likes
or videos:
  1  the viewer's signals and blocks, one statement (signals.py): follows (for ranking), recent
     likes, comments, full watches, "see less", the steering chips, and the accounts with a block
     either way (the gate; its follows are a subquery in every video query). While the signals
     are cached (pool.py) only the blocks are read (candidates.blocked_ids)
  1  candidates, one statement (candidates.py): from follows, remixes of liked videos, trending,
     fresh uploads, similar attributes, the viewer's own new posts (page one only); the
     seen-filter, hidden and already-served ids are excluded inside each branch
  1  the page's videos with creators, parents, the viewer's likes and which parents the viewer
     may see (through the gate, for the remix attribution) (cards.py; the server-rendered page
     reads models, and the parents in a query of their own)
Ranking happens in Python over the few hundred candidates (ranking.py, build.py); the scored list
is kept as the viewer's pool (pool.py): two minutes fresh, then served stale while a Celery task
rebuilds it, up to ten. A page placed from the pool = 3 queries: blocks;
its candidates (the best 3 x limit) and their parents through the gate, seen and hidden again;
the page's videos. (One more when the checked prefix was not enough for the creator cap.)
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet

from ..models import Like, SteeringChip, Video, VideoView
from ..selectors import video_visible_qs
from . import candidates, cards, cursor, pool, ranking
from .build import feed_base, feed_q, follows_sql, hidden_ids, ranked_fresh
from .signals import viewer_signals_and_blocks

PAGE_MAX = 50


@dataclass
class FeedEntry:
    video: Video | dict  # a model (server-rendered pages) or, with as_data=True, the API's dict
    reasons: list[ranking.Reason]
    score: float | None = None
    slot: str = "ranked"

    @property
    def why(self) -> str:
        return " · ".join(r.text for r in self.reasons)


@dataclass
class FeedPage:
    entries: list[FeedEntry] = field(default_factory=list)
    next_cursor: str | None = None


def _page_videos(qs: QuerySet[Video], *, viewer) -> QuerySet[Video]:
    """Everything a card shows, in the same query: creator, parent, the denormalized counts, the
    viewer's like. (Whether the viewer may see the parent is `_mark_parents`: as a correlated
    EXISTS here, PostgreSQL may hash the whole visible set, 200 ms at 100k videos.)"""
    qs = qs.select_related("owner", "parent__owner").annotate(
        like_count=F("stats_likes"), comment_count=F("stats_comments"), remix_count=F("stats_remixes"))
    if viewer.is_authenticated:
        qs = qs.annotate(liked=Exists(Like.objects.filter(video=OuterRef("pk"), user=viewer)))
    return qs


def _mark_parents(videos: list[Video], *, visible: QuerySet[Video]) -> list[Video]:
    """Set `parent_visible` (the remix attribution shows the parent only then): one read of the
    page's parents through the visibility gate, none when the page holds no remix."""
    parent_ids = {v.parent_id for v in videos if v.parent_id}
    shown = set(visible.filter(pk__in=parent_ids).values_list("pk", flat=True)) if parent_ids else set()
    for v in videos:
        v.parent_visible = v.parent_id in shown
    return videos


# --- signals -------------------------------------------------------------------------------------

def steering_chip_list(*, user) -> QuerySet[SteeringChip]:
    return SteeringChip.objects.filter(user=user).order_by("created_at", "pk")


# --- For You -------------------------------------------------------------------------------------

def for_you_page(*, viewer, cursor_token: str | None = None, limit: int = 20, as_data: bool = False) -> FeedPage:
    """One page of For You. Raises ValidationError({"cursor"}) for a cursor that is not valid.
    `as_data`: cards as the API's dicts (cards.py) instead of models."""
    limit = max(1, min(int(limit), PAGE_MAX))
    state = cursor.for_you_load(cursor_token, viewer=viewer)
    follows = follows_sql(viewer) if viewer.is_authenticated else []  # the viewer's follows, for SQL
    visible = None  # the gate as a queryset: built when a read needs one (the pool check, model cards)
    gate = None  # the gate compiled for a page built from scratch (candidates.gate_sql)
    started = time.time()  # a pool built below is as old as its oldest read (pool.pool_set)
    cached, cached_signals, gen = pool.pool_read(viewer)
    serves = cached is not None and _pool_serves(cached, state)
    signals, read_signals = cached_signals, False
    if serves or cached_signals is not None or not viewer.is_authenticated:
        blocked = candidates.blocked_ids(viewer)  # the gate's one query of its own
    else:  # built from scratch, nothing cached: the blocks come in the signals statement (one round trip)
        signals, blocked = viewer_signals_and_blocks(viewer=viewer)
        read_signals = True
    ranked = None
    if serves:
        visible = video_visible_qs(viewer=viewer, followee_ids=follows, blocked_ids=blocked)
        ranked, visible_ids = _ranked_from_pool(cached, viewer=viewer, visible=visible, follows=follows,
                                                state=state, limit=limit)
        if len(ranked) < limit:
            ranked = None  # a short page: maybe the end of the feed, maybe of the pool; ask the sources
        elif pool.is_stale(cached):  # served all the same (its cards were just checked); rebuilt off the request
            pool.rebuild_schedule(viewer.pk)
    if ranked is None:
        gate = candidates.gate_sql(viewer, blocked_ids=blocked)
        ranked = ranked_fresh(viewer=viewer, blocked_ids=blocked, gate=gate, state=state, limit=limit,
                              signals=signals, signals_read=read_signals, gen=gen, built=started)
        visible_ids = None  # the parents of the page are read through the gate below (with the cards)
    ids = [r.candidate.id for r in ranked]
    # every id passed the gate in this request (the candidate statement or the pool check): the
    # page reads them by key alone
    parent_ids = {r.candidate.parent_id for r in ranked if r.candidate.parent_id}
    entries = []
    if as_data:  # the parents the viewer may see are read with the cards (fresh pages: not read yet)
        parents = candidates.visible_ids_sql(gate, parent_ids) if visible_ids is None and parent_ids else None
        rows = cards.video_rows(ids, viewer=viewer, parents=parents) if ids else {}
        for r in ranked:
            row = rows.get(r.candidate.id)
            if row is not None:
                if parents is not None:
                    shown = cards.parent_visible(row)
                else:
                    shown = cards.parent_id(row) in (visible_ids or ())
                entries.append(FeedEntry(cards.video_data(row, parent_visible=shown),
                                         _named(r.reasons, cards.owner_username(row)), r.score, r.slot))
    else:
        if visible is None:
            visible = video_visible_qs(viewer=viewer, followee_ids=follows, blocked_ids=blocked)
        if visible_ids is None:
            visible_ids = set(visible.filter(pk__in=parent_ids).values_list("pk", flat=True)) if parent_ids else set()
        videos = {v.pk: v for v in _page_videos(Video.objects.filter(pk__in=ids), viewer=viewer)} if ids else {}
        for r in ranked:
            video = videos.get(r.candidate.id)
            if video is not None:
                video.parent_visible = video.parent_id in visible_ids
                entries.append(FeedEntry(video, _named(r.reasons, video.owner.username), r.score, r.slot))
    next_token = None
    if len(ranked) == limit:
        placed = [r.candidate for r in ranked if r.slot != "own"]
        next_token = cursor.for_you_dump(cursor.ForYouCursor(
            served=state.served + ids,
            recent_owners=(state.recent_owners + [c.owner_id for c in placed])[-(ranking.CREATOR_WINDOW - 1):],
            position=state.position + len(placed),
        ), viewer=viewer)
    return FeedPage(entries, next_token)


_BY_CREATOR = ("follow", "see_less_creator")  # the reasons that name the card's creator


def _named(reasons: list[ranking.Reason], username: str) -> list[ranking.Reason]:
    """The card's reasons with its creator's username (read with the card: the candidate
    statement leaves it out, candidates.COLUMNS)."""
    return [ranking.Reason(x.signal, x.weight, (username,)) if x.signal in _BY_CREATOR else x for x in reasons]


def _pool_serves(cached: dict, state: cursor.ForYouCursor) -> bool:
    """The pool was built in this scroll (every id it excluded as served is served now) and has
    not served more than POOL_CARDS cards since."""
    built_with = cached["served"]
    if len(state.served) - len(built_with) > pool.POOL_CARDS:
        return False
    return not built_with or set(built_with) <= set(state.served)


def _pool_check(visible: QuerySet[Video], *, viewer, follows, ids: set[int], parent_ids: set[int]) -> tuple[set[int], set[int]]:
    """One read through the gate, now: which pool videos may still be a card (visible, published,
    not held, not seen, not hidden) and which of their parents the viewer may see."""
    feedable = feed_q(viewer, followee_ids=follows)
    feedable &= ~Q(pk__in=VideoView.objects.filter(user=viewer).values("video_id"))
    feedable &= ~Q(pk__in=hidden_ids(viewer))
    rows = (visible.filter(pk__in=ids | parent_ids).order_by()
            .annotate(feedable=ExpressionWrapper(feedable, output_field=BooleanField()))
            .values_list("pk", "feedable"))
    ok, seen_visible = set(), set()
    for pk, may_show in rows:
        seen_visible.add(pk)
        if may_show and pk in ids:
            ok.add(pk)
    return ok, seen_visible


POOL_CHECK_SCORED = 3  # the pool's best (3 x limit) candidates are checked first ...
POOL_CHECK_DISCOVERY = 1  # ... with the first (1 x limit) that may fill a discovery slot


def _ranked_from_pool(cached: dict, *, viewer, visible, follows, state: cursor.ForYouCursor,
                      limit: int) -> tuple[list[ranking.Ranked], set[int]]:
    """A page placed from the viewer's pool, after checking its candidates through the gate again.

    Checking all ~350 costs more (PostgreSQL looks up each key) than a page needs, so the best
    3 x limit and the first discovery candidates are checked and placed first. Placement takes, at
    every slot, the first candidate in order that may be shown and fits the creator cap; an end
    marker after each checked prefix tells whether it ever looked past one. Only then is the rest
    checked (a second query) and the page placed again, from the whole pool."""
    served = set(state.served)
    entries = [e for e in cached["scored"] if e[0] not in served]
    discovery = [e for e in entries if e[4]]
    own = cached["own"] if not state.served else []
    prefix = entries[:POOL_CHECK_SCORED * limit]
    discovery_prefix = discovery[:POOL_CHECK_DISCOVERY * limit]
    checked = {e[0] for e in prefix} | {e[0] for e in discovery_prefix} | {o[0] for o in own}
    parents = {e[2] for e in prefix if e[2]} | {e[2] for e in discovery_prefix if e[2]} | {o[2] for o in own if o[2]}
    ok, visible_ids = _pool_check(visible, viewer=viewer, follows=follows, ids=checked, parent_ids=parents)
    ranked = _place_from_pool(prefix, discovery_prefix, own, ok, state=state, limit=limit,
                              ends=(len(prefix) < len(entries), len(discovery_prefix) < len(discovery)))
    if ranked is None:  # the prefix was not enough: check the rest, place from the whole pool
        rest = {e[0] for e in entries} - checked
        rest_parents = {e[2] for e in entries if e[2]} - parents
        more_ok, more_visible = _pool_check(visible, viewer=viewer, follows=follows, ids=rest, parent_ids=rest_parents)
        ok |= more_ok
        visible_ids |= more_visible
        ranked = _place_from_pool(entries, discovery, own, ok, state=state, limit=limit, ends=(False, False))
    for r in ranked:  # reasons were kept as tuples; only the cards shown need Reason objects
        r.reasons = [x if isinstance(x, ranking.Reason) else ranking.Reason(*x) for x in r.reasons]
    return ranked, visible_ids


_END = -1  # the id and creator of the end marker (no video or account has them)


def _place_from_pool(scored_entries: list[tuple], discovery_entries: list[tuple], own: list[tuple], ok: set[int], *,
                     state: cursor.ForYouCursor, limit: int, ends: tuple[bool, bool]) -> list[ranking.Ranked] | None:
    """Placement over the pool entries that passed the check (`ok`), in pool order. `ends`: the
    scored / discovery list is only a checked prefix: an end marker follows it, and None is
    returned when placement reached one (a later, unchecked candidate might have been picked)."""
    made: dict[int, ranking.Ranked] = {}

    def ranked_of(entry: tuple) -> ranking.Ranked:
        r = made.get(entry[0])
        if r is None:
            video_id, owner_id, parent_id, score, _, reasons = entry
            r = made[video_id] = ranking.Ranked(ranking.Candidate(video_id, owner_id, "", parent_id, 0, None, None),
                                                score, list(reasons))
        return r

    scored = [ranked_of(e) for e in scored_entries if e[0] in ok]
    discovery = [ranked_of(e) for e in discovery_entries if e[0] in ok]
    for pool_list, truncated in zip((scored, discovery), ends):
        if truncated:
            pool_list.append(ranking.Ranked(ranking.Candidate(_END, _END, "", None, 0, None, None), 0.0, []))
    own_candidates = [ranking.Candidate(i, o, "", p, 0, None, None) for i, o, p in own if i in ok]
    ranked = ranking.place(scored, discovery, limit=limit, position=state.position,
                           recent_owners=state.recent_owners, own=own_candidates)
    if any(r.candidate.id == _END for r in ranked):
        return None
    return ranked


# --- Following -----------------------------------------------------------------------------------

def following_page(*, viewer, cursor_token: str | None = None, limit: int = 20, as_data: bool = False) -> FeedPage:
    """Published videos of the people the viewer follows, newest first, keyset-paged (3 queries:
    blocks, the page, the parents the viewer may see). `as_data`: cards as the API's dicts."""
    limit = max(1, min(int(limit), PAGE_MAX))
    after = cursor.following_load(cursor_token, viewer=viewer)
    if not viewer.is_authenticated:
        return FeedPage()
    follows = follows_sql(viewer)
    visible = video_visible_qs(viewer=viewer, followee_ids=follows)
    qs = feed_base(visible, viewer=viewer, followee_ids=follows).filter(owner_id__in=follows).exclude(pk__in=hidden_ids(viewer, see_less_too=False))
    if after is not None:
        qs = qs.filter(Q(published_at__lt=after.published_at) | Q(published_at=after.published_at, pk__lt=after.video_id))
    order = ("-published_at", "-pk")
    if as_data:
        rows = cards.rows_of(qs, viewer=viewer, order_by=order, limit=limit + 1)
        parent_ids = {cards.parent_id(row) for row in rows[:limit] if cards.parent_id(row)}
        shown = set(visible.filter(pk__in=parent_ids).values_list("pk", flat=True)) if parent_ids else set()
        entries = [FeedEntry(cards.video_data(row, parent_visible=cards.parent_id(row) in shown),
                             [ranking.Reason("following", 0.0, (cards.owner_username(row),))])
                   for row in rows[:limit]]
        last = (cards.published_at(rows[limit - 1]), rows[limit - 1][0]) if len(rows) > limit else None
    else:
        videos = _mark_parents(list(_page_videos(qs, viewer=viewer).order_by(*order)[:limit + 1]), visible=visible)
        entries = [FeedEntry(v, [ranking.Reason("following", 0.0, (v.owner.username,))])
                   for v in videos[:limit]]
        last = (videos[limit - 1].published_at, videos[limit - 1].pk) if len(videos) > limit else None
    next_token = None
    if last is not None:
        next_token = cursor.following_dump(cursor.FollowingCursor(*last), viewer=viewer)
    return FeedPage(entries, next_token)
