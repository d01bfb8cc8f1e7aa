"""Reads for videos: who may see what, the chronological feed, profiles and drafts."""
from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from accounts.selectors import user_blocked_ids, user_followee_ids

from .models import Comment, Like, Video


def _annotated(qs: QuerySet[Video], viewer) -> QuerySet[Video]:
    qs = qs.select_related("owner", "parent__owner").annotate(
        like_count=Count("likes", distinct=True), comment_count=Count("comments", distinct=True)
    )
    if viewer.is_authenticated:
        qs = qs.annotate(liked=Exists(Like.objects.filter(video=OuterRef("pk"), user=viewer)))
    return qs


def video_visible_qs(*, viewer) -> QuerySet[Video]:
    """Every video `viewer` may see: their own (drafts included), and published videos whose
    visibility lets them in, minus accounts with a block between them. Staff see everything."""
    if viewer.is_authenticated and viewer.is_staff:
        return Video.objects.all()
    published = Q(status=Video.Status.PUBLISHED)
    if not viewer.is_authenticated:
        return Video.objects.filter(published, visibility=Video.Visibility.PUBLIC)
    audience = Q(visibility=Video.Visibility.PUBLIC) | Q(
        visibility=Video.Visibility.FOLLOWERS, owner_id__in=user_followee_ids(user=viewer)
    )
    others = Video.objects.filter(published & audience).exclude(owner_id__in=user_blocked_ids(user=viewer))
    own = Video.objects.filter(owner=viewer).exclude(status=Video.Status.REMOVED)
    return others | own


def video_get(*, video_id: int, viewer) -> Video | None:
    return _annotated(video_visible_qs(viewer=viewer), viewer).filter(pk=video_id).first()


def feed_list(*, viewer) -> QuerySet[Video]:
    """The chronological feed: published videos the viewer may see, newest first."""
    qs = video_visible_qs(viewer=viewer).filter(status=Video.Status.PUBLISHED)
    return _annotated(qs, viewer).order_by("-published_at", "-pk")


def video_list_for_profile(*, owner, viewer) -> QuerySet[Video]:
    qs = video_visible_qs(viewer=viewer).filter(owner=owner, status=Video.Status.PUBLISHED)
    return _annotated(qs, viewer).order_by("-published_at", "-pk")


def draft_list(*, owner) -> QuerySet[Video]:
    return _annotated(Video.objects.filter(owner=owner, status=Video.Status.DRAFT), owner).order_by("-created_at")


def comment_list(*, video: Video) -> QuerySet[Comment]:
    return Comment.objects.filter(video=video).select_related("author").order_by("created_at", "pk")
