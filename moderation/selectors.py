"""Reads for moderation: the staff queue, the log, and what a person was told about their content."""
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet

from .models import Appeal, Decision, FlaggedFrames, FlaggedPrompt, QueueStatus, Report

Action = Decision.Action


def report_queue(*, status: str = QueueStatus.OPEN) -> QuerySet[Report]:
    return (Report.objects.filter(status=status)
            .select_related("reporter", "video__owner", "comment__author", "user").order_by("created_at", "pk"))


def prompt_queue(*, status: str = QueueStatus.OPEN) -> QuerySet[FlaggedPrompt]:
    return FlaggedPrompt.objects.filter(status=status).select_related("user").order_by("created_at", "pk")


def frames_queue(*, status: str = QueueStatus.OPEN) -> QuerySet[FlaggedFrames]:
    return (FlaggedFrames.objects.filter(status=status).select_related("user").defer("frames_png")
            .order_by("created_at", "pk"))


def appeal_queue(*, status: str = QueueStatus.OPEN) -> QuerySet[Appeal]:
    return Appeal.objects.filter(status=status).select_related("appellant", "removal").order_by("created_at", "pk")


def removed_video_list() -> QuerySet:
    """Videos staff removed and have not restored (newest removal first)."""
    from feed.models import Video

    removals = Decision.objects.filter(target_kind=Decision.Target.VIDEO, target_id=OuterRef("pk"),
                                       action=Action.REMOVE)
    return (Video.objects.filter(status=Video.Status.REMOVED).filter(Exists(removals))
            .select_related("owner").order_by("-pk"))


def suspended_user_list() -> QuerySet:
    return get_user_model().objects.filter(is_active=False).order_by("username")


def decision_log(*, target_kind: str | None = None, target_id: int | None = None) -> QuerySet[Decision]:
    qs = Decision.objects.all()
    if target_kind:
        qs = qs.filter(target_kind=target_kind)
    if target_id is not None:
        qs = qs.filter(target_id=target_id)
    return qs.order_by("-created_at", "-pk")


def notice_list(*, user) -> QuerySet[Decision]:
    """Decisions about `user`'s content or account (dismissals are not news), newest first,
    with the appeal of each removal, if any."""
    return (Decision.objects.filter(subject=user).exclude(action=Action.DISMISS)
            .select_related("appeal").order_by("-created_at", "-pk"))


def frames_png(*, flag_id: int) -> bytes | None:
    row = FlaggedFrames.objects.filter(pk=flag_id).only("frames_png").first()
    return bytes(row.frames_png) if row is not None else None


def queue_counts() -> dict:
    return {
        "report": Report.objects.filter(status=QueueStatus.OPEN).count(),
        "prompt": FlaggedPrompt.objects.filter(status=QueueStatus.OPEN).count(),
        "frames": FlaggedFrames.objects.filter(status=QueueStatus.OPEN).count(),
        "appeal": Appeal.objects.filter(status=QueueStatus.OPEN).count(),
    }
