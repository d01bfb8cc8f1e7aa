"""Reads for videos: who may see what, the chronological feed, profiles and drafts."""
from dataclasses import dataclass

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from accounts.selectors import user_blocked_ids, user_followee_ids

from .models import Comment, Like, Video


def _remix_count():
    """Published remixes of the row (direct children), as a correlated subquery (no row blow-up)."""
    children = (Video.objects.filter(parent=OuterRef("pk"), status=Video.Status.PUBLISHED)
                .order_by().values("parent").annotate(n=Count("pk")).values("n"))
    return Coalesce(Subquery(children, output_field=IntegerField()), 0)


def _annotated(qs: QuerySet[Video], viewer, visible: QuerySet[Video] | None = None) -> QuerySet[Video]:
    """Counts, the viewer's like, and whether the viewer may see the parent (for attribution)."""
    visible = video_visible_qs(viewer=viewer) if visible is None else visible
    qs = qs.select_related("owner", "parent__owner").annotate(
        like_count=Count("likes", distinct=True), comment_count=Count("comments", distinct=True),
        remix_count=_remix_count(),
        parent_visible=Exists(visible.filter(pk=OuterRef("parent_id"))),
    )
    if viewer.is_authenticated:
        qs = qs.annotate(liked=Exists(Like.objects.filter(video=OuterRef("pk"), user=viewer)))
    return qs


def video_visible_qs(*, viewer, followee_ids=None, blocked_ids=None) -> QuerySet[Video]:
    """Every video `viewer` may see: their own (drafts included), and published videos whose
    visibility lets them in, minus accounts with a block between them and videos held for a
    revoked cameo consent (`consent_hold`). Staff see everything. Every read of videos for a
    viewer starts here, so removal and revocation are honoured everywhere at once.
    `followee_ids`: the viewer's follows when the caller has them: a set of ids, or a subquery of
    them (Follow ... .values("followee_id")) that the database evaluates inside each query.
    `blocked_ids`: the accounts with a block between them and the viewer, when the caller read
    them (accounts.selectors.user_blocked_ids) already."""
    if viewer.is_authenticated and viewer.is_staff:
        return Video.objects.all()
    published = Q(status=Video.Status.PUBLISHED, consent_hold=False)
    if not viewer.is_authenticated:
        return Video.objects.filter(published, visibility=Video.Visibility.PUBLIC)
    if followee_ids is None:
        followee_ids = user_followee_ids(user=viewer)
    audience = Q(visibility=Video.Visibility.PUBLIC) | Q(
        visibility=Video.Visibility.FOLLOWERS, owner_id__in=followee_ids
    )
    if blocked_ids is None:
        blocked_ids = user_blocked_ids(user=viewer)
    others = Video.objects.filter(published & audience).exclude(owner_id__in=blocked_ids)
    own = Video.objects.filter(owner=viewer, consent_hold=False).exclude(status=Video.Status.REMOVED)
    return others | own


def video_get(*, video_id: int, viewer) -> Video | None:
    visible = video_visible_qs(viewer=viewer)
    return _annotated(visible, viewer, visible).filter(pk=video_id).first()


def feed_list(*, viewer) -> QuerySet[Video]:
    """The chronological feed: published videos the viewer may see, newest first."""
    visible = video_visible_qs(viewer=viewer)
    qs = visible.filter(status=Video.Status.PUBLISHED)
    return _annotated(qs, viewer, visible).order_by("-published_at", "-pk")


def video_list_for_profile(*, owner, viewer) -> QuerySet[Video]:
    visible = video_visible_qs(viewer=viewer)
    qs = visible.filter(owner=owner, status=Video.Status.PUBLISHED)
    return _annotated(qs, viewer, visible).order_by("-published_at", "-pk")


def draft_list(*, owner) -> QuerySet[Video]:
    return _annotated(Video.objects.filter(owner=owner, status=Video.Status.DRAFT, consent_hold=False), owner).order_by("-created_at")


def comment_list(*, video: Video) -> QuerySet[Comment]:
    # removal__isnull: comments moderation removed (moderation.CommentRemoval) are hidden everywhere
    return Comment.objects.filter(video=video, removal__isnull=True).select_related("author").order_by("created_at", "pk")


# --- lineage -------------------------------------------------------------------------------------

LINEAGE_PAGE_MAX = 200


def _descends_from(video: Video) -> Q:
    """Rows whose path starts with the video's prefix. On SQLite (binary collation) the prefix is
    also written as a range, which its planner serves from the index (it will not for LIKE);
    PostgreSQL serves LIKE 'prefix%' from the varchar_pattern_ops index."""
    from django.db import connection

    prefix = video.descendant_prefix
    cond = Q(lineage_path__startswith=prefix)
    if connection.vendor == "sqlite":  # every path ends in "/", and "0" follows "/" in ASCII
        cond &= Q(lineage_path__gte=prefix, lineage_path__lt=prefix[:-1] + "0")
    return cond


@dataclass
class Lineage:
    video: Video
    ancestors: list[tuple[int, Video | None]]  # root first; None = the viewer may not see it
    children: list[Video]  # the first `children_limit` visible direct remixes, oldest first
    descendants: list[Video]  # one page of visible descendants, breadth first (depth, then id)
    remix_count: int  # visible direct remixes
    descendant_count: int  # visible descendants at any depth
    limit: int
    offset: int


def lineage_get(*, video_id: int, viewer, limit: int = 50, offset: int = 0, children_limit: int = 50) -> Lineage | None:
    """A video's family as `viewer` may see it, in a constant number of queries whatever the depth
    or the number of descendants (materialized path: ancestors by primary key, descendants by an
    indexed prefix). Ancestors the viewer may not see come back as None (shown as hidden)."""
    limit, offset = max(1, min(int(limit), LINEAGE_PAGE_MAX)), max(0, int(offset))
    visible = video_visible_qs(viewer=viewer)  # (2 queries for a signed-in viewer: follows, blocks)
    video = _annotated(visible, viewer, visible).filter(pk=video_id).first()
    if video is None:
        return None
    ids = video.ancestor_ids
    ancestors: list[tuple[int, Video | None]] = []
    if ids:
        rows = {v.pk: v for v in _annotated(visible.filter(pk__in=ids), viewer, visible)}
        ancestors = [(pk, rows.get(pk)) for pk in ids]
    family = visible.filter(_descends_from(video))
    counts = family.aggregate(descendants=Count("pk"), remixes=Count("pk", filter=Q(parent_id=video.pk)))
    children = list(_annotated(family.filter(parent_id=video.pk), viewer, visible).order_by("pk")[:children_limit])
    descendants = list(_annotated(family, viewer, visible).order_by("depth", "pk")[offset:offset + limit])
    return Lineage(video, ancestors, children, descendants, counts["remixes"], counts["descendants"], limit, offset)
