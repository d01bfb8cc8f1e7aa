"""The personalized feed over HTTP: For You, Following, signals, steering chips. Thin."""
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from ..api import VideoOutputSerializer, _video_or_404
from ..models import SteeringChip, VideoFeedback
from . import attributes, cards, selectors, services


class ReasonSerializer(serializers.Serializer):
    signal = serializers.CharField()
    weight = serializers.FloatField()
    text = serializers.CharField()


class FeedEntrySerializer(serializers.Serializer):
    """A card: the video, and why it is here. `reasons` are the terms its score is the sum of."""

    video = VideoOutputSerializer()
    score = serializers.FloatField(allow_null=True)
    slot = serializers.CharField()
    reasons = ReasonSerializer(many=True)
    why = serializers.CharField()


class FeedPageSerializer(serializers.Serializer):
    results = FeedEntrySerializer(source="entries", many=True)
    next = serializers.CharField(source="next_cursor", allow_null=True)


class SteeringChipSerializer(serializers.ModelSerializer):
    label = serializers.SerializerMethodField()

    class Meta:
        model = SteeringChip
        fields = ("attribute", "label", "weight", "phrase")

    def get_label(self, chip: SteeringChip) -> str:
        return attributes.label(chip.attribute)


class _PageQuery(serializers.Serializer):
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=8000)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=selectors.PAGE_MAX, default=20)


def _page(request, read):
    """The page's cards come as dicts in FeedPageSerializer's shape (cards.py: no model hydration,
    no serializer per card; the serializers above still document the schema)."""
    q = _PageQuery(data=request.query_params)
    q.is_valid(raise_exception=True)
    page = read(viewer=request.user, cursor_token=q.validated_data.get("cursor") or None,
                limit=q.validated_data["limit"], as_data=True)
    results = [cards.entry_data(e.video, reasons=e.reasons, score=e.score, slot=e.slot) for e in page.entries]
    return Response({"results": results, "next": page.next_cursor})


class ForYouApi(APIView):
    """For You: ranked from follows, remixes of liked videos, trending, fresh uploads and similar
    attributes; steered by the viewer's chips; `next` is an opaque cursor."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(parameters=[_PageQuery], responses={200: FeedPageSerializer})
    def get(self, request):
        return _page(request, selectors.for_you_page)


class FollowingApi(APIView):
    """Published videos of the people you follow, newest first; `next` is an opaque cursor."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[_PageQuery], responses={200: FeedPageSerializer})
    def get(self, request):
        return _page(request, selectors.following_page)


class SteeringApi(APIView):
    """The viewer's steering chips. POST {"text": "more bouncing balls, less purple"} reads the
    sentence into chips; DELETE clears them all."""

    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SteeringInput"

        text = serializers.CharField(max_length=services.STEERING_TEXT_MAX, allow_blank=True)

    def _chips(self, request, **extra):
        chips = SteeringChipSerializer(selectors.steering_chip_list(user=request.user), many=True).data
        return {"chips": chips, **extra}

    @extend_schema(responses={200: dict})
    def get(self, request):
        return Response(self._chips(request))

    @extend_schema(request=InputSerializer, responses={200: dict})
    def post(self, request):
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        changed, read = services.steering_apply(user=request.user, text=s.validated_data["text"])
        understood = [{"attribute": c.attribute, "label": attributes.label(c.attribute), "weight": c.weight}
                      for c in changed]
        return Response(self._chips(request, understood=understood, ignored=read.ignored))

    @extend_schema(responses={204: None})
    def delete(self, request):
        services.steering_clear(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class SteeringChipApi(APIView):
    """PUT/PATCH {"weight": -3..3} edits (or adds) one chip; weight 0 or DELETE removes it."""

    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SteeringChipInput"

        weight = serializers.FloatField(min_value=attributes.WEIGHT_MIN, max_value=attributes.WEIGHT_MAX)

    @extend_schema(request=InputSerializer, responses={200: SteeringChipSerializer, 204: None})
    def patch(self, request, attribute: str):
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        chip = services.steering_chip_set(user=request.user, attribute=attribute, weight=s.validated_data["weight"])
        if chip is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(SteeringChipSerializer(chip).data)

    put = patch

    # an operation id of its own: DELETE /feed/steering would otherwise share it (check --deploy warns)
    @extend_schema(responses={204: None}, operation_id="feed_steering_chip_destroy")
    def delete(self, request, attribute: str):
        if not services.steering_chip_delete(user=request.user, attribute=attribute):
            raise Http404("No chip for this attribute.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class VideoViewApi(APIView):
    """POST {"watch_seconds": s}: the viewer watched this video (the seen-filter and watch time)."""

    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "VideoViewInput"

        watch_seconds = serializers.FloatField(min_value=0, max_value=services.WATCH_SECONDS_MAX)

    @extend_schema(request=InputSerializer, responses={200: dict})
    def post(self, request, video_id: int):
        video = _video_or_404(video_id, request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        view = services.video_view_record(video=video, user=request.user, watch_seconds=s.validated_data["watch_seconds"])
        return Response({"video": video.pk, "view_count": view.view_count, "watch_seconds": view.watch_seconds,
                         "completed": view.completed})


def _feedback_api(kind: str, doc: str):
    class FeedbackApi(APIView):
        __doc__ = doc
        permission_classes = [permissions.IsAuthenticated]

        @extend_schema(request=None, responses={200: dict})
        def post(self, request, video_id: int):
            video = _video_or_404(video_id, request.user)
            services.video_feedback_set(video=video, user=request.user, kind=kind)
            return Response({"video": video.pk, kind: True})

        @extend_schema(responses={200: dict})
        def delete(self, request, video_id: int):
            video = _video_or_404(video_id, request.user)
            services.video_feedback_clear(video=video, user=request.user, kind=kind)
            return Response({"video": video.pk, kind: False})

    FeedbackApi.__name__ = FeedbackApi.__qualname__ = f"{kind.title().replace('_', '')}Api"
    return FeedbackApi


SeeLessApi = _feedback_api(VideoFeedback.Kind.SEE_LESS, "\"See less like this\": this video leaves your feed; "
                                                         "its creator and attributes weigh less in For You.")
HideApi = _feedback_api(VideoFeedback.Kind.HIDE, "Hide this video from your feeds.")
