"""What staff decide, in bulk: remove, restore, warn, suspend or dismiss, applied to queue items
(reports, flagged prompts, flagged frames, appeals) or straight to a video, comment or account.

Every decision is one append-only `Decision` row naming the actor, the target, the person affected,
the note and the queue items it closed. Removal uses Video.Status.REMOVED, which the one
visibility gate (feed.selectors.video_visible_qs) hides from the feed, video pages, lineage and the
API at once; removed comments are hidden through CommentRemoval; suspension deactivates the
account, which ends its sessions and tokens (Django refuses inactive users everywhere).
"""
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from config.exceptions import Conflict

from ..models import (
    Appeal,
    CommentRemoval,
    Decision,
    FlaggedFrames,
    FlaggedPrompt,
    QueueStatus,
    Report,
)

Action = Decision.Action
Target = Decision.Target
QUEUE_MODELS = {"report": Report, "prompt": FlaggedPrompt, "frames": FlaggedFrames, "appeal": Appeal}
ITEM_KINDS = (*QUEUE_MODELS, "video", "comment", "user")
ACTIONS = (Action.REMOVE, Action.RESTORE, Action.WARN, Action.SUSPEND, Action.DISMISS)
NOTE_MAX = 1000
ITEMS_MAX = 200


@dataclass
class _Item:
    key: str  # "report:3"
    kind: str
    row: object  # the queue row, or the video / comment / account itself
    target_kind: str | None  # what remove/restore act on: video, comment, user, frames (None: nothing)
    target: object | None
    subject: object  # the account the decision is about

    @property
    def queued(self) -> bool:
        return self.kind in QUEUE_MODELS


def _parse(keys) -> list[tuple[str, str, int]]:
    if not isinstance(keys, (list, tuple)) or not keys:
        raise ValidationError({"items": "Select at least one item (\"kind:id\", e.g. \"report:3\")."})
    if len(keys) > ITEMS_MAX:
        raise ValidationError({"items": f"At most {ITEMS_MAX} items at once (got {len(keys)})."})
    out, bad = [], []
    for key in dict.fromkeys(keys):
        kind, _, pk = str(key).partition(":")
        if kind not in ITEM_KINDS or not pk.isdigit():
            bad.append(str(key))
        else:
            out.append((f"{kind}:{int(pk)}", kind, int(pk)))
    if bad:
        raise ValidationError({"items": f"Not an item: {', '.join(bad)}. Use kind:id with kind one of "
                                        f"{', '.join(ITEM_KINDS)}."})
    return out


def _rows(kind: str, ids: list[int]) -> dict:
    from feed.models import Comment, Video

    if kind in QUEUE_MODELS:
        qs = QUEUE_MODELS[kind].objects.select_for_update(of=("self",))
        related = {"report": ("video__owner", "comment__author", "comment__video", "user"),
                   "prompt": ("user",), "frames": ("user", "job"), "appeal": ("removal", "appellant")}[kind]
        qs = qs.select_related(*related)
    elif kind == "video":
        qs = Video.objects.select_related("owner")
    elif kind == "comment":
        qs = Comment.objects.select_related("author", "video")
    else:
        qs = get_user_model().objects.all()
    return {row.pk: row for row in qs.filter(pk__in=ids)}


def _appeal_target(appeal: Appeal):
    from feed.models import Comment, Video

    model = Video if appeal.removal.target_kind == Target.VIDEO else Comment
    return appeal.removal.target_kind, model.objects.filter(pk=appeal.removal.target_id).first()


def _item(key: str, kind: str, row) -> _Item:
    if kind == "report":
        target_kind = row.target_kind
        target = row.video or row.comment or row.user
        subject = row.video.owner if row.video_id else row.comment.author if row.comment_id else row.user
        return _Item(key, kind, row, target_kind, target, subject)
    if kind == "prompt":
        return _Item(key, kind, row, None, None, row.user)
    if kind == "frames":
        return _Item(key, kind, row, "frames", row, row.user)
    if kind == "appeal":
        target_kind, target = _appeal_target(row)
        return _Item(key, kind, row, target_kind, target, row.appellant)
    if kind == "video":
        return _Item(key, kind, row, "video", row, row.owner)
    if kind == "comment":
        return _Item(key, kind, row, "comment", row, row.author)
    return _Item(key, kind, row, "user", row, row)


def _load(parsed) -> list[_Item]:
    by_kind = defaultdict(list)
    for key, kind, pk in parsed:
        by_kind[kind].append(pk)
    rows = {kind: _rows(kind, ids) for kind, ids in by_kind.items()}
    missing = [key for key, kind, pk in parsed if pk not in rows[kind]]
    if missing:
        raise ValidationError({"items": f"No such item: {', '.join(missing)}."})
    items = [_item(key, kind, rows[kind][pk]) for key, kind, pk in parsed]
    closed = [f"{i.key} is already {i.row.status}" for i in items if i.queued and i.row.status != QueueStatus.OPEN]
    if closed:
        raise Conflict({"items": "; ".join(closed) + "."})
    return items


def _refusal(item: _Item, action: str, actor) -> str | None:
    """Why `action` does not apply to `item`, or None when it does."""
    if item.kind == "appeal":
        if action not in (Action.RESTORE, Action.DISMISS):
            return "an appeal is granted (restore) or denied (dismiss)"
        if item.target is None and action == Action.RESTORE:
            return "the content it is about no longer exists"
        return None
    if action == Action.DISMISS:
        return None if item.queued else "only queue items can be dismissed"
    if action in (Action.WARN, Action.SUSPEND):
        if action == Action.SUSPEND and (item.subject.is_staff or item.subject.pk == actor.pk):
            return f"@{item.subject.username} is staff; staff accounts are managed in the admin"
        return None
    if item.target is None:
        return "a refused prompt made no content: warn, suspend or dismiss"
    if action == Action.REMOVE and item.target_kind == "user":
        return "an account is suspended, not removed"
    return None


def removal_in_force(*, kind: str, target_id: int) -> bool:
    """Is this video or comment currently removed by moderation (not restored since)?"""
    from feed.models import Video

    if kind == Target.COMMENT:
        return CommentRemoval.objects.filter(comment_id=target_id).exists()
    last = (Decision.objects.filter(target_kind=kind, target_id=target_id,
                                    action__in=(Action.REMOVE, Action.RESTORE, Action.APPEAL_GRANTED))
            .order_by("-created_at", "-pk").first())
    return (last is not None and last.action == Action.REMOVE
            and not (last.detail or {}).get("already_removed")  # its owner had taken it down first
            and Video.objects.filter(pk=target_id, status=Video.Status.REMOVED).exists())


# --- effects: change the target, return the decision's `detail` -------------------------------------

def _remove(kind: str, target, actor) -> dict:
    from feed.models import Video

    if kind == "video":
        video = Video.objects.select_for_update().get(pk=target.pk)
        if video.status == Video.Status.REMOVED:
            return {"already_removed": True}
        previous = video.status
        video.status = Video.Status.REMOVED
        video.save(update_fields=["status"])
        return {"previous_status": previous}
    if kind == "comment":
        return {"already_removed": True} if hasattr(target, "removal") else {"body": target.body[:200]}
    return {"held": True}  # frames: the clip stays held, the job stays failed


def _restore(kind: str, target, actor) -> dict:
    from feed.models import Video

    if kind == "video":
        if not removal_in_force(kind=kind, target_id=target.pk):
            raise Conflict({"items": f"video:{target.pk} is not removed by moderation."})
        removal = Decision.objects.filter(target_kind=kind, target_id=target.pk, action=Action.REMOVE).first()
        status = (removal.detail or {}).get("previous_status") or (
            Video.Status.PUBLISHED if target.published_at else Video.Status.DRAFT)
        Video.objects.filter(pk=target.pk).update(status=status)
        return {"status": status}
    if kind == "comment":
        deleted, _ = CommentRemoval.objects.filter(comment=target).delete()
        if not deleted:
            raise Conflict({"items": f"comment:{target.pk} is not removed."})
        return {}
    if kind == "user":
        if target.is_active:
            raise Conflict({"items": f"@{target.username} is not suspended."})
        target.is_active = True
        target.save(update_fields=["is_active"])
        return {}
    return _release_frames(target, actor)


def _release_frames(flag: FlaggedFrames, actor) -> dict:
    """A false hold: mark the clip released and run the job again; this time its clip is stored."""
    from generation.models import GenerationJob
    from generation.services import job_retry

    if flag.job is None or flag.job.status != GenerationJob.Status.FAILED:
        raise Conflict({"items": f"frames:{flag.pk}: its job is gone or no longer failed; nothing to release."})
    flag.released = True
    flag.save(update_fields=["released"])
    job_retry(job=flag.job, user=actor)
    return {"job": str(flag.job_id), "requeued": True}


def _suspend(user, actor) -> dict:
    from generation.models import GenerationJob
    from generation.services import job_cancel

    if not user.is_active:
        return {"already_suspended": True}
    user.is_active = False
    user.save(update_fields=["is_active"])
    canceled = []
    for job in GenerationJob.objects.filter(owner=user, status__in=GenerationJob.ACTIVE):
        try:
            job_cancel(job=job, user=actor)
            canceled.append(str(job.pk))
        except Conflict:  # it finished meanwhile
            pass
    return {"canceled_jobs": canceled}


def _open_reports_on(kind: str, target) -> list[Report]:
    if kind not in ("video", "comment", "user"):
        return []
    return list(Report.objects.select_for_update().filter(status=QueueStatus.OPEN, **{kind: target}))


# --- the service ------------------------------------------------------------------------------------

@dataclass
class _Group:
    action: str
    target_kind: str
    target_id: int
    target: object
    subject: object
    items: list


def _groups(items: list[_Item], action: str) -> list[_Group]:
    """One decision per (action, target): three reports about one video make one removal."""
    groups: dict[tuple, _Group] = {}
    for item in items:
        if action in (Action.WARN, Action.SUSPEND):
            key = (action, Target.USER, item.subject.pk, item.subject)
        elif item.kind == "appeal":
            granted = action == Action.RESTORE
            key = (Action.APPEAL_GRANTED if granted else Action.APPEAL_DENIED, item.target_kind,
                   item.row.removal.target_id, item.target)
        elif action == Action.DISMISS:
            key = (action, item.kind, item.row.pk, item.row)
        else:
            key = (action, item.target_kind, item.target.pk, item.target)
        group = groups.setdefault(key[:3], _Group(key[0], key[1], key[2], key[3], item.subject, []))
        group.items.append(item)
    return list(groups.values())


def _effect(group: _Group, actor) -> dict:
    if group.action == Action.REMOVE:
        return _remove(group.target_kind, group.target, actor)
    if group.action in (Action.RESTORE, Action.APPEAL_GRANTED):
        return _restore(group.target_kind, group.target, actor)
    if group.action == Action.SUSPEND:
        return _suspend(group.subject, actor)
    return {}


@transaction.atomic
def moderation_act(*, actor, items, action: str, note: str = "") -> list[Decision]:
    """Apply `action` to every item in `items` ("kind:id" strings), all or nothing. Returns the
    decisions written, one per (action, target)."""
    if not (actor.is_authenticated and actor.is_staff):
        raise PermissionDenied("Only staff can moderate.")
    if action not in ACTIONS:
        raise ValidationError({"action": f"Choose one of: {', '.join(ACTIONS)}."})
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        raise ValidationError({"note": f"Text of at most {NOTE_MAX} characters."})
    loaded = _load(_parse(items))
    refused = {i.key: why for i in loaded if (why := _refusal(i, action, actor))}
    if refused:
        raise ValidationError({"items": [f"{key}: cannot {action}: {why}." for key, why in refused.items()]})
    now = timezone.now()
    decisions = []
    for group in _groups(loaded, action):
        detail = _effect(group, actor)
        chosen = {i.key for i in group.items}
        extra = []  # other open reports about what was just acted on close with this decision
        if group.action in (Action.REMOVE, Action.RESTORE, Action.SUSPEND):
            extra = [r for r in _open_reports_on(group.target_kind, group.target) if f"report:{r.pk}" not in chosen]
        keys = [i.key for i in group.items] + [f"report:{r.pk}" for r in extra]
        decision = Decision.objects.create(
            actor=actor, actor_name=actor.get_username(), action=group.action, target_kind=group.target_kind,
            target_id=group.target_id, subject=group.subject, subject_name=group.subject.get_username(),
            note=note.strip(), items=keys, detail=detail,
        )
        if group.action == Action.REMOVE and group.target_kind == "comment" and not detail.get("already_removed"):
            CommentRemoval.objects.create(comment=group.target, decision=decision)
        closes = QueueStatus.DISMISSED if group.action in (Action.DISMISS, Action.APPEAL_DENIED) else QueueStatus.RESOLVED
        for row in [i.row for i in group.items if i.queued] + extra:
            row.status, row.resolved_at, row.decision = closes, now, decision
            row.save(update_fields=["status", "resolved_at", "decision"])
        decisions.append(decision)
    return decisions
