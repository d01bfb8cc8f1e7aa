"""Moderation: what lands in the staff queue (reports, flagged prompts, flagged frames, appeals),
the decisions staff take, and the append-only log of those decisions."""
from django.conf import settings
from django.db import models
from django.db.models import Q


class QueueStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"  # a decision acted on it
    DISMISSED = "dismissed", "Dismissed"  # closed with no action


class QueueItem(models.Model):
    """What every queue entry has: its state and the decision that closed it."""

    status = models.CharField(max_length=12, choices=QueueStatus.choices, default=QueueStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    decision = models.ForeignKey("moderation.Decision", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", help_text="The decision that closed this item.")

    class Meta:
        abstract = True
        ordering = ["created_at", "pk"]


class Report(QueueItem):
    """A user reports a video, a comment or an account (exactly one of them)."""

    class Reason(models.TextChoices):
        SEXUAL = "sexual", "Sexual content"
        MINORS = "minors", "Involves minors"
        VIOLENCE = "violence", "Violence or gore"
        HATE = "hate", "Hate or harassment"
        SELF_HARM = "self_harm", "Self-harm"
        LIKENESS = "likeness", "Uses my likeness without consent"
        SPAM = "spam", "Spam or scam"
        OTHER = "other", "Something else"

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made")
    video = models.ForeignKey("feed.Video", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey("feed.Comment", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                             related_name="reports_received")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    details = models.TextField(blank=True, max_length=1000)

    class Meta(QueueItem.Meta):
        constraints = [
            models.CheckConstraint(
                name="report_one_target",
                condition=(Q(video__isnull=False, comment__isnull=True, user__isnull=True)
                           | Q(video__isnull=True, comment__isnull=False, user__isnull=True)
                           | Q(video__isnull=True, comment__isnull=True, user__isnull=False)),
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="report_queue_idx")]

    @property
    def target_kind(self) -> str:
        return "video" if self.video_id else "comment" if self.comment_id else "user"

    def __str__(self) -> str:
        return f"Report {self.pk}: {self.target_kind} ({self.reason}, {self.status})"


class FlaggedPrompt(QueueItem):
    """A prompt the prompt check refused, kept for staff review (repeat offenders, false refusals)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    prompt = models.TextField()
    category = models.CharField(max_length=32)
    reason = models.TextField()
    source = models.CharField(max_length=16, blank=True, help_text="rule or classifier")
    score = models.FloatField(default=0.0)

    class Meta(QueueItem.Meta):
        indexes = [models.Index(fields=["status", "created_at"], name="flagged_prompt_queue_idx")]


class FlaggedFrames(QueueItem):
    """A generated clip the frame check held back: the job failed and nothing was stored as a
    video. The checked frames are kept here (in the database, never under the public media URL)
    for staff, who can release the clip (the job runs again and its clip is stored) or keep it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey("generation.GenerationJob", null=True, blank=True, on_delete=models.SET_NULL,
                            related_name="+")
    prompt = models.TextField()
    check_name = models.CharField(max_length=16, default="nsfw", help_text="which check held it: nsfw or likeness")
    reason = models.TextField()
    frame_indices = models.JSONField(default=list)
    scores = models.JSONField(default=list)
    frames_png = models.BinaryField(help_text="The checked frames side by side (PNG).")
    released = models.BooleanField(default=False, help_text="Staff let this job's clip through.")

    class Meta(QueueItem.Meta):
        indexes = [models.Index(fields=["status", "created_at"], name="flagged_frames_queue_idx")]


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("The moderation log is append-only: entries cannot be changed.")

    def delete(self):
        raise AppendOnlyError("The moderation log is append-only: entries cannot be deleted.")


class AppendOnlyError(Exception):
    """A write that would change or remove an entry of the moderation log."""


class Decision(models.Model):
    """One moderation decision: who did what to whom, why, and which queue items it closed.

    Append-only: save() refuses to update an existing row, delete() and queryset update()/delete()
    refuse, and on PostgreSQL and SQLite a trigger refuses UPDATE (and DELETE on PostgreSQL) at
    the database (migration 0002). Targets and people are kept as ids plus a name snapshot, with
    no database foreign keys, so deleting a video or an account never rewrites the log."""

    class Action(models.TextChoices):
        REMOVE = "remove", "Remove"
        RESTORE = "restore", "Restore"
        WARN = "warn", "Warn"
        SUSPEND = "suspend", "Suspend"
        DISMISS = "dismiss", "Dismiss"
        APPEAL_GRANTED = "appeal_granted", "Appeal granted"
        APPEAL_DENIED = "appeal_denied", "Appeal denied"

    class Target(models.TextChoices):
        VIDEO = "video", "Video"
        COMMENT = "comment", "Comment"
        USER = "user", "Account"
        PROMPT = "prompt", "Flagged prompt"
        FRAMES = "frames", "Flagged frames"
        REPORT = "report", "Report"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING,
                              db_constraint=False, related_name="+")
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=16, choices=Action.choices)
    target_kind = models.CharField(max_length=12, choices=Target.choices)
    target_id = models.BigIntegerField()
    subject = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.DO_NOTHING,
                                db_constraint=False, related_name="+", help_text="The person affected.")
    subject_name = models.CharField(max_length=150, blank=True)
    note = models.TextField(blank=True, help_text="Why; shown to the person affected.")
    items = models.JSONField(default=list, help_text='Queue items this decided, e.g. ["report:3"].')
    detail = models.JSONField(default=dict, help_text="What changed, enough to undo it.")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["target_kind", "target_id", "-created_at"], name="decision_target_idx"),
            models.Index(fields=["subject", "-created_at"], name="decision_subject_idx"),
        ]

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError("The moderation log is append-only: entries cannot be changed.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("The moderation log is append-only: entries cannot be deleted.")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target_kind} {self.target_id}"


class Appeal(QueueItem):
    """The person whose content was removed asks staff to look again; once per removal."""

    removal = models.OneToOneField(Decision, on_delete=models.PROTECT, related_name="appeal")
    appellant = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    text = models.TextField(max_length=1000)

    class Meta(QueueItem.Meta):
        indexes = [models.Index(fields=["status", "created_at"], name="appeal_queue_idx")]


class CommentRemoval(models.Model):
    """A comment staff removed: hidden wherever comments are read (feed.selectors.comment_list)
    until restored. The comment row itself is kept, so restoring loses nothing."""

    comment = models.OneToOneField("feed.Comment", on_delete=models.CASCADE, related_name="removal")
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
