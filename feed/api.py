"""Feed API: the chronological feed, videos, posting drafts, likes and comments. Thin."""
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api import UserOutputSerializer
from accounts.selectors import user_get_by_username

from . import selectors, services
from .models import Comment, Video


class VideoOutputSerializer(serializers.ModelSerializer):
    """A video. `remix_of` is the attribution every remix carries: the parent's id and creator, or
    {"hidden": true} when the viewer may not see the parent (nothing else about it is told)."""

    owner = UserOutputSerializer()
    parent = serializers.SerializerMethodField()
    remix_of = serializers.SerializerMethodField()
    remix_count = serializers.IntegerField(default=0)
    url = serializers.SerializerMethodField()
    poster_url = serializers.SerializerMethodField()
    like_count = serializers.IntegerField(default=0)
    comment_count = serializers.IntegerField(default=0)
    liked = serializers.BooleanField(default=False)

    class Meta:
        model = Video
        fields = (
            "id", "owner", "prompt", "caption", "url", "poster_url", "width", "height", "frame_count",
            "fps", "duration_s", "seed", "model_version", "visibility", "status", "parent",
            "created_at", "published_at", "like_count", "comment_count", "liked",
            "remix_of", "remix_mode", "allow_remix", "depth", "remix_count",
        )

    def get_parent(self, obj: Video) -> int | None:
        return obj.parent_id if obj.parent_id and getattr(obj, "parent_visible", False) else None

    def get_remix_of(self, obj: Video) -> dict | None:
        if obj.depth == 0 and obj.parent_id is None:
            return None
        if obj.parent_id is None:
            return {"hidden": True, "deleted": True, "mode": obj.remix_mode}
        if not getattr(obj, "parent_visible", False):
            return {"hidden": True, "mode": obj.remix_mode}
        return {"hidden": False, "id": obj.parent_id, "owner": obj.parent.owner.username,
                "prompt": obj.parent.prompt, "mode": obj.remix_mode}

    def get_url(self, obj: Video) -> str:
        return obj.file.url if obj.file else ""

    def get_poster_url(self, obj: Video) -> str:
        return obj.poster.url if obj.poster else ""


class CommentOutputSerializer(serializers.ModelSerializer):
    author = UserOutputSerializer()

    class Meta:
        model = Comment
        fields = ("id", "author", "body", "created_at")


def _video_or_404(video_id: int, viewer) -> Video:
    video = selectors.video_get(video_id=video_id, viewer=viewer)
    if video is None:
        raise Http404("No video with this id.")
    return video


def _page(request, view, qs, serializer_cls):
    paginator = LimitOffsetPagination()
    page = paginator.paginate_queryset(qs, request, view=view)
    return paginator.get_paginated_response(serializer_cls(page, many=True).data)


class FeedApi(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: VideoOutputSerializer(many=True)})
    def get(self, request):
        return _page(request, self, selectors.feed_list(viewer=request.user), VideoOutputSerializer)


class DraftListApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: VideoOutputSerializer(many=True)})
    def get(self, request):
        return _page(request, self, selectors.draft_list(owner=request.user), VideoOutputSerializer)


class UserVideoListApi(APIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: VideoOutputSerializer(many=True)})
    def get(self, request, username: str):
        owner = user_get_by_username(username=username)
        if owner is None:
            raise Http404("No user with this username.")
        qs = selectors.video_list_for_profile(owner=owner, viewer=request.user)
        return _page(request, self, qs, VideoOutputSerializer)


class VideoDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    class UpdateSerializer(serializers.Serializer):
        class Meta:
            ref_name = "VideoDetailUpdate"

        visibility = serializers.ChoiceField(choices=Video.Visibility.choices, required=False)
        caption = serializers.CharField(required=False, allow_blank=True, max_length=300)
        allow_remix = serializers.BooleanField(required=False)

    @extend_schema(responses={200: VideoOutputSerializer})
    def get(self, request, video_id: int):
        return Response(VideoOutputSerializer(_video_or_404(video_id, request.user)).data)

    @extend_schema(request=UpdateSerializer, responses={200: VideoOutputSerializer})
    def patch(self, request, video_id: int):
        video = _video_or_404(video_id, request.user)
        s = self.UpdateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.video_update(video=video, user=request.user, **s.validated_data)
        return Response(VideoOutputSerializer(_video_or_404(video_id, request.user)).data)

    @extend_schema(responses={204: None})
    def delete(self, request, video_id: int):
        services.video_remove(video=_video_or_404(video_id, request.user), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VideoPublishApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "VideoPublishInput"

        visibility = serializers.ChoiceField(choices=Video.Visibility.choices, default=Video.Visibility.PUBLIC)
        caption = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)

    @extend_schema(request=InputSerializer, responses={200: VideoOutputSerializer})
    def post(self, request, video_id: int):
        video = _video_or_404(video_id, request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.video_publish(video=video, user=request.user, **s.validated_data)
        return Response(VideoOutputSerializer(_video_or_404(video_id, request.user)).data)


class VideoLikeApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: VideoOutputSerializer})
    def post(self, request, video_id: int):
        services.video_like(video=_video_or_404(video_id, request.user), user=request.user)
        return Response(VideoOutputSerializer(_video_or_404(video_id, request.user)).data)

    @extend_schema(request=None, responses={200: VideoOutputSerializer})
    def delete(self, request, video_id: int):
        services.video_unlike(video=_video_or_404(video_id, request.user), user=request.user)
        return Response(VideoOutputSerializer(_video_or_404(video_id, request.user)).data)


class CommentListApi(APIView):
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CommentListInput"

        body = serializers.CharField(max_length=1000, allow_blank=True)

    @extend_schema(responses={200: CommentOutputSerializer(many=True)})
    def get(self, request, video_id: int):
        video = _video_or_404(video_id, request.user)
        return _page(request, self, selectors.comment_list(video=video), CommentOutputSerializer)

    @extend_schema(request=InputSerializer, responses={201: CommentOutputSerializer})
    def post(self, request, video_id: int):
        video = _video_or_404(video_id, request.user)
        s = self.InputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        comment = services.comment_create(video=video, author=request.user, body=s.validated_data["body"])
        return Response(CommentOutputSerializer(comment).data, status=status.HTTP_201_CREATED)


class CommentDetailApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={204: None})
    def delete(self, request, video_id: int, comment_id: int):
        video = _video_or_404(video_id, request.user)
        comment = selectors.comment_list(video=video).filter(pk=comment_id).first()
        if comment is None:
            raise Http404("No comment with this id on this video.")
        services.comment_delete(comment=comment, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LineageApi(APIView):
    """A video's family: ancestors (root first; ones the viewer may not see are {"hidden": true}),
    the first direct remixes, a page of descendants at any depth (breadth first: depth, then id;
    `?limit=&offset=`), and remix counts. Constant number of queries at any depth or size."""

    permission_classes = [permissions.AllowAny]

    class QuerySerializer(serializers.Serializer):
        limit = serializers.IntegerField(min_value=1, max_value=selectors.LINEAGE_PAGE_MAX, default=50)
        offset = serializers.IntegerField(min_value=0, default=0)

    @extend_schema(parameters=[QuerySerializer], responses={200: dict})
    def get(self, request, video_id: int):
        q = self.QuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        lineage = selectors.lineage_get(video_id=video_id, viewer=request.user, **q.validated_data)
        if lineage is None:
            raise Http404("No video with this id.")
        limit, offset, total = lineage.limit, lineage.offset, lineage.descendant_count
        base = request.build_absolute_uri(request.path)
        ancestors = [
            VideoOutputSerializer(v).data if v is not None else {"hidden": True, "depth": depth}
            for depth, (_, v) in enumerate(lineage.ancestors)
        ]
        return Response({
            "video": VideoOutputSerializer(lineage.video).data,
            "ancestors": ancestors,
            "children": VideoOutputSerializer(lineage.children, many=True).data,
            "remix_count": lineage.remix_count,
            "descendant_count": total,
            "descendants": {
                "count": total,
                "next": f"{base}?limit={limit}&offset={offset + limit}" if offset + limit < total else None,
                "previous": f"{base}?limit={limit}&offset={max(0, offset - limit)}" if offset > 0 else None,
                "results": VideoOutputSerializer(lineage.descendants, many=True).data,
            },
        })
