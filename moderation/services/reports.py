"""What users send to moderation: reports about videos, comments and accounts, and appeals
against the removal of their own content."""
from django.core.exceptions import ValidationError
from django.db import transaction

from config.exceptions import Conflict

from ..models import Appeal, Decision, QueueStatus, Report

DETAILS_MAX = 1000


def _clean_text(value, *, field: str, required: bool, what: str) -> str:
    if value is not None and not isinstance(value, str):
        raise ValidationError({field: "Must be text."})
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: f"Say {what}."})
    if len(value) > DETAILS_MAX:
        raise ValidationError({field: f"At most {DETAILS_MAX} characters (got {len(value)})."})
    return value


@transaction.atomic
def report_create(*, reporter, reason: str, details: str = "", video=None, comment=None, user=None) -> Report:
    """`reporter` reports exactly one of a video, a comment or an account they can see. One open
    report per reporter and target: a second one is a 409 that says the first is still open."""
    from feed.selectors import video_visible_qs

    targets = [name for name, obj in (("video", video), ("comment", comment), ("user", user)) if obj is not None]
    if len(targets) != 1:
        raise ValidationError({"target": "Report exactly one of: video, comment, user."})
    if reason not in Report.Reason.values:
        raise ValidationError({"reason": f"Choose one of: {', '.join(Report.Reason.values)}."})
    details = _clean_text(details, field="details", required=reason == Report.Reason.OTHER,
                          what="what is wrong (details are needed with reason 'other')")
    visible = video_visible_qs(viewer=reporter)
    if video is not None:
        if not visible.filter(pk=video.pk).exists():
            raise ValidationError({"video": "No video with this id that you can see."})
        if video.owner_id == reporter.pk:
            raise ValidationError({"video": "This is your own video: remove it instead of reporting it."})
    elif comment is not None:
        if not visible.filter(pk=comment.video_id).exists() or hasattr(comment, "removal"):
            raise ValidationError({"comment": "No comment with this id that you can see."})
        if comment.author_id == reporter.pk:
            raise ValidationError({"comment": "This is your own comment: delete it instead of reporting it."})
    elif user.pk == reporter.pk:
        raise ValidationError({"user": "You cannot report yourself."})
    target = {targets[0]: video or comment or user}
    if Report.objects.filter(reporter=reporter, status=QueueStatus.OPEN, **target).exists():
        raise Conflict({targets[0]: "You already reported this and the report is still open."})
    return Report.objects.create(reporter=reporter, reason=reason, details=details, **target)


@transaction.atomic
def appeal_create(*, appellant, removal: Decision, text: str) -> Appeal:
    """The person whose video or comment staff removed asks for another look, once per removal,
    while the content is still removed."""
    from .actions import removal_in_force

    if removal.subject_id != appellant.pk or removal.action != Decision.Action.REMOVE \
            or removal.target_kind not in (Decision.Target.VIDEO, Decision.Target.COMMENT):
        raise ValidationError({"decision": "No removal of your content with this id."})
    text = _clean_text(text, field="text", required=True, what="why the removal was wrong")
    if Appeal.objects.filter(removal=removal).exists():
        raise Conflict({"decision": "You already appealed this removal; each removal can be appealed once."})
    if not removal_in_force(kind=removal.target_kind, target_id=removal.target_id):
        raise Conflict({"decision": "This content is no longer removed."})
    return Appeal.objects.create(removal=removal, appellant=appellant, text=text)
