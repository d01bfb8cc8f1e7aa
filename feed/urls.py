from django.urls import path

from . import api

urlpatterns = [
    path("feed", api.FeedApi.as_view(), name="api-feed"),
    path("me/drafts", api.DraftListApi.as_view(), name="api-drafts"),
    path("users/<str:username>/videos", api.UserVideoListApi.as_view(), name="api-user-videos"),
    path("videos/<int:video_id>", api.VideoDetailApi.as_view(), name="api-video"),
    path("videos/<int:video_id>/publish", api.VideoPublishApi.as_view(), name="api-video-publish"),
    path("videos/<int:video_id>/lineage", api.LineageApi.as_view(), name="api-video-lineage"),
    path("videos/<int:video_id>/like", api.VideoLikeApi.as_view(), name="api-video-like"),
    path("videos/<int:video_id>/comments", api.CommentListApi.as_view(), name="api-comments"),
    path("videos/<int:video_id>/comments/<int:comment_id>", api.CommentDetailApi.as_view(), name="api-comment"),
]
