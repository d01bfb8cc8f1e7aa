"""Cameos: a person lends their likeness (a picture and an @handle) to the people they consent to.

Rows are kept after a cameo is revoked or deleted (its picture and fingerprints are gone then), so
every video that used it stays accounted for and held.
"""
import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower


def cameo_upload_to(instance: "Cameo", filename: str) -> str:
    return f"cameos/{uuid.uuid4().hex}.png"


class Cameo(models.Model):
    class Permission(models.TextChoices):
        ONLY_ME = "only_me", "Only me"
        APPROVED = "approved", "People I approve"
        MUTUALS = "mutuals", "Mutuals"
        EVERYONE = "everyone", "Everyone"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REVOKED = "revoked", "Revoked"  # nobody may use it; every video with it is held
        DELETED = "deleted", "Deleted"  # revoked, and the picture and fingerprints are gone

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameos")
    handle = models.CharField(max_length=30, help_text="What prompts call it: @handle")
    image = models.FileField(upload_to=cameo_upload_to, max_length=200, blank=True,
                             help_text="The picture, re-encoded as PNG (no EXIF); empty once deleted")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    permission = models.CharField(max_length=12, choices=Permission.choices, default=Permission.ONLY_ME)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    # cameos.likeness.fingerprint of the picture: int8 descriptors of the picture and slight crops
    fingerprint = models.BinaryField(blank=True, default=b"")
    flat = models.BooleanField(default=False, help_text="The picture has almost no structure")
    structure = models.FloatField(default=0.0, help_text="How much structure the picture has")
    # `job.cameos`: the cameos a generation job uses (the frame likeness check allows these)
    jobs = models.ManyToManyField("generation.GenerationJob", through="CameoUse", related_name="cameos", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("handle"), condition=~models.Q(status="deleted"),
                                    name="cameo_handle_unique_live"),
        ]

    def __str__(self) -> str:
        return f"@{self.handle} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class CameoRestriction(models.Model):
    """A plain-language limit the owner sets ("never in political videos"), enforced by the prompt
    check on every prompt that uses the cameo (others' prompts; the owner is not limited)."""

    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="restrictions")
    text = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]


class CameoGrant(models.Model):
    """One person's access to a cameo at the "people I approve" level: asked for, then decided."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Requested"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        REVOKED = "revoked", "Revoked"

    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="grants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameo_grants")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.REQUESTED)
    note = models.CharField(max_length=300, blank=True, help_text="What the requester said")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["cameo", "user"], name="cameo_grant_unique")]


class CameoUse(models.Model):
    """A generation job (and, once stored, its video) that uses a cameo: named in its prompt or
    inherited from an ancestor in the parent video's lineage. The owner's dashboard lists these."""

    class Approval(models.TextChoices):
        NOT_NEEDED = "not_needed", "Not needed"
        PENDING = "pending", "Waiting for the owner"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"

    cameo = models.ForeignKey(Cameo, on_delete=models.CASCADE, related_name="uses")
    job = models.ForeignKey("generation.GenerationJob", on_delete=models.CASCADE, related_name="cameo_uses")
    video = models.ForeignKey("feed.Video", null=True, blank=True, on_delete=models.SET_NULL, related_name="cameo_uses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cameo_uses")
    named = models.BooleanField(default=True, help_text="The prompt names the cameo")
    inherited = models.BooleanField(default=False, help_text="An ancestor video uses the cameo")
    approval = models.CharField(max_length=10, choices=Approval.choices, default=Approval.NOT_NEEDED)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["job", "cameo"], name="cameo_use_unique")]
        indexes = [models.Index(fields=["cameo", "-created_at"], name="cameo_use_cameo_idx"),
                   models.Index(fields=["video"], name="cameo_use_video_idx")]
