"""Writes of the personalized feed: counters and trending keys, views with watch time, "see less"
and "hide", steering chips. Likes, comments and remixes call `video_stats_apply` from
feed.services, in the same transaction as the signal itself."""
from __future__ import annotations

import math

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import SteeringChip, Video, VideoFeedback, VideoView
from . import attributes, trending

WATCH_SECONDS_MAX = 3600.0
COMPLETED_SHARE = 0.9  # a view that reached 90% of the clip counts as watched to the end
STEERING_TEXT_MAX = 300


def video_stats_apply(*, video_id: int, likes: int = 0, comments: int = 0, remixes: int = 0) -> None:
    """Move a video's engagement counters and rewrite its trending key, under a row lock (two
    likes at once both count and the key matches the final counters)."""
    row = Video.objects.select_for_update().filter(pk=video_id).values(
        "stats_likes", "stats_comments", "stats_remixes", "published_at").first()
    if row is None:
        return
    counts = {
        "stats_likes": max(0, row["stats_likes"] + likes),
        "stats_comments": max(0, row["stats_comments"] + comments),
        "stats_remixes": max(0, row["stats_remixes"] + remixes),
    }
    key = trending.trending_key(likes=counts["stats_likes"], comments=counts["stats_comments"],
                                remixes=counts["stats_remixes"], published_at=row["published_at"])
    Video.objects.filter(pk=video_id).update(**counts, trending_score=key)


@transaction.atomic
def video_view_record(*, video: Video, user, watch_seconds) -> VideoView:
    """A person watched a video for `watch_seconds` (the feed page posts it when the card leaves
    the screen). The caller has checked that `user` may see `video`."""
    if isinstance(watch_seconds, bool) or not isinstance(watch_seconds, (int, float)) or not math.isfinite(watch_seconds):
        raise ValidationError({"watch_seconds": "Must be a number of seconds."})
    if not 0 <= watch_seconds <= WATCH_SECONDS_MAX:
        raise ValidationError({"watch_seconds": f"Must be between 0 and {int(WATCH_SECONDS_MAX)} seconds."})
    watch_seconds = float(watch_seconds)
    completed = video.duration_s > 0 and watch_seconds >= COMPLETED_SHARE * video.duration_s
    view, created = VideoView.objects.get_or_create(
        user=user, video=video, defaults={"watch_seconds": watch_seconds, "completed": completed})
    if not created:
        VideoView.objects.filter(pk=view.pk).update(
            view_count=F("view_count") + 1, watch_seconds=F("watch_seconds") + watch_seconds,
            completed=view.completed or completed, last_viewed_at=timezone.now())
        view.refresh_from_db()
    Video.objects.filter(pk=video.pk).update(stats_views=F("stats_views") + 1,
                                             stats_watch_seconds=F("stats_watch_seconds") + watch_seconds)
    return view


@transaction.atomic
def video_feedback_set(*, video: Video, user, kind: str) -> VideoFeedback:
    """"See less like this" or "hide": the video leaves the viewer's feeds at once; "see less" also
    lowers its creator and its attributes in For You. The caller has checked visibility."""
    if kind not in VideoFeedback.Kind.values:
        raise ValidationError({"kind": f"Choose one of: {', '.join(VideoFeedback.Kind.values)}."})
    feedback, _ = VideoFeedback.objects.get_or_create(user=user, video=video, kind=kind)
    return feedback


@transaction.atomic
def video_feedback_clear(*, video: Video, user, kind: str) -> None:
    VideoFeedback.objects.filter(user=user, video=video, kind=kind).delete()


def _weight(value, *, field: str = "weight") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValidationError({field: "Must be a number."})
    if not attributes.WEIGHT_MIN <= value <= attributes.WEIGHT_MAX:
        raise ValidationError({field: f"Must be between {attributes.WEIGHT_MIN:g} and {attributes.WEIGHT_MAX:g}."})
    return round(float(value), 2)


def _attribute(name) -> str:
    if name not in attributes.BIT:
        raise ValidationError({"attribute": f"Unknown attribute {str(name)[:40]!r}; "
                                            f"one of: {', '.join(attributes.ATTRIBUTES)}."})
    return name


@transaction.atomic
def steering_apply(*, user, text) -> tuple[list[SteeringChip], attributes.SteeringRead]:
    """Read plain language ("more bouncing balls, less purple") into chips: each attribute it
    names gets the stated weight (a later sentence about the same attribute replaces it)."""
    text = (text or "").strip() if isinstance(text, str) else None
    if not text:
        raise ValidationError({"text": "Write what you want more or less of, e.g. \"more bouncing balls, less purple\"."})
    if len(text) > STEERING_TEXT_MAX:
        raise ValidationError({"text": f"At most {STEERING_TEXT_MAX} characters."})
    read = attributes.parse_steering(text)
    if not read.weights:
        raise ValidationError({"text": "Nothing here names a colour, shape, size, motion, wall, pair or cameo "
                                       "this feed knows, e.g. \"more red circles, fewer walls\"."})
    chips = []
    for name, weight in read.weights.items():
        chip, _ = SteeringChip.objects.update_or_create(
            user=user, attribute=name, defaults={"weight": weight, "phrase": read.phrases[name][:200]})
        chips.append(chip)
    return chips, read


@transaction.atomic
def steering_chip_set(*, user, attribute, weight) -> SteeringChip | None:
    """Edit one chip's weight (or add it); weight 0 removes it (returns None)."""
    name, value = _attribute(attribute), _weight(weight)
    if value == 0:
        SteeringChip.objects.filter(user=user, attribute=name).delete()
        return None
    chip, _ = SteeringChip.objects.update_or_create(user=user, attribute=name, defaults={"weight": value})
    return chip


@transaction.atomic
def steering_chip_delete(*, user, attribute) -> bool:
    deleted, _ = SteeringChip.objects.filter(user=user, attribute=_attribute(attribute)).delete()
    return bool(deleted)


@transaction.atomic
def steering_clear(*, user) -> None:
    SteeringChip.objects.filter(user=user).delete()
