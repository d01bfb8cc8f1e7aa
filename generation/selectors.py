"""Reads for generation jobs. Nobody sees a job that is not theirs (staff excepted)."""
import uuid

from django.db.models import QuerySet

from .models import GenerationJob


def _as_uuid(value) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None


def job_get_for_user(*, job_id, user) -> GenerationJob | None:
    """The job if it exists and `user` may see it (its owner, or staff); None otherwise."""
    pk = _as_uuid(job_id)
    if pk is None or user is None or not user.is_authenticated:
        return None
    qs = GenerationJob.objects.select_related("video", "owner").filter(pk=pk)
    if not user.is_staff:
        qs = qs.filter(owner=user)
    return qs.first()


def job_list_for_user(*, user) -> QuerySet[GenerationJob]:
    return GenerationJob.objects.filter(owner=user).select_related("video").order_by("-created_at")
