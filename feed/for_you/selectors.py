"""Reads of the personalized feed: For You, Following, the viewer's signals and steering chips.

Fast by design, whatever the size of the site: every read is a fixed number of indexed queries
with a LIMIT, all built on the one visibility gate (`feed.selectors.video_visible_qs`).

For You, one page = 15 queries at most, never more with more follows, likes or videos:
  2  the viewer's follows (for ranking; SQL reads them as a subquery) and blocks (the gate)
  5  the viewer's signals (recent likes, comments, full watches, "see less", steering chips)
  6  candidates: from follows, remixes of liked videos, trending, fresh uploads, similar
     attributes, the viewer's own new posts (page one only); the seen-filter, hidden and
     already-served ids are excluded inside each query
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
from . import attributes, cursor, ranking, trending

PAGE_MAX = 50
FOLLOW_CANDIDATES = 100
REMIX_CANDIDATES = 50
TRENDING_CANDIDATES = 150
FRESH_CANDIDATES = 150
SIMILAR_CANDIDATES = 100
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
    "see less" history and their steering chips: five small indexed reads with LIMITs."""
    signals = ranking.Signals(viewer_id=viewer.pk, followee_ids=set(followee_ids))
    if not viewer.is_authenticated:
        return signals
    best: dict[int, tuple[float, int]] = {}  # video id -> (event weight, tags)

    def note(rows, weight: float) -> None:
        for video_id, tags in rows:
            if best.get(video_id, (0.0, 0))[0] < weight:
                best[video_id] = (weight, tags)

    likes = list(Like.objects.filter(user=viewer).order_by("-created_at")
                 .values_list("video_id", "video__tags")[:SIGNAL_LIKES])
    signals.liked_ids = {video_id for video_id, _ in likes}
    note(likes, TASTE_LIKE)
    note(Comment.objects.filter(author=viewer).order_by("-created_at")
         .values_list("video_id", "video__tags")[:SIGNAL_COMMENTS], TASTE_COMMENT)
    note(VideoView.objects.filter(user=viewer, completed=True).order_by("-last_viewed_at")
         .values_list("video_id", "video__tags")[:SIGNAL_WATCHES], TASTE_WATCHED)
    total = sum(weight for weight, _ in best.values())
    if total:
        shares: dict[str, float] = {}
        for weight, tags in best.values():
            for name in attributes.attributes_of(tags):
                shares[name] = shares.get(name, 0.0) + weight
        signals.taste = {name: value / total for name, value in shares.items()}
        signals.taste_events = len(best)
    see_less = VideoFeedback.objects.filter(user=viewer, kind=VideoFeedback.Kind.SEE_LESS).order_by("-created_at")
    for owner_id, tags in see_less.values_list("video__owner_id", "video__tags")[:SIGNAL_SEE_LESS]:
        signals.see_less_owners[owner_id] = signals.see_less_owners.get(owner_id, 0) + 1
        for name in attributes.attributes_of(tags):
            signals.see_less_attributes[name] = signals.see_less_attributes.get(name, 0) + 1
    signals.steering = dict(SteeringChip.objects.filter(user=viewer).values_list("attribute", "weight"))
    return signals


def steering_chip_list(*, user) -> QuerySet[SteeringChip]:
    return SteeringChip.objects.filter(user=user).order_by("created_at", "pk")


# --- For You -------------------------------------------------------------------------------------

_CANDIDATE_COLUMNS = ("id", "owner_id", "owner__username", "parent_id", "tags", "published_at", "trending_score",
                      "stats_likes", "stats_comments", "stats_remixes")


def _read_candidates(qs: QuerySet[Video], into: dict[int, ranking.Candidate]) -> None:
    for row in qs.values_list(*_CANDIDATE_COLUMNS):
        if row[0] not in into:
            into[row[0]] = ranking.Candidate(*row)


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


def _with_all_of(qs: QuerySet[Video], masks: list[int]) -> QuerySet[Video]:
    """Rows whose tags hold every attribute of at least one mask (a bitwise AND, on any backend).
    Written `tags & m >= m`, which is the same as `= m` (tags & m is a subset of m's bits, so never
    more than m): PostgreSQL guesses 0.5% of rows match an equality on an expression (so it planned
    a parallel scan, 30+ ms to start its workers) and a third for an inequality, which is nearer
    the truth for a viewer's favourite attributes, so it walks the recency index and stops early."""
    condition = Q()
    for i, mask in enumerate(masks):
        qs = qs.alias(**{f"tags_and_{i}": F("tags").bitand(mask)})
        condition |= Q(**{f"tags_and_{i}__gte": mask})
    return qs.filter(condition)


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

    found: dict[int, ranking.Candidate] = {}
    if followee_ids:
        _read_candidates(base.filter(owner_id__in=follows).order_by("-published_at")[:FOLLOW_CANDIDATES], found)
    if signals.liked_ids:
        _read_candidates(base.filter(parent_id__in=signals.liked_ids).order_by("-published_at")[:REMIX_CANDIDATES], found)
    _read_candidates(base.filter(trending_score__gte=trending.key_floor(now=now))
                     .order_by("-trending_score")[:TRENDING_CANDIDATES], found)
    _read_candidates(base.filter(published_at__gte=now - timedelta(hours=ranking.FRESH_HOURS))
                     .order_by("-published_at")[:FRESH_CANDIDATES], found)
    masks = _similar_masks(signals)
    if masks:  # recent ones: a bounded index range, so the planner never scans the whole table for it
        similar = _with_all_of(base.filter(published_at__gte=now - timedelta(days=SIMILAR_DAYS)), masks)
        _read_candidates(similar.order_by("-published_at")[:SIMILAR_CANDIDATES], found)
    own: dict[int, ranking.Candidate] = {}
    if viewer.is_authenticated and not state.served:
        mine = (_feed_base(visible, viewer=viewer, followee_ids=follows).filter(owner=viewer, published_at__gte=now - timedelta(hours=OWN_NEW_HOURS))
                .exclude(pk__in=VideoView.objects.filter(user=viewer).values("video_id"))
                .exclude(pk__in=_hidden_ids(viewer)).order_by("-published_at"))
        _read_candidates(mine[:OWN_NEW_MAX], own)

    ranked = ranking.rank(list(found.values()), signals, now=now, limit=limit, position=state.position,
                          recent_owners=state.recent_owners, own=list(own.values()))
    ids = [r.candidate.id for r in ranked]
    videos = {v.pk: v for v in _mark_parents(list(_page_videos(visible.filter(pk__in=ids), viewer=viewer)),
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
