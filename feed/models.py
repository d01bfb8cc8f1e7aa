import uuid

from django.conf import settings
from django.db import models


def video_upload_to(instance: "Video", filename: str) -> str:
    return f"videos/{uuid.uuid4().hex}.mp4"


def poster_upload_to(instance: "Video", filename: str) -> str:
    return f"posters/{uuid.uuid4().hex}.png"


class Video(models.Model):
    class Visibility(models.TextChoices):
        PUBLIC = "public", "Everyone"
        FOLLOWERS = "followers", "Followers"
        PRIVATE = "private", "Only me"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        REMOVED = "removed", "Removed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="videos")
    prompt = models.TextField()
    caption = models.CharField(max_length=300, blank=True)
    file = models.FileField(upload_to=video_upload_to, max_length=200)
    poster = models.ImageField(upload_to=poster_upload_to, max_length=200)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    frame_count = models.PositiveIntegerField(default=0)
    fps = models.PositiveIntegerField(default=8)
    duration_s = models.FloatField(default=0.0)
    seed = models.BigIntegerField()
    model_version = models.CharField(max_length=120)
    visibility = models.CharField(max_length=12, choices=Visibility.choices, default=Visibility.PRIVATE)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    class RemixMode(models.TextChoices):
        ORIGINAL = "", "Original"
        PROMPT_EDIT = "prompt_edit", "Prompt edit"
        REMIX = "remix", "Video to video"
        EXTEND = "extend", "Extend"

    # Lineage: a remix points at the video it came from. `lineage_path` materializes the chain of
    # ancestors ("<root id>/<...>/<parent id>/", "" for an original), written once at creation, so
    # ancestors are one `pk IN (...)` read and descendants one indexed prefix read at any depth.
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="remixes")
    lineage_path = models.CharField(max_length=2400, blank=True, default="")
    depth = models.PositiveIntegerField(default=0)
    remix_mode = models.CharField(max_length=12, choices=RemixMode.choices, blank=True, default="")
    allow_remix = models.BooleanField(default=True, help_text="Others may remix this video.")
    # Set when consent for a cameo in this video or any ancestor is revoked: the video is then
    # hidden from everyone (its owner too) but staff and the cameo's owner, wherever it is read.
    consent_hold = models.BooleanField(default=False, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    published_at = models.DateTimeField(null=True, blank=True)
    # --- For You features, written by the services that record signals (feed/for_you/) ---------
    # The prompt's Flatland attributes as a bit set (feed/for_you/attributes.py), written once at
    # creation: the feature space of "similar prompts" and of steering chips.
    tags = models.BigIntegerField(default=0)
    # Engagement counters, denormalized on write so that ranking reads no COUNT(*). (Named stats_*
    # because the selectors' visible-only annotations already use like_count etc.)
    stats_likes = models.PositiveIntegerField(default=0)
    stats_comments = models.PositiveIntegerField(default=0)
    stats_remixes = models.PositiveIntegerField(default=0)
    stats_views = models.PositiveIntegerField(default=0)
    stats_watch_seconds = models.FloatField(default=0.0)
    # Time-invariant trending key (feed/for_you/trending.py): log2(score) + published hours / half
    # life, so ordering by it equals ordering by the decayed score at any moment; NULL = not trending.
    trending_score = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "visibility", "-published_at"], name="video_feed_idx"),
            # For You candidates: newest published first, hottest first (each an ordered index scan
            # with a LIMIT, whatever else the visibility gate adds to the WHERE clause)
            models.Index(fields=["-published_at"], name="video_published_idx",
                         condition=models.Q(status="published")),
            models.Index(fields=["-trending_score"], name="video_trending_idx",
                         condition=models.Q(status="published", trending_score__isnull=False)),
            models.Index(fields=["owner", "status", "-created_at"], name="video_owner_idx"),
            # opclasses make `LIKE 'prefix%'` use the index on PostgreSQL; other backends ignore them
            models.Index(fields=["lineage_path"], name="video_lineage_idx", opclasses=["varchar_pattern_ops"]),
        ]

    @property
    def ancestor_ids(self) -> list[int]:
        """Root first, parent last."""
        return [int(part) for part in self.lineage_path.split("/") if part]

    @property
    def descendant_prefix(self) -> str:
        """Every descendant's `lineage_path` starts with this."""
        return f"{self.lineage_path}{self.pk}/"

    def __str__(self) -> str:
        return f"Video {self.pk} by {self.owner_id}: {self.prompt[:40]}"


class Like(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "video"], name="like_unique")]
        indexes = [models.Index(fields=["user", "-created_at"], name="like_user_recent_idx")]


class Comment(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["author", "-created_at"], name="comment_author_recent_idx")]


class VideoView(models.Model):
    """One person's viewing of one video (one row per pair): the seen-filter of For You and the
    watch-time signal. Written by the feed page when a card leaves the screen."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="video_views")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="views")
    view_count = models.PositiveIntegerField(default=1)
    watch_seconds = models.FloatField(default=0.0)  # summed over every viewing
    completed = models.BooleanField(default=False)  # watched to the end at least once
    first_viewed_at = models.DateTimeField(auto_now_add=True)
    last_viewed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "video"], name="video_view_unique")]
        indexes = [models.Index(fields=["user", "-last_viewed_at"], name="video_view_recent_idx")]


class VideoFeedback(models.Model):
    """What a person told the feed about a video: "see less like this" (the video, its creator and
    its attributes weigh less, and the video leaves For You) or "hide" (never again, in any feed)."""

    class Kind(models.TextChoices):
        SEE_LESS = "see_less", "See less like this"
        HIDE = "hide", "Hide"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="video_feedback")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="feedback")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "video", "kind"], name="video_feedback_unique")]
        indexes = [models.Index(fields=["user", "kind", "-created_at"], name="video_feedback_recent_idx")]


class SteeringChip(models.Model):
    """One weight the viewer put on one Flatland attribute ("more bouncing", "less purple"): shown
    as an editable chip above the feed and added to the For You score of every matching video."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="steering_chips")
    attribute = models.CharField(max_length=32)  # a key of feed.for_you.attributes.ATTRIBUTES
    weight = models.FloatField()  # -3..3, never 0 (a chip of weight 0 is deleted)
    phrase = models.CharField(max_length=200, blank=True)  # the words it was read from
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["user", "attribute"], name="steering_chip_unique")]
