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

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "visibility", "-published_at"], name="video_feed_idx"),
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


class Comment(models.Model):
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    video = models.ForeignKey(Video, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField(max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
