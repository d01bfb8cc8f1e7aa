"""Reads of the personalized feed: For You, Following, the viewer's signals and steering chips.

Fast by design, whatever the size of the site: every read is a fixed number of indexed queries
with a LIMIT, all built on the one visibility gate (`feed.selectors.video_visible_qs`).

For You, one page = 7 queries, never more with more follows, likes or videos:
  2  the viewer's follows (for ranking; SQL reads them as a subquery) and blocks (the gate)
  2  the viewer's signals: recent likes, comments, full watches and "see less" in one statement;
     the steering chips
  1  candidates, one statement (candidates.py): from follows, remixes of liked videos, trending,
     fresh uploads, similar attributes, the viewer's own new posts (page one only); the
     seen-filter, hidden and already-served ids are excluded inside each branch
  2  the page's videos with creators, parents and the viewer's likes; which parents the viewer
     may see (for the remix attribution)
Ranking happens in Python over the few hundred candidates (ranking.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Follow
from accounts.selectors import user_followee_ids

from ..models import Comment, Like, SteeringChip, Video, VideoFeedback, VideoView
from ..selectors import video_visible_qs
from . import attributes, candidates, cursor, ranking, trending

PAGE_MAX = 50
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
SIGNAL_LIKES = 100
SIGNAL_COMMENTS = 50
SIGNAL_WATCHES = 100
SIGNAL_SEE_LESS = 100
# Weight of each kind of positive event in the taste vector (one video counts once, at its best).
TASTE_LIKE, TASTE_COMMENT, TASTE_WATCHED = 1.0, 0.5, 0.5
SIMILAR_TOP = 3  # the similar query asks for videos sharing two of the viewer's top three attributes


@dataclass
class FeedEntry:
    video: Video
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


def _hidden_ids(viewer, *, see_less_too: bool = True):
    """Videos the viewer hid (every feed) or asked to see less like (For You only)."""
    rows = VideoFeedback.objects.filter(user=viewer)
    if not see_less_too:
        rows = rows.filter(kind=VideoFeedback.Kind.HIDE)
    return rows.values("video_id")


def _follows_sql(viewer) -> QuerySet:
    """The viewer's follows as a subquery. Every video query of a page names the follows (the
    gate's follower-only rule, the follow candidates); 500 ids inlined into each of them cost more
    to compile and send than PostgreSQL spends hashing the subquery (measured: 4 ms a query)."""
    return Follow.objects.filter(follower=viewer).values("followee_id")


def _feed_base(visible: QuerySet[Video], *, viewer, followee_ids) -> QuerySet[Video]:
    """Published and not held, as explicit top-level conditions (they also let PostgreSQL use the
    partial indexes). Staff see everything through the gate, for moderation; their feed still
    holds only what the audience rules would show anyone: no removed, held or others' private video."""
    qs = visible.filter(status=Video.Status.PUBLISHED, consent_hold=False)
    if viewer.is_authenticated and viewer.is_staff:
        qs = qs.filter(Q(visibility=Video.Visibility.PUBLIC) | Q(owner=viewer)
                       | Q(visibility=Video.Visibility.FOLLOWERS, owner_id__in=followee_ids))
    return qs


# --- signals -------------------------------------------------------------------------------------

def viewer_signals(*, viewer, followee_ids: set[int]) -> ranking.Signals:
    """The viewer's taste (attribute shares over recent likes, comments and full watches), their
    "see less" history and their steering chips: four small indexed reads with LIMITs in one
    statement, and the chips."""
    signals = ranking.Signals(viewer_id=viewer.pk, followee_ids=set(followee_ids))
    if not viewer.is_authenticated:
        return signals
    best: dict[int, tuple[float, int]] = {}  # video id -> (event weight, tags)

    def note(rows, weight: float) -> None:
        for video_id, tags, _ in rows:
            if best.get(video_id, (0.0, 0))[0] < weight:
                best[video_id] = (weight, tags)

    columns = ("video_id", "video__tags", "video__owner_id")
    likes, comments, watched, see_less = candidates.rows_by_read([
        Like.objects.filter(user=viewer).order_by("-created_at").values_list(*columns)[:SIGNAL_LIKES],
        Comment.objects.filter(author=viewer).order_by("-created_at").values_list(*columns)[:SIGNAL_COMMENTS],
        VideoView.objects.filter(user=viewer, completed=True).order_by("-last_viewed_at")
        .values_list(*columns)[:SIGNAL_WATCHES],
        VideoFeedback.objects.filter(user=viewer, kind=VideoFeedback.Kind.SEE_LESS).order_by("-created_at")
        .values_list(*columns)[:SIGNAL_SEE_LESS],
    ])
    signals.liked_ids = {video_id for video_id, _, _ in likes}
    note(likes, TASTE_LIKE)
    note(comments, TASTE_COMMENT)
    note(watched, TASTE_WATCHED)
    total = sum(weight for weight, _ in best.values())
    if total:
        shares: dict[str, float] = {}
        for weight, tags in best.values():
            for name in attributes.attributes_of(tags):
                shares[name] = shares.get(name, 0.0) + weight
        signals.taste = {name: value / total for name, value in shares.items()}
        signals.taste_events = len(best)
    for _, tags, owner_id in see_less:
        signals.see_less_owners[owner_id] = signals.see_less_owners.get(owner_id, 0) + 1
        for name in attributes.attributes_of(tags):
            signals.see_less_attributes[name] = signals.see_less_attributes.get(name, 0) + 1
    signals.steering = dict(SteeringChip.objects.filter(user=viewer).values_list("attribute", "weight"))
    return signals


def steering_chip_list(*, user) -> QuerySet[SteeringChip]:
    return SteeringChip.objects.filter(user=user).order_by("created_at", "pk")


# --- For You -------------------------------------------------------------------------------------

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


def _all_of_any(masks: list[int]) -> str:
    """SQL: the tags hold every attribute of at least one mask (a bitwise AND, on any backend).
    Written `tags & m >= m`, the same as `= m` (tags & m is a subset of m's bits, never more than
    m): PostgreSQL guesses 0.5% of rows match an equality on an expression (so it planned a
    parallel scan, 30+ ms to start its workers) and a third for an inequality, nearer the truth for
    a viewer's favourite attributes, so it walks the recency index and stops early."""
    tags = candidates.column("tags")
    return " OR ".join(f"({tags} & %s) >= %s" for _ in masks)


def for_you_page(*, viewer, cursor_token: str | None = None, limit: int = 20) -> FeedPage:
    """One page of For You. Raises ValidationError({"cursor"}) for a cursor that is not valid."""
    limit = max(1, min(int(limit), PAGE_MAX))
    state = cursor.for_you_load(cursor_token, viewer=viewer)
    now = timezone.now()
    followee_ids = user_followee_ids(user=viewer)  # for ranking, in Python
    follows = _follows_sql(viewer) if viewer.is_authenticated else []  # the same, for SQL
    visible = video_visible_qs(viewer=viewer, followee_ids=follows)
    signals = viewer_signals(viewer=viewer, followee_ids=followee_ids)

    base = _feed_base(visible, viewer=viewer, followee_ids=follows)
    if viewer.is_authenticated:
        seen = VideoView.objects.filter(user=viewer).values("video_id")
        base = base.exclude(owner=viewer).exclude(pk__in=seen).exclude(pk__in=_hidden_ids(viewer))
    if state.served:
        base = base.exclude(pk__in=state.served)

    col, when = candidates.column, candidates.db_datetime
    sources = []
    if followee_ids:
        follows_sql, follows_params = follows.query.sql_with_params()
        sources.append(candidates.Source("follow", f"{col('owner_id')} IN ({follows_sql})", list(follows_params),
                                         limit=FOLLOW_CANDIDATES))
    if signals.liked_ids:
        liked = sorted(signals.liked_ids)
        sources.append(candidates.Source("remix_of_liked", f"{col('parent_id')} IN ({', '.join(['%s'] * len(liked))})",
                                         liked, limit=REMIX_CANDIDATES))
    sources.append(candidates.Source("trending", f"{col('trending_score')} >= %s", [trending.key_floor(now=now)],
                                     order_by="trending_score", limit=TRENDING_CANDIDATES))
    sources.append(candidates.Source("fresh", f"{col('published_at')} >= %s",
                                     [when(now - timedelta(hours=ranking.FRESH_HOURS))], limit=FRESH_CANDIDATES))
    masks = _similar_masks(signals)
    if masks:  # recent ones: a bounded index range, so the planner never scans the whole table for it
        sources.append(candidates.Source(
            "similar", f"{col('published_at')} >= %s AND ({_all_of_any(masks)})",
            [when(now - timedelta(days=SIMILAR_DAYS)), *(m for mask in masks for m in (mask, mask))],
            limit=SIMILAR_CANDIDATES))
    branches = [(base, source) for source in sources]
    if viewer.is_authenticated and not state.served:  # the viewer's own new posts, page one only
        mine = (_feed_base(visible, viewer=viewer, followee_ids=follows).filter(owner=viewer)
                .exclude(pk__in=VideoView.objects.filter(user=viewer).values("video_id"))
                .exclude(pk__in=_hidden_ids(viewer)))
        branches.append((mine, candidates.Source("own", f"{col('published_at')} >= %s",
                                                 [when(now - timedelta(hours=OWN_NEW_HOURS))], limit=OWN_NEW_MAX)))
    found = candidates.read(branches)
    own = {i: c for i, c in found.items() if c.owner_id == viewer.pk}
    found = {i: c for i, c in found.items() if c.owner_id != viewer.pk}

    ranked = ranking.rank(list(found.values()), signals, now=now, limit=limit, position=state.position,
                          recent_owners=state.recent_owners, own=list(own.values()))
    ids = [r.candidate.id for r in ranked]
    # the ids passed the gate in this request (candidates.read): the page reads them by key alone
    videos = {v.pk: v for v in _mark_parents(list(_page_videos(Video.objects.filter(pk__in=ids), viewer=viewer)),
                                             visible=visible)} if ids else {}
    entries = [FeedEntry(videos[r.candidate.id], r.reasons, r.score, r.slot) for r in ranked if r.candidate.id in videos]
    next_token = None
    if len(ranked) == limit:
        placed = [r.candidate for r in ranked if r.slot != "own"]
        next_token = cursor.for_you_dump(cursor.ForYouCursor(
            served=state.served + ids,
            recent_owners=(state.recent_owners + [c.owner_id for c in placed])[-(ranking.CREATOR_WINDOW - 1):],
            position=state.position + len(placed),
        ), viewer=viewer)
    return FeedPage(entries, next_token)


# --- Following -----------------------------------------------------------------------------------

def following_page(*, viewer, cursor_token: str | None = None, limit: int = 20) -> FeedPage:
    """Published videos of the people the viewer follows, newest first, keyset-paged (3 queries:
    blocks, the page, the parents the viewer may see)."""
    limit = max(1, min(int(limit), PAGE_MAX))
    after = cursor.following_load(cursor_token, viewer=viewer)
    if not viewer.is_authenticated:
        return FeedPage()
    follows = _follows_sql(viewer)
    visible = video_visible_qs(viewer=viewer, followee_ids=follows)
    qs = _feed_base(visible, viewer=viewer, followee_ids=follows).filter(owner_id__in=follows).exclude(pk__in=_hidden_ids(viewer, see_less_too=False))
    if after is not None:
        qs = qs.filter(Q(published_at__lt=after.published_at) | Q(published_at=after.published_at, pk__lt=after.video_id))
    rows = _mark_parents(list(_page_videos(qs, viewer=viewer).order_by("-published_at", "-pk")[:limit + 1]),
                         visible=visible)
    entries = [FeedEntry(v, [ranking.Reason("following", 0.0, (v.owner.username,))])
               for v in rows[:limit]]
    next_token = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_token = cursor.following_dump(cursor.FollowingCursor(last.published_at, last.pk), viewer=viewer)
    return FeedPage(entries, next_token)
