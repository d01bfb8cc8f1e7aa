"""Generation API (thin): create a job, read it, cancel it, retry it."""
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from feed.selectors import video_get

from . import selectors, services
from .models import GenerationJob


class StrictIntegerField(serializers.IntegerField):
    """An integer that must arrive as a JSON number or a string of digits (no 1.5, no true)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or (isinstance(data, float) and not data.is_integer()):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """Text that must arrive as a JSON string (12 is not a prompt)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class JobOutputSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField()
    video = serializers.SerializerMethodField()
    video_url = serializers.SerializerMethodField()
    websocket = serializers.SerializerMethodField()
    owner = serializers.CharField(source="owner.username")

    class Meta:
        model = GenerationJob
        fields = (
            "id", "owner", "prompt", "seed", "steps", "guidance", "parent", "mode", "strength", "status", "step", "progress",
            "eta_s", "error", "attempts", "cancel_requested", "model_version", "video", "video_url",
            "websocket", "created_at", "started_at", "finished_at",
        )

    def get_video(self, obj) -> int | None:
        return obj.video_id if obj.video_id and not obj.video.consent_hold else None  # held: cameo consent ended

    def get_video_url(self, obj) -> str | None:
        return obj.video.file.url if obj.video_id and not obj.video.consent_hold else None

    def get_websocket(self, obj) -> str:
        return f"/ws/jobs/{obj.pk}/"


def _job_or_404(request, job_id) -> GenerationJob:
    job = selectors.job_get_for_user(job_id=job_id, user=request.user)
    if job is None:
        raise Http404("No generation job with this id.")
    return job


class JobListApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "JobListInput"

        prompt = StrictCharField(allow_blank=True, trim_whitespace=False)
        seed = StrictIntegerField(required=False, allow_null=True)
        steps = StrictIntegerField(required=False, allow_null=True)
        guidance = serializers.FloatField(required=False, allow_null=True)
        parent = StrictIntegerField(required=False, allow_null=True)
        mode = serializers.ChoiceField(choices=GenerationJob.Mode.choices, required=False, allow_null=True)
        strength = serializers.FloatField(required=False, allow_null=True)

    @extend_schema(responses={200: JobOutputSerializer(many=True)})
    def get(self, request):
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(selectors.job_list_for_user(user=request.user), request, view=self)
        return paginator.get_paginated_response(JobOutputSerializer(page, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: JobOutputSerializer})
    def post(self, request):
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        parent_id = data.pop("parent", None)
        parent = None
        if parent_id is not None:
            parent = video_get(video_id=parent_id, viewer=request.user)
            if parent is None:
                raise serializers.ValidationError({"parent": ["No video with this id that you can remix."]})
        job = services.job_create(owner=request.user, parent=parent, **data)
        return Response(JobOutputSerializer(job).data, status=status.HTTP_201_CREATED)


class JobDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: JobOutputSerializer})
    def get(self, request, job_id: str):
        return Response(JobOutputSerializer(_job_or_404(request, job_id)).data)


class JobCancelApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: JobOutputSerializer})
    def post(self, request, job_id: str):
        job = services.job_cancel(job=_job_or_404(request, job_id), user=request.user)
        return Response(JobOutputSerializer(job).data)


class JobRetryApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: JobOutputSerializer})
    def post(self, request, job_id: str):
        job = services.job_retry(job=_job_or_404(request, job_id), user=request.user)
        return Response(JobOutputSerializer(job).data)
