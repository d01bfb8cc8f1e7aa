"""Writes for videos: drafts made by generation jobs, posting, visibility, likes, comments."""
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from accounts.selectors import user_blocked_ids
from config.exceptions import Conflict

from . import selectors
from .for_you.attributes import prompt_tags
from .for_you.services import video_stats_apply
from .models import Comment, Like, Video

CAPTION_MAX = 300
COMMENT_MAX = 1000
# `lineage_path` holds every ancestor id (max_length 2400: ~170 ids of 13 digits); deeper chains
# are refused with a clear message rather than truncated.
MAX_LINEAGE_DEPTH = 150


@transaction.atomic
def video_create_draft(
    *,
    owner,
    prompt: str,
    seed: int,
    model_version: str,
    mp4: bytes,
    poster_png: bytes,
    width: int,
    height: int,
    frame_count: int,
    fps: int,
    parent: Video | None = None,
    remix_mode: str = "",
) -> Video:
    """Store a finished clip (through the configured storage: disk or S3) as its owner's draft.
    A remix gets its materialized lineage path from its parent (written once, never rewritten).
    The prompt's Flatland attributes are tagged once, here (For You's feature space)."""
    if remix_mode not in Video.RemixMode.values:
        raise ValidationError({"remix_mode": f"Choose one of: {', '.join(m for m in Video.RemixMode.values if m)}."})
    path, depth = "", 0
    if parent is not None:
        path, depth = parent.descendant_prefix, parent.depth + 1
        if depth > MAX_LINEAGE_DEPTH:
            raise ValidationError({"parent": f"This remix chain is already {parent.depth + 1} videos deep; "
                                             f"at most {MAX_LINEAGE_DEPTH} remixes of remixes are kept."})
    video = Video(
        owner=owner,
        prompt=prompt,
        seed=seed,
        model_version=model_version,
        width=width,
        height=height,
        frame_count=frame_count,
        fps=fps,
        duration_s=frame_count / fps if fps else 0.0,
        parent=parent,
        lineage_path=path,
        depth=depth,
        remix_mode=remix_mode if parent is not None else "",
        status=Video.Status.DRAFT,
        visibility=Video.Visibility.PRIVATE,
        tags=prompt_tags(prompt),
    )
    video.file.save("clip.mp4", ContentFile(mp4), save=False)
    video.poster.save("poster.png", ContentFile(poster_png), save=False)
    video.save()
    return video


def _own_video(*, video: Video, user) -> None:
    if video.owner_id != user.pk:
        raise PermissionDenied("Only the owner may change this video.")


@transaction.atomic
def video_publish(*, video: Video, user, visibility: str = Video.Visibility.PUBLIC, caption: str = "") -> Video:
    """Post a draft to the feed."""
    video = Video.objects.select_for_update().get(pk=video.pk)
    _own_video(video=video, user=user)
    if video.status != Video.Status.DRAFT:
        raise Conflict({"status": f"Only drafts can be posted; this video is {video.status}."})
    if visibility not in Video.Visibility.values:
        raise ValidationError({"visibility": f"Choose one of: {', '.join(Video.Visibility.values)}."})
    if len(caption or "") > CAPTION_MAX:
        raise ValidationError({"caption": f"At most {CAPTION_MAX} characters."})
    from cameos.services import video_publish_cameos

    video_publish_cameos(video=video, user=user)  # cameo consent again, and the owner's per-video approval
    video.status = Video.Status.PUBLISHED
    video.visibility = visibility
    video.caption = (caption or "").strip()
    video.published_at = timezone.now()
    video.save(update_fields=["status", "visibility", "caption", "published_at"])
    if video.parent_id is not None:  # a posted remix is engagement with its parent
        video_stats_apply(video_id=video.parent_id, remixes=1)
    return video


def remix_check(*, parent: Video, user) -> None:
    """May `user` remix `parent`? Raises PermissionDenied (403) or ValidationError (400) saying why.
    The caller has already checked that `user` may see `parent`."""
    if parent.status == Video.Status.REMOVED:
        raise ValidationError({"parent": "This video was removed and cannot be remixed."})
    if not parent.allow_remix and parent.owner_id != user.pk:
        raise PermissionDenied(f"@{parent.owner.username} does not allow remixes of video {parent.pk}.")
    if parent.owner_id in user_blocked_ids(user=user):
        raise PermissionDenied("You cannot remix this video.")
    if parent.depth + 1 > MAX_LINEAGE_DEPTH:
        raise ValidationError({"parent": f"This remix chain is already {parent.depth + 1} videos deep; "
                                         f"at most {MAX_LINEAGE_DEPTH} remixes of remixes are kept."})


@transaction.atomic
def video_update(*, video: Video, user, visibility: str | None = None, caption: str | None = None,
                 allow_remix: bool | None = None) -> Video:
    video = Video.objects.select_for_update().get(pk=video.pk)
    _own_video(video=video, user=user)
    if video.status == Video.Status.REMOVED:
        raise Conflict({"status": "This video was removed."})
    if visibility is not None:
        if visibility not in Video.Visibility.values:
            raise ValidationError({"visibility": f"Choose one of: {', '.join(Video.Visibility.values)}."})
        video.visibility = visibility
    if caption is not None:
        if len(caption) > CAPTION_MAX:
            raise ValidationError({"caption": f"At most {CAPTION_MAX} characters."})
        video.caption = caption.strip()
    if allow_remix is not None:
        if not isinstance(allow_remix, bool):
            raise ValidationError({"allow_remix": "Must be true or false."})
        video.allow_remix = allow_remix
    video.save(update_fields=["visibility", "caption", "allow_remix"])
    return video


@transaction.atomic
def video_remove(*, video: Video, user) -> Video:
    """The owner (or staff) takes a video down. The row stays for lineage and moderation."""
    video = Video.objects.select_for_update().get(pk=video.pk)
    if video.owner_id != user.pk and not user.is_staff:
        raise PermissionDenied("Only the owner may remove this video.")
    was_posted_remix = video.status == Video.Status.PUBLISHED and video.parent_id is not None
    video.status = Video.Status.REMOVED
    video.save(update_fields=["status"])
    if was_posted_remix:
        video_stats_apply(video_id=video.parent_id, remixes=-1)
    return video


def _interactable(*, video: Video, user) -> None:
    if video.status != Video.Status.PUBLISHED:
        raise Conflict({"video": "Only posted videos can be liked or commented on."})
    if video.owner_id in user_blocked_ids(user=user):
        raise PermissionDenied("You cannot interact with this video.")
    if not selectors.video_visible_qs(viewer=user).filter(pk=video.pk).exists():
        raise PermissionDenied("You cannot interact with this video.")


@transaction.atomic
def video_like(*, video: Video, user) -> Like:
    _interactable(video=video, user=user)
    like, created = Like.objects.get_or_create(video=video, user=user)
    if created:
        video_stats_apply(video_id=video.pk, likes=1)
    return like


@transaction.atomic
def video_unlike(*, video: Video, user) -> None:
    deleted, _ = Like.objects.filter(video=video, user=user).delete()
    if deleted:
        video_stats_apply(video_id=video.pk, likes=-1)


@transaction.atomic
def comment_create(*, video: Video, author, body: str) -> Comment:
    if body is not None and not isinstance(body, str):
        raise ValidationError({"body": "The comment must be text."})
    if body and "\x00" in body:  # PostgreSQL cannot store it: a 400 here, not a database error
        raise ValidationError({"body": "Null characters are not allowed."})
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": "Write something first."})
    if len(body) > COMMENT_MAX:
        raise ValidationError({"body": f"At most {COMMENT_MAX} characters."})
    _interactable(video=video, user=author)
    comment = Comment.objects.create(video=video, author=author, body=body)
    video_stats_apply(video_id=video.pk, comments=1)
    return comment


@transaction.atomic
def comment_delete(*, comment: Comment, user) -> None:
    if user.pk not in (comment.author_id, comment.video.owner_id) and not user.is_staff:
        raise PermissionDenied("Only the author or the video's owner may delete this comment.")
    comment.delete()
    video_stats_apply(video_id=comment.video_id, comments=-1)
