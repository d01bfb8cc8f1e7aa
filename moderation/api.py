"""Moderation API (thin): reports and appeals from users; the queue, bulk actions and the log for
staff; a person's notices (what moderation decided about their content)."""
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors, services
from .models import Decision, QueueStatus, Report
from .services.actions import ACTIONS, removal_in_force

QUEUES = {"report": selectors.report_queue, "prompt": selectors.prompt_queue,
          "frames": selectors.frames_queue, "appeal": selectors.appeal_queue}


def _name(user) -> str | None:
    return user.get_username() if user is not None else None


def queue_item_data(kind: str, row) -> dict:
    """One queue entry as JSON: its key ("report:3"), what it is about, and its state."""
    base = {"key": f"{kind}:{row.pk}", "kind": kind, "id": row.pk, "status": row.status,
            "created_at": row.created_at.isoformat()}
    if kind == "report":
        target = {"video": row.video_id, "comment": row.comment_id, "user": _name(row.user)}
        owner = row.video.owner if row.video_id else row.comment.author if row.comment_id else row.user
        return base | {"reporter": _name(row.reporter), "reason": row.reason, "details": row.details,
                       "target_kind": row.target_kind, "target": target, "owner": _name(owner)}
    if kind == "prompt":
        return base | {"user": _name(row.user), "prompt": row.prompt, "category": row.category,
                       "reason": row.reason, "source": row.source, "score": row.score}
    if kind == "frames":
        return base | {"user": _name(row.user), "job": str(row.job_id) if row.job_id else None,
                       "prompt": row.prompt, "check": row.check_name, "reason": row.reason,
                       "frame_indices": row.frame_indices, "scores": row.scores,
                       "image": f"/moderation/frames/{row.pk}.png"}
    return base | {"appellant": _name(row.appellant), "text": row.text, "removal": row.removal_id,
                   "target_kind": row.removal.target_kind, "target_id": row.removal.target_id}


def decision_data(d: Decision) -> dict:
    return {"id": d.id, "created_at": d.created_at.isoformat(), "actor": d.actor_name, "action": d.action,
            "target_kind": d.target_kind, "target_id": d.target_id, "subject": d.subject_name,
            "note": d.note, "items": d.items, "detail": d.detail}


class ReportApi(APIView):
    """Report a video, a comment or an account (exactly one) with a reason."""

    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ReportInput"

        video = serializers.IntegerField(required=False, min_value=1)
        comment = serializers.IntegerField(required=False, min_value=1)
        user = serializers.CharField(required=False, max_length=150, help_text="The account's username.")
        reason = serializers.ChoiceField(choices=Report.Reason.choices)
        details = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    @extend_schema(request=InputSerializer, responses={201: dict})
    def post(self, request):
        from feed.models import Comment, Video

        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = s.validated_data
        targets = {}
        if "video" in data:
            targets["video"] = Video.objects.filter(pk=data["video"]).first()
        if "comment" in data:
            targets["comment"] = Comment.objects.filter(pk=data["comment"]).first()
        if "user" in data:
            targets["user"] = get_user_model().objects.filter(username__iexact=data["user"], is_active=True).first()
        for field, obj in targets.items():
            if obj is None:
                raise ValidationError({field: f"No {field} with this {'username' if field == 'user' else 'id'}."})
        report = services.report_create(reporter=request.user, reason=data["reason"],
                                        details=data.get("details", ""), **targets)
        return Response({"id": report.pk, "status": report.status, "target_kind": report.target_kind},
                        status=status.HTTP_201_CREATED)


class QueueApi(APIView):
    """Staff: one queue (report, prompt, frames or appeal), oldest first, paginated."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(responses={200: dict})
    def get(self, request):
        kind = request.query_params.get("kind", "report")
        state = request.query_params.get("status", QueueStatus.OPEN)
        if kind not in QUEUES:
            raise ValidationError({"kind": f"Choose one of: {', '.join(QUEUES)}."})
        if state not in QueueStatus.values:
            raise ValidationError({"status": f"Choose one of: {', '.join(QueueStatus.values)}."})
        pager = LimitOffsetPagination()
        page = pager.paginate_queryset(QUEUES[kind](status=state), request, view=self)
        return pager.get_paginated_response([queue_item_data(kind, row) for row in page])


class ActionApi(APIView):
    """Staff: apply one action to many items at once ("report:3", "video:9", ...), all or nothing."""

    permission_classes = [permissions.IsAdminUser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ModerationActionInput"

        items = serializers.ListField(child=serializers.CharField(max_length=40), allow_empty=False, max_length=200)
        action = serializers.ChoiceField(choices=ACTIONS)
        note = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    @extend_schema(request=InputSerializer, responses={200: dict})
    def post(self, request):
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        decisions = services.moderation_act(actor=request.user, **s.validated_data)
        return Response({"decisions": [decision_data(d) for d in decisions], "counts": selectors.queue_counts()})


class LogApi(APIView):
    """Staff: the append-only moderation log, newest first; filter by target_kind / target_id."""

    permission_classes = [permissions.IsAdminUser]

    @extend_schema(responses={200: dict})
    def get(self, request):
        kind = request.query_params.get("target_kind") or None
        target_id = request.query_params.get("target_id")
        if kind is not None and kind not in Decision.Target.values:
            raise ValidationError({"target_kind": f"Choose one of: {', '.join(Decision.Target.values)}."})
        if target_id is not None and not target_id.isdigit():
            raise ValidationError({"target_id": "A whole number."})
        qs = selectors.decision_log(target_kind=kind, target_id=int(target_id) if target_id else None)
        pager = LimitOffsetPagination()
        page = pager.paginate_queryset(qs, request, view=self)
        return pager.get_paginated_response([decision_data(d) for d in page])


def notice_data(d: Decision) -> dict:
    appeal = getattr(d, "appeal", None) if d.action == Decision.Action.REMOVE else None
    appealable = (d.action == Decision.Action.REMOVE and appeal is None
                  and removal_in_force(kind=d.target_kind, target_id=d.target_id))
    return {"id": d.id, "created_at": d.created_at.isoformat(), "action": d.action, "label": d.get_action_display(),
            "target_kind": d.target_kind,
            "target_id": d.target_id, "note": d.note, "appealable": appealable,
            "appeal": {"id": appeal.pk, "status": appeal.status} if appeal else None}


class NoticeListApi(APIView):
    """What moderation decided about my content or account; removals I may still appeal."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: dict})
    def get(self, request):
        pager = LimitOffsetPagination()
        page = pager.paginate_queryset(selectors.notice_list(user=request.user), request, view=self)
        return pager.get_paginated_response([notice_data(d) for d in page])


class AppealApi(APIView):
    """Appeal the removal of my video or comment (once per removal)."""

    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AppealInput"

        decision = serializers.IntegerField(min_value=1, help_text="The id of the removal (from notices).")
        text = serializers.CharField(max_length=1000)

    @extend_schema(request=InputSerializer, responses={201: dict})
    def post(self, request):
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        removal = Decision.objects.filter(pk=s.validated_data["decision"], subject=request.user).first()
        if removal is None:
            raise ValidationError({"decision": "No removal of your content with this id."})
        appeal = services.appeal_create(appellant=request.user, removal=removal, text=s.validated_data["text"])
        return Response({"id": appeal.pk, "status": appeal.status}, status=status.HTTP_201_CREATED)

