import uuid

from django.conf import settings
from django.db import models


class GenerationJob(models.Model):
    """One prompt -> one clip. The row is the source of truth; Celery messages only wake workers.

    State machine (anything else raises `generation.services.IllegalTransition`):

        queued  -> running | canceled | failed
        running -> succeeded | failed | canceled | queued (its worker was lost: requeued)
        failed  -> queued (retry)
        succeeded, canceled: final
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.QUEUED: frozenset({Status.RUNNING, Status.CANCELED, Status.FAILED}),
        Status.RUNNING: frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELED, Status.QUEUED}),
        Status.FAILED: frozenset({Status.QUEUED}),
        Status.SUCCEEDED: frozenset(),
        Status.CANCELED: frozenset(),
    }
    ACTIVE = (Status.QUEUED, Status.RUNNING)
    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generation_jobs")
    prompt = models.TextField()
    seed = models.BigIntegerField()
    steps = models.PositiveIntegerField()
    guidance = models.FloatField()
    parent = models.ForeignKey("feed.Video", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Mode(models.TextChoices):
        GENERATE = "generate", "Generate"  # from noise (with a parent: linked, content not carried)
        PROMPT_EDIT = "prompt_edit", "Prompt edit"  # the parent's seed and settings, a new prompt
        REMIX = "remix", "Video to video"  # the parent's frames, partly noised, denoised anew
        EXTEND = "extend", "Extend"  # continue the parent from its last frames

    REMIX_MODES = (Mode.PROMPT_EDIT, Mode.REMIX, Mode.EXTEND)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.GENERATE)
    strength = models.FloatField(null=True, blank=True, help_text="video-to-video: noise level 0..1")

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    step = models.PositiveIntegerField(default=0)
    eta_s = models.FloatField(null=True, blank=True)
    last_preview = models.TextField(blank=True, help_text="data: URL of the latest preview frame (PNG)")
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    # Which worker run holds the job; a requeued job gets a new token, so a stray old run can no
    # longer write to it.
    run_token = models.CharField(max_length=120, blank=True)
    model_version = models.CharField(max_length=120, blank=True)
    video = models.OneToOneField("feed.Video", null=True, blank=True, on_delete=models.SET_NULL, related_name="job")

    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "queued_at"], name="job_queue_idx"),
            models.Index(fields=["owner", "-created_at"], name="job_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.status})"

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.steps) if self.steps else 0.0

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED
